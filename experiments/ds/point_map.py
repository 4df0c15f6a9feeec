"""[DS] Fig 2–3: with downsampling (Network D) the learned map is a point map; without (ND),
close to the identity, at every stopping point of training.

Network D: a stride-8 conv with 128 filters, ×8 nearest upsampling, a 128-filter conv and a
last conv to 3 channels; ND: the same without striding and upsampling (``network_d_layers``;
the count of convolutions after the upsampling is not in the text). Linear, no bias, PyTorch's
default init, Adam 1e-4, trained on one CIFAR-10 frog. At 10, 100, 1000 and 2000 steps the
outputs for Gaussian inputs, white squares and unseen CIFAR images are compared, by centred
correlation (each image minus its mean; raw cosines of all-positive images are ≈ 0.8 for any
pair), with the training image and with the input.

    memjax run ds-point-map                   # ~45 s on a 2-core CPU
    memjax run ds-point-map --preset paper    # 32 test inputs of each kind

Measured (quick, median |centred correlation|; 2000 steps, losses D 7.8e-3, ND 6.3e-5):
ND reproduces the identity-like map: corr(output, input) 0.88 (Gaussian), 1.00 (squares),
0.99 (CIFAR), and 0.12–0.94 already at 10 steps. D's outputs are decorrelated from Gaussian
inputs at every snapshot (0.013–0.026), as in the paper, but the point map itself does not
reproduce: corr(output, training image) is only 0.04–0.19 on Gaussian inputs and 0.20–0.34
on CIFAR inputs, and D keeps large white squares (0.56), which survive stride 8. Its
outputs are blocky low-pass images of the input: one conv after a ×8 nearest upsampling cannot
place detail inside an 8×8 block. With ``convs_after_up=3`` (loss 3.0e-3 at 2000 steps)
Gaussian outputs correlate 0.09 with the frog and 0.015 with the input: still no point map.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, probes, runs
from memjax.data import load_sample, to_float
from memjax.models import ConvAutoencoder, network_d_layers
from memjax.train import TrainConfig, train

PAPER_FIGURE = "[DS] Fig 2-3: Network D (point map) vs ND (identity) at 10/100/1000/2000 steps"
FROG = 6  # CIFAR-10 label


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.train_image = 4  # shipped CIFAR-10 test image 4, a frog
    config.num_test_inputs = 6 if preset == "quick" else 32
    config.filters = 128
    config.convs_after_up = 1  # not in the text; 3 fits better (loss 3.0e-3 vs 7.8e-3)
    config.train = runs.as_config(
        TrainConfig("adam", 1e-4, max_steps=2000, snapshot_steps=(10, 100, 1000, 2000))
    )
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, labels = load_sample("cifar10")
    if labels[config.train_image] != FROG:
        print(f"note: shipped image {config.train_image} has label {labels[config.train_image]}")
    train_image = jnp.asarray(to_float(images[config.train_image : config.train_image + 1]))
    tests = _test_inputs(config, images, train_image.shape[1:])
    metrics = {"train_label": int(labels[config.train_image])}
    for name, downsample in (("D", True), ("ND", False)):
        layers = network_d_layers(filters=config.filters, convs_after_up=config.convs_after_up,
                                  downsample=downsample)  # fmt: skip
        model = ConvAutoencoder(layers)
        params, history = train(jax.random.PRNGKey(config.seed), model, train_image,
                                TrainConfig(**config.train.to_dict()))  # fmt: skip
        runs.save_params(workdir / f"params_network_{name}.msgpack", params)
        metrics[name] = {
            "final_loss": float(history.final_loss),
            "snapshots": {
                step: _correlations(model, p, train_image, tests)
                for step, p in history.snapshots.items()
            },  # fmt: skip
        }
        _plot(name, model, history.snapshots, train_image, tests, workdir)
    _print(metrics)
    return metrics


def _test_inputs(config, images, shape):
    unseen = np.delete(images, config.train_image, axis=0)
    return probes.probe_inputs(
        jax.random.PRNGKey(config.seed), config.num_test_inputs, shape, to_float(unseen)
    )


def _correlations(model, params, train_image, tests):
    result = {}
    for kind, inputs in tests.items():
        match = probes.match_outputs(probes.apply_batch(model, params, inputs), inputs, train_image)
        result[kind] = {
            "median_abs_corr_output_training_image": match["median_corr_nearest"],
            "median_abs_corr_output_input": match["median_corr_input"],
        }
    return result


def _plot(name, model, snapshots, train_image, tests, workdir):
    inputs = np.concatenate([tests[k][:2] for k in tests])
    rows = [list(inputs)] + [list(probes.apply_batch(model, p, inputs)) for p in snapshots.values()]
    labels = ["inputs"] + [f"step {step} →" for step in snapshots]
    plotting.image_grid(
        rows + [[np.asarray(train_image[0])]],
        labels + ["training image"],
        workdir / f"outputs_network_{name}.png",
        title=f"Network {name}: outputs for Gaussian, square and CIFAR inputs",
    )


def _print(metrics):
    print(
        f"{'net':<3} {'step':>5} {'input':<9} {'|corr(out, train)|':>19} "
        f"{'|corr(out, in)|':>16}  (medians, centred correlation)"
    )
    for name in ("D", "ND"):
        for step, kinds in metrics[name]["snapshots"].items():
            for kind, c in kinds.items():
                print(
                    f"{name:<3} {step:>5} {kind:<9} "
                    f"{c['median_abs_corr_output_training_image']:>19.3f} "
                    f"{c['median_abs_corr_output_input']:>16.3f}"
                )
