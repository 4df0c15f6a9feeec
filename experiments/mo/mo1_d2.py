"""[MO1] Fig 3 and Fig 8 (v2 App G, Fig 12): D2 downsamples to 4×4, then depth memorizes;
initialization and output norms of its nonlinear version.

D2 exists only as a drawing (Fig 3a). The text says: a CIFAR-10 image goes to a 4×4
representation after layer 1, the network has 29 layers (the heuristic depth for 4×4), every
parameter starts at 1.8e-3, and after 10,000 iterations on one dog the spectrum is
1, [< 7e-6] with the dog as top eigenvector. Taken here (``d2_layers``): a stride-8 conv with
``filters`` channels, stride-1 convs on the 4×4 map, then the decoder of ``mo1-d1`` (×2
nearest upsampling and a conv, three times; one ×8 upsampling would leave constant 8×8
blocks) and a last conv to 3 channels: 29 convolutions in all. 64 filters, since
1.8e-3 ≈ 1/(9·64).

Part 1 (Fig 3): linear D2 from the constant init, trained on the dog; the operator's spectrum
and top eigenvector. A constant init is symmetric in the channels: every filter of a layer gets
the same gradient, so they stay equal (measured: ``max_hidden_channel_spread``) and the network acts
as a single-filter one, whose output must come from a 16-number bottleneck through 9-weight
kernels. ``init`` can be switched to a random one (e.g. "pytorch") to compare.

Part 2 (Fig 8 / item 11): LeakyReLU D2 under Xavier/Kaiming uniform/normal; the ℓ2 norm of the
output for the training image at init (paper: .0087, .0079, 9.67, 17.64) and, after training,
how close the outputs for Gaussian inputs are to the training image (how noisy memorization
is; the paper: noisy for Kaiming).

    memjax run mo1-d2                   # quick: 2000 steps, ~2 min on CPU
    memjax run mo1-d2 --preset paper    # 10,000 steps

Measured (quick, 2000 Adam 1e-4 steps, 126 s). Linear D2 from 1.8e-3: |λ| 0.947, then
3.0e-6, 3.0e-6, 2.8e-6 (paper: 1, [< 7e-6]): rank one as in the paper, but the loss stays at
1.4e-2 and the top eigenvector is 0.29 from the dog: the hidden channels stay equal, and the
single-channel network stores a blurred dog (Gaussian inputs come out as ± that image,
median |corr| 0.82 to the dog). LeakyReLU D2, ‖f(x)‖ at init (paper) and median |corr| of
Gaussian outputs to the dog after training:
  xavier_uniform   1.5e-5 (.0087)   1.00
  xavier_normal    1.2e-5 (.0079)   1.00
  kaiming_uniform  0.86   (9.67)    1.00 (min 0.99)
  kaiming_normal   0.66   (17.64)   1.00
Kaiming starts ~5·10⁴× larger than Xavier (paper ~10³×; the absolute norms depend on the
unknown layer details), and every init memorizes the dog; the Kaiming outputs are not visibly
noisier here.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, probes, runs, spectral
from memjax.data import load_sample, to_float
from memjax.models import Conv, ConvAutoencoder, Upsample
from memjax.operator import top_eigenvalues
from memjax.train import TrainConfig, train

PAPER_FIGURE = "[MO1] Fig 3 + Fig 8: D2 (4x4 after layer 1, 29 layers), spectrum 1, [<7e-6]"
PAPER_OUTPUT_NORMS = {
    "xavier_uniform": 0.0087,
    "xavier_normal": 0.0079,
    "kaiming_uniform": 9.67,
    "kaiming_normal": 17.64,
}


def d2_layers(filters: int = 64, depth: int = 29, channels: int = 3) -> tuple:
    """The reading of D2 above: ``depth`` convolutions, the first with stride 8."""
    middle = depth - 5  # stride-8 conv, three upsampling convs, last conv
    if middle < 0:
        raise ValueError(f"D2 needs at least 5 convolutions, got depth {depth}")
    up = tuple(layer for _ in range(3) for layer in (Upsample(2), Conv(filters)))
    return (Conv(filters, stride=8), *(Conv(filters) for _ in range(middle)), *up, Conv(channels))


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.train_image = 12  # shipped CIFAR-10 test image 12, a dog
    config.filters = 64
    config.depth = 29
    config.init = "constant:1.8e-3"
    config.top_k = 8
    config.num_test_inputs = 16
    config.initializations = (
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
    )
    config.train = runs.as_config(
        TrainConfig("adam", 1e-4, max_steps=2000 if preset == "quick" else 10000)
    )
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, labels = load_sample("cifar10")
    dog = jnp.asarray(to_float(images[config.train_image : config.train_image + 1]))
    layers = d2_layers(config.filters, config.depth)
    train_config = TrainConfig(**config.train.to_dict())
    tests = probes.probe_inputs(
        jax.random.PRNGKey(config.seed + 1), config.num_test_inputs, dog.shape[1:]
    )
    metrics = {
        "train_label": int(labels[config.train_image]),
        "paper": {"fig3_spectrum": "1, [< 7e-6]", "fig8_output_norms": PAPER_OUTPUT_NORMS},
    }

    model = ConvAutoencoder(layers, kernel_init=config.init)
    params, history = train(jax.random.PRNGKey(config.seed), model, dog, train_config)
    runs.save_params(workdir / "params_linear.msgpack", params)
    values, vectors = top_eigenvalues(lambda x: model.apply(params, x), dog[0], k=config.top_k)
    match = probes.match_outputs(
        probes.apply_batch(model, params, tests["gaussian"]), tests["gaussian"], dog
    )
    metrics["fig3_linear"] = {
        "init": config.init,
        "final_loss": float(history.final_loss),
        "top_abs_eigenvalues": np.abs(values),
        "top_eigenvector_distance_to_dog": float(spectral.distance_to_span(vectors[:, :1], dog)[0]),
        "max_hidden_channel_spread": _max_hidden_channel_spread(params),
        "gaussian_median_corr_dog": match["median_corr_nearest"],
    }
    plotting.image_grid(
        [
            list(tests["gaussian"][:6]),
            list(probes.apply_batch(model, params, tests["gaussian"][:6])),
            [np.asarray(dog[0]), vectors[:, 0].real.reshape(dog.shape[1:])],
        ],
        ["Gaussian in", "out", "dog, top eigvec"],
        workdir / "fig3_linear.png",
        title=f"linear D2 ({config.init}), top |λ| "
        f"{np.abs(values[0]):.3g}, {np.abs(values[1]):.2g}",
    )

    metrics["fig8_nonlinear"] = {}
    rows, row_labels = [list(tests["gaussian"][:6])], ["Gaussian in"]
    for init in config.initializations:
        model = ConvAutoencoder(layers, activation="leaky_relu", kernel_init=init)
        init_params = model.init(jax.random.PRNGKey(config.seed), dog[0])
        norm = float(jnp.linalg.norm(model.apply(init_params, dog[0])))
        params, history = train(None, model, dog, train_config, init_params=init_params)
        outputs = probes.apply_batch(model, params, tests["gaussian"])
        match = probes.match_outputs(outputs, tests["gaussian"], dog)
        metrics["fig8_nonlinear"][init] = {
            "output_norm_at_init": norm,
            "paper_output_norm_at_init": PAPER_OUTPUT_NORMS.get(init),
            "final_loss": float(history.final_loss),
            "gaussian_median_corr_dog": match["median_corr_nearest"],
            "gaussian_min_corr_dog": float(match["corr_nearest"].min()),
        }
        rows.append(list(outputs[:6]))
        row_labels.append(f"{init} →")
    plotting.image_grid(
        rows + [[np.asarray(dog[0])]],
        row_labels + ["training image"],
        workdir / "fig8_nonlinear_inits.png",
        title="LeakyReLU D2: outputs for Gaussian inputs per initialization",
    )
    _print(metrics)
    return metrics


def _max_hidden_channel_spread(params) -> float:
    """Largest difference between two filters of one hidden layer (0: the channels are equal).

    The last layer is left out: its filters write different image channels, so they differ.
    """
    kernels = [
        params["params"][name]["kernel"]
        for name in sorted(params["params"], key=lambda n: int(n.removeprefix("conv")))
    ]
    return max(float(jnp.max(jnp.abs(k - k[..., :1]))) for k in kernels[:-1])


def _print(metrics):
    lin = metrics["fig3_linear"]
    top = ", ".join(f"{v:.3g}" for v in lin["top_abs_eigenvalues"][:4])
    print(
        f"linear D2 ({lin['init']}): loss {lin['final_loss']:.2e}, |λ| {top}, top eigenvector "
        f"{lin['top_eigenvector_distance_to_dog']:.2f} from the dog, hidden channel spread "
        f"{lin['max_hidden_channel_spread']:.1e}, Gaussian outputs' median |corr| to the dog "
        f"{lin['gaussian_median_corr_dog']:.2f}  (paper: 1, [< 7e-6])"
    )
    print(
        f"{'init':<16} {'‖f(x)‖ at init':>15} {'paper':>7} {'loss':>9} "
        f"{'median/min |corr(out, dog)|':>28}"
    )
    for init, m in metrics["fig8_nonlinear"].items():
        paper = m["paper_output_norm_at_init"]
        print(
            f"{init:<16} {m['output_norm_at_init']:>15.4g} {paper if paper else '':>7} "
            f"{m['final_loss']:>9.2e} {m['gaussian_median_corr_dog']:>17.2f} / "
            f"{m['gaussian_min_corr_dog']:.2f}"
        )
