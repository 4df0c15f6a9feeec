"""[MO1] Fig 3 and Fig 8 (v2 App G, Fig 12): D2 downsamples to 4×4, then depth memorizes;
initialization and output norms of its nonlinear version.

D2 exists only as a drawing (Fig 3a). The text says: a CIFAR-10 image goes to a 4×4
representation after layer 1, the network has 29 layers (the heuristic depth for 4×4), every
parameter starts at 1.8e-3, and after 10,000 iterations on one dog the spectrum is
1, [< 7e-6] with the dog as top eigenvector. Taken here (``memjax.models.d2_layers``): a
stride-8 conv with ``filters`` channels, stride-1 convs on the 4×4 map, then D1's decoder (×2
nearest upsampling and a conv, three times; one ×8 upsampling would leave constant 8×8
blocks) and a last conv to 3 channels: 29 convolutions in all. 64 filters, since
1.8e-3 ≈ 1/(9·64).

Part 1 (Fig 3): linear D2 from the constant init, trained on the dog; the operator's spectrum
and top eigenvector. A constant init is symmetric in the channels: every filter of a layer gets
the same gradient, so they stay equal (measured: ``max_hidden_channel_spread``) and the network acts
as a single-filter one, whose output must come from a 16-number bottleneck through 9-weight
kernels. ``model.init`` can be switched to a random one (e.g. "pytorch") to compare.

Part 2 (Fig 8 / item 11): LeakyReLU D2 under Xavier/Kaiming uniform/normal; the ℓ2 norm of the
output for the training image at init (paper: .0087, .0079, 9.67, 17.64) and, after training,
how close the outputs for Gaussian inputs are to the training image (how noisy memorization
is; the paper: noisy for Kaiming).

    memjax run mo1-d2                   # quick: 2000 steps, ~2 min on CPU
    memjax run mo1-d2 --preset paper    # 10,000 steps

Measured: ``docs/findings/mo1.md#mo1-d2``.
"""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, probes, spectral
from memjax.data import load_sample, to_float
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import ConvAutoencoder, d2_layers, hidden_channel_spread, output_norm_at_init
from memjax.operator import top_eigenvalues

PAPER_REST_BELOW = 7e-6  # [MO1] Fig 3: |λ| beyond the dog after 10,000 steps
PAPER_OUTPUT_NORMS = {"xavier_uniform": 0.0087, "xavier_normal": 0.0079,
                      "kaiming_uniform": 9.67, "kaiming_normal": 17.64}  # fmt: skip


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    return new_config(
        data={"train_image": 12,  # shipped CIFAR-10 test image 12, a dog
              "num_test_inputs": 16},
        model={"filters": 64, "depth": 29,
               "init": "constant:1.8e-3",  # of the linear D2 (Fig 3)
               "initializations": ("xavier_uniform", "xavier_normal", "kaiming_uniform",
                                   "kaiming_normal")},  # of the LeakyReLU D2 (Fig 8)
        # As mo1-d1: fitted = the dog comes back recognisably (RMS pixel error 0.1; untrained,
        # the loss is its mean square, 0.18). The linear D2 stays above it (a blurred dog).
        train=train_block("adam", 1e-4, 2000 if preset == "quick" else 10000, fit_loss=1e-2),
        top_k=8,  # eigenpairs of the linear D2's operator
    )  # fmt: skip


def science(run: Run) -> dict:
    config, index = run.config, run.config.data.train_image
    images, labels = load_sample("cifar10")
    dog = jnp.asarray(to_float(images[index : index + 1]))
    layers = d2_layers(config.model.filters, config.model.depth)
    gaussian = probes.probe_inputs(run.keys["tests"], config.data.num_test_inputs,
                                   dog.shape[1:])["gaussian"]  # fmt: skip
    lin = _linear(run, layers, dog, gaussian)
    fig8, outputs = {}, []
    for init in config.model.initializations:
        fig8[init], out = _nonlinear(run, layers, init, dog, gaussian)
        outputs.append(list(out[:6]))
    plotting.image_grid(
        [list(gaussian[:6]), *outputs, [dog[0]]],
        ["Gaussian in", *(f"{init} →" for init in fig8), "training image"],
        run.figure("fig8_nonlinear_inits"),
        title="LeakyReLU D2: outputs for Gaussian inputs per initialization",
    )
    loss = {name: fit.final_loss[0] for name, fit in run.fits.items()}
    run.table(
        [{"net": "linear", "init": lin["init"], "loss": loss["linear"],
          "top |λ|": lin["top_abs_eigenvalues"][:4], "|corr(out, dog)|":
          lin["gaussian_median_corr_dog"]}]
        + [{"net": "leaky_relu", "init": init, "‖f(x)‖ at init": m["output_norm_at_init"],
            "paper": m["paper_output_norm_at_init"], "loss": loss[f"leaky_relu_{init}"],
            "|corr(out, dog)|": m["gaussian_median_corr_dog"], "min": m["gaussian_min_corr_dog"]}
           for init, m in fig8.items()],
        ["net", "init", "‖f(x)‖ at init", "paper", "loss", "top |λ|", "|corr(out, dog)|", "min"],
        title=f"D2: top eigenvector {lin['top_eigenvector_distance_to_dog']:.2f} from the dog, "
        f"hidden channel spread {lin['max_hidden_channel_spread']:.1e}; |corr|: median over "
        "Gaussian inputs",
    )  # fmt: skip
    # The paper's numbers are in the run's comparisons.
    return {"train_label": int(labels[index]), "fig3_linear": lin, "fig8_nonlinear": fig8}


def _linear(run, layers, dog, gaussian):
    """Fig 3: linear D2 from the constant init; its spectrum and top eigenvector."""
    init = run.config.model.init
    model = ConvAutoencoder(layers, kernel_init=init)
    # A constant init uses no randomness; the key matters only if `model.init` is random.
    params, _ = run.train("linear", model, dog, key=run.keys["init"])
    values, vectors = top_eigenvalues(model.apply, dog[0], k=run.config.top_k, params=params)
    outputs = probes.apply_batch(model, params, gaussian)
    result = {
        "init": init,
        "top_abs_eigenvalues": np.abs(values),
        "top_eigenvector_distance_to_dog": float(spectral.distance_to_span(vectors[:, :1], dog)[0]),
        "max_hidden_channel_spread": hidden_channel_spread(params),
        "gaussian_median_corr_dog": probes.match_outputs(outputs, gaussian, dog)[
            "median_corr_nearest"
        ],
    }
    run.compare("D2 linear: top |λ|", result["top_abs_eigenvalues"][0], 1.0, tol=0.05,
                fits=["linear"])  # fmt: skip
    run.compare("D2 linear: |λ2|", result["top_abs_eigenvalues"][1], PAPER_REST_BELOW,
                kind="below", fits=["linear"], note="the paper's: after 10,000 steps")  # fmt: skip
    plotting.image_grid(
        [list(gaussian[:6]), list(outputs[:6]), [dog[0], vectors[:, 0].real.reshape(dog[0].shape)]],
        ["Gaussian in", "out", "dog, top eigvec"], run.figure("fig3_linear"),
        title=f"linear D2 ({init}), top |λ| {abs(values[0]):.3g}, {abs(values[1]):.2g}",
    )  # fmt: skip
    return result


def _nonlinear(run, layers, init, dog, gaussian):
    """Fig 8: LeakyReLU D2 under ``init``: output norm at init, outputs after training."""
    model = ConvAutoencoder(layers, activation="leaky_relu", kernel_init=init)
    norm = output_norm_at_init(model, run.keys["init"], dog[0])
    params, _ = run.train(f"leaky_relu_{init}", model, dog, key=run.keys["init"])
    outputs = probes.apply_batch(model, params, gaussian)
    match = probes.match_outputs(outputs, gaussian, dog)
    paper = PAPER_OUTPUT_NORMS.get(init)
    if paper:  # the norm of an untrained net: no fit to wait for
        run.compare(f"D2 {init}: ‖f(x)‖ at init", norm, paper, kind="report",
                    note="the norms depend on layer details the paper leaves open")  # fmt: skip
    return {
        "output_norm_at_init": norm, "paper_output_norm_at_init": paper,
        "gaussian_median_corr_dog": match["median_corr_nearest"],
        "gaussian_min_corr_dog": float(match["corr_nearest"].min()),
    }, outputs  # fmt: skip


EXPERIMENT = Experiment(name="mo1-d2", paper="MO1", get_config=get_config, science=science,
                        figure="[MO1] Fig 3 + Fig 8: D2 (4x4 after layer 1, 29 layers), spectrum "
                        "1, [<7e-6]", keys=("init", "tests"))  # fmt: skip
