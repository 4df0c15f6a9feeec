"""[MO1] Fig 2 and Fig 7: D1 downsamples to 1×1 and memorizes, early in training too.

D1 (Fig 2a, drawn but not spelled out) is taken as five stride-2 3×3 convolutions with
``filters`` channels (32 → 16 → 8 → 4 → 2 → 1), then five stages of ×2 nearest upsampling and
a 3×3 convolution, and a last convolution to 3 channels. A single ×32 upsampling from 1×1
would give constant maps that no convolution could turn into an image, hence the mirrored
decoder. Trained with PyTorch's default init on two CIFAR-10 images (Adam 1e-4; the optimizer
is not named). The paper: spectrum 1, 1, [< 2e-2] after 10,000 iterations, and (Fig 7) the
linear and LeakyReLU versions memorize throughout training, at 100 and 1000 iterations.

Reported at each snapshot: the linear operator's top |λ| and the largest beyond the two
training images, the distance of its top eigenvectors to span(X), and for Gaussian inputs the
distance of the outputs to span(X); for the LeakyReLU version (activation after every conv but
the last) the |cos| of each output to its nearest training image.

Measured (quick, 32 filters, 1000 steps; 49 s): linear |λ| 1.004, 0.994, then 0.039, 0.031
(paper after 10,000 steps: 1, 1, [< 2e-2]), top eigenvectors 0.10 and 0.31 from span(X);
LeakyReLU: Gaussian inputs come out with median |cos| 0.91 (step 100) and 0.97 (step 1000) to
their nearest training image. A 64-filter probe after 3000 steps gave |λ| 1.0004, 0.998, 0.030.

    memjax run mo1-d1                   # quick: 32 filters, 1000 steps, ~50 s on CPU
    memjax run mo1-d1 --preset paper    # 64 filters, 10,000 steps
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, runs, spectral
from memjax.data import gaussian_images, load_sample, to_float
from memjax.models import Conv, ConvAutoencoder, Upsample
from memjax.operator import model_operator
from memjax.train import TrainConfig, train

PAPER_FIGURE = "[MO1] Fig 2 + Fig 7: D1 (down to 1x1), spectrum 1, 1, [<2e-2]; early stopping"


def d1_layers(filters: int, levels: int = 5, channels: int = 3) -> tuple:
    """Stride-2 convs down to 1×1 (``levels`` halvings), mirrored ×2 upsample + conv stages."""
    down = tuple(Conv(filters, stride=2) for _ in range(levels))
    up = tuple(layer for _ in range(levels) for layer in (Upsample(2), Conv(filters)))
    return (*down, *up, Conv(channels))


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.filters = 32 if preset == "quick" else 64
    config.train_images = (12, 3)  # shipped CIFAR-10 test images: a dog (label 5), a plane
    config.num_test_inputs = 16
    config.nonlinear = True
    config.train = runs.as_config(
        TrainConfig(
            "adam",
            1e-4,
            max_steps=1000 if preset == "quick" else 10000,
            snapshot_steps=(100, 1000) if preset == "quick" else (100, 1000, 10000),
        )
    )
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, labels = load_sample("cifar10")
    data = jnp.asarray(to_float(images[list(config.train_images)]))
    tests = gaussian_images(jax.random.PRNGKey(config.seed), config.num_test_inputs, data.shape[1:])
    train_config = TrainConfig(**config.train.to_dict())
    metrics = {"train_labels": labels[list(config.train_images)]}
    activations = ("linear", "leaky_relu") if config.nonlinear else ("linear",)
    for activation in activations:
        model = ConvAutoencoder(d1_layers(config.filters), activation=activation)
        _, history = train(jax.random.PRNGKey(config.seed), model, data, train_config)
        snapshots = {
            step: _snapshot(model, params, data, tests, activation)
            for step, params in history.snapshots.items()
        }
        _plot(activation, model, history.snapshots, data, tests, workdir)
        metrics[activation] = {"final_loss": float(history.final_loss), "snapshots": snapshots}
    _print(metrics)
    return metrics


def _outputs(model, params, inputs):
    return np.asarray(jax.vmap(lambda x: model.apply(params, x))(inputs))


def _snapshot(model, params, data, tests, activation):
    outputs = _outputs(model, params, tests)
    result = {
        "loss": float(np.mean((_outputs(model, params, data) - np.asarray(data)) ** 2)),
        "gaussian_output_distance_to_span": spectral.distance_to_span(
            outputs.reshape(len(outputs), -1).T, data),
    }  # fmt: skip
    if activation == "linear":
        s = spectral.eigenspectrum(model_operator(model, params, data[0]))
        k = len(data)
        result |= {
            "top_abs_eigenvalues": s.magnitudes[: k + 3],
            "max_abs_eigenvalue_beyond_training_set": float(s.magnitudes[k]),
            "top_eigenvector_distance_to_span": spectral.distance_to_span(s.vectors[:, :k], data),
        }
    else:
        index, cos = spectral.nearest_example(outputs, data)
        result |= {"nearest_training_image": index, "abs_cos_nearest": cos.max(axis=1)}
    return result


def _plot(activation, model, snapshots, data, tests, workdir):
    shown = tests[:6]
    rows = [list(shown)] + [list(_outputs(model, p, shown)) for p in snapshots.values()]
    labels = ["Gaussian inputs"] + [f"step {step} →" for step in snapshots]
    plotting.image_grid(
        rows + [list(data)],
        labels + ["training images"],
        workdir / f"outputs_{activation}.png",
        title=f"D1 ({activation}): outputs for Gaussian inputs during training",
    )


def _print(metrics):
    for activation in ("linear", "leaky_relu"):
        if activation not in metrics:
            continue
        for step, snap in metrics[activation]["snapshots"].items():
            span = np.median(snap["gaussian_output_distance_to_span"])
            line = f"{activation:<10} step {step:>5}: loss {snap['loss']:.2e}, Gaussian outputs' "
            line += f"median distance to span(X) {span:.3f}"
            if activation == "linear":
                top = ", ".join(f"{v:.3f}" for v in snap["top_abs_eigenvalues"])
                dist = ", ".join(f"{v:.2f}" for v in snap["top_eigenvector_distance_to_span"])
                line += f"; |λ| {top}; top eigenvectors' distance to span(X) {dist}"
            else:
                cos = np.median(snap["abs_cos_nearest"])
                line += f"; median |cos| to nearest training image {cos:.3f}"
            print(line)
