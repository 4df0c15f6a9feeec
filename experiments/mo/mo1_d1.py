"""[MO1] Fig 2 and Fig 7: D1 downsamples to 1×1 and memorizes, early in training too.

D1 (Fig 2a, drawn but not spelled out) is taken as five stride-2 3×3 convolutions with
``filters`` channels (32 → 16 → 8 → 4 → 2 → 1), then five stages of ×2 nearest upsampling and
a 3×3 convolution, and a last convolution to 3 channels (``memjax.models.d1_layers``).
Trained with PyTorch's default init on two CIFAR-10 images (Adam 1e-4; the optimizer is not
named). The paper: spectrum 1, 1, [< 2e-2] after 10,000 iterations, and (Fig 7) the linear
and LeakyReLU versions memorize throughout training, at 100 and 1000 iterations.

Reported at each snapshot: the linear operator's top |λ| and the largest beyond the two
training images, the distance of its top eigenvectors to span(X), and for Gaussian inputs the
distance of the outputs to span(X); for the LeakyReLU version (activation after every conv but
the last) the |cos| of each output to its nearest training image (Fig 7 shows images, not
numbers: the bound compared, median |cos| > 0.9, is ours).

Measured: ``docs/findings/mo1.md#mo1-d1``.

    memjax run mo1-d1                   # quick: 32 filters, 1000 steps, ~40 s on CPU
    memjax run mo1-d1 --preset paper    # 64 filters, 10,000 steps
"""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, spectral
from memjax.data import gaussian_images, load_sample, to_float
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import ConvAutoencoder, d1_layers
from memjax.operator import top_eigenvalues
from memjax.probes import apply_batch

PAPER_REST_BELOW = 2e-2  # [MO1] Fig 2: |λ| beyond the two training images after 10,000 steps
MATCH_BOUND = 0.9  # Fig 7: median |cos(output, nearest training image)| above this (ours)
TOP_TOL = 0.05


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        data={"train_images": (12, 3),  # shipped CIFAR-10 test images: a dog (label 5), a plane
              "num_test_inputs": 16},
        model={"filters": 32 if quick else 64, "activations": ("linear", "leaky_relu")},
        # Measured at these steps (those within train.max_steps) and at the last step.
        snapshots=(100, 1000) if quick else (100, 1000, 10000),
        # Fitted: the images come back recognisably (RMS pixel error 0.1; untrained, the loss is
        # their mean square, 0.30).
        train=train_block("adam", 1e-4, max_steps=1000 if quick else 10000, fit_loss=1e-2),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    images, labels = load_sample("cifar10")
    data = jnp.asarray(to_float(images[list(config.data.train_images)]))
    tests = gaussian_images(run.keys["tests"], config.data.num_test_inputs, data.shape[1:])
    metrics, rows = {"train_labels": labels[list(config.data.train_images)]}, []
    last = config.train.max_steps
    steps = tuple(sorted({s for s in config.snapshots if s < last} | {last}))
    for activation in config.model.activations:
        model = ConvAutoencoder(d1_layers(config.model.filters), activation=activation)
        _, history = run.train(activation, model, data, key=run.keys["init"], snapshot_steps=steps)
        snapshots = {step: _snapshot(model, params, data, tests, activation)
                     for step, params in history.snapshots.items()}  # fmt: skip
        metrics[activation] = {"snapshots": snapshots}  # final losses: the run's fits
        _compare(run, activation, snapshots, len(data))
        rows += [{"net": activation, "step": step, **s} for step, s in snapshots.items()]
        outputs = {step: apply_batch(model, p, tests[:6]) for step, p in history.snapshots.items()}
        plotting.snapshot_grid(tests[:6], outputs, data, run.figure(f"outputs_{activation}"),
                               f"D1 ({activation}): outputs for Gaussian inputs during training",
                               input_label="Gaussian inputs")  # fmt: skip
    run.table(
        [{"net": r["net"], "step": r["step"], "loss": r["loss"],
          "outputs to span(X)": np.median(r["gaussian_output_distance_to_span"]),
          "top |λ|": r.get("top_abs_eigenvalues"),
          "eigvecs to span(X)": r.get("top_eigenvector_distance_to_span"),
          "|cos| nearest": np.median(r["abs_cos_nearest"]) if "abs_cos_nearest" in r else None}
         for r in rows],
        title="D1 during training (medians over the Gaussian inputs)",
    )  # fmt: skip
    return metrics


def _snapshot(model, params, data, tests, activation):
    outputs = apply_batch(model, params, tests)
    result = {
        "loss": float(np.mean((apply_batch(model, params, data) - np.asarray(data)) ** 2)),
        "gaussian_output_distance_to_span": spectral.distance_to_span(
            outputs.reshape(len(outputs), -1).T, data),
    }  # fmt: skip
    if activation == "linear":  # the top k + 3 eigenpairs by Arnoldi: no dense 3072² operator
        k = len(data)
        s = top_eigenvalues(model.apply, data[0], k + 3, params=params)
        result |= {
            "top_abs_eigenvalues": s.magnitudes[: k + 3],
            "max_abs_eigenvalue_beyond_training_set": float(s.magnitudes[k]),
            "top_eigenvector_distance_to_span": spectral.distance_to_span(s.vectors[:, :k], data),
        }
    else:
        index, cos = spectral.nearest_example(outputs, data)
        result |= {"nearest_training_image": index, "abs_cos_nearest": cos.max(axis=1)}
    return result


def _compare(run, name, snapshots, k):
    last = max(snapshots)
    if name == "linear":  # Fig 2: the spectrum of the trained net
        run.compare(f"D1 linear: top {k} |λ|", snapshots[last]["top_abs_eigenvalues"][:k],
                    [1.0] * k, tol=TOP_TOL, fits=[name])  # fmt: skip
        run.compare(f"D1 linear: |λ{k + 1}| at step {last}",
                    snapshots[last]["max_abs_eigenvalue_beyond_training_set"], PAPER_REST_BELOW,
                    kind="below", fits=[name], note="the paper's: after 10,000 steps")  # fmt: skip
        return
    # Fig 7: outputs are training images early in a training run that goes on to fit.
    for step, s in snapshots.items():
        run.compare(f"D1 {name}: median |cos| to nearest image, step {step}",
                    float(np.median(s["abs_cos_nearest"])), MATCH_BOUND, kind="above",
                    fits=[name])  # fmt: skip


EXPERIMENT = Experiment(name="mo1-d1", paper="MO1", get_config=get_config, science=science,
                        figure="[MO1] Fig 2 + Fig 7: D1 (down to 1x1), spectrum 1, 1, [<2e-2]; "
                        "early stopping", keys=("init", "tests"))  # fmt: skip
