"""[DS] Fig 1: a U-Net autoencoder trained on one CIFAR-10 image outputs that image for any
input (white squares, Gaussian noise, new images).

The network is Deep Image Prior's large-hole inpainting ``skip`` network (``memjax.models.UNet``
documents the choices: channels 16–128 over 5 levels, no skip channels, LeakyReLU(0.2), sigmoid
output, no batch norm), trained with Adam 1e-4 for 2000 steps as [DS] trains its other nets.
DIP's own rate (0.01) does not train it without batch norm (loss stuck at 0.21).
``skip_channels`` > 0 adds DIP-style skip connections, which give the network a short path
from input to output.

    memjax run ds-unet                   # quick: the dog of Fig 1a, ~1 min on CPU
    memjax run ds-unet --preset paper    # the dog and the car (Fig 1a, 1b), 32 test inputs each

Measured (quick, 62 s; loss 1.3e-4; median |corr(output, training image)| / |corr(output,
input)|): Gaussian 0.81 / 0.02, squares 1.00 / 0.19, CIFAR 1.00 / 0.19; at step 100 already
0.71 for all three kinds. Fig 1 reproduces. Also measured (same setting, one run each): with
4 skip channels per level 0.86 / 0.99 / 1.00 to the training image (skips do not undo it),
and with a linear instead of a sigmoid output 0.88 / 0.97 / 0.99. NLD_{a,b} of
``ds-nonlinear`` does not memorize in this way, so what the U-Net adds (5 levels down to 1×1,
biases, 5×5 kernels, LeakyReLU 0.2, 20 convolutions) is where to look.
"""

from __future__ import annotations

from pathlib import Path

import jax
import ml_collections
import numpy as np

from memjax_experiments.ds import nonlinear as ds_nonlinear
from memjax import probes, runs
from memjax.data import load_sample, to_float
from memjax.models import UNet
from memjax.train import TrainConfig

PAPER_FIGURE = "[DS] Fig 1: a U-Net trained on one image outputs it for any input"
NAMES = {5: "dog", 1: "car"}  # CIFAR-10 labels


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.training_images = (12,) if preset == "quick" else (12, 6)  # shipped dog, car
    config.num_test_inputs = 8 if preset == "quick" else 32
    config.features = (16, 32, 64, 128, 128)
    config.skip_channels = 0
    config.train = runs.as_config(TrainConfig("adam", 1e-4, max_steps=2000))
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, labels = load_sample("cifar10")
    model = UNet(features=tuple(config.features), skip_channels=config.skip_channels)
    metrics = {"paper": "outputs are the training image for squares, Gaussian, new images"}
    for index in config.training_images:
        image = to_float(images[index : index + 1])
        name = NAMES.get(int(labels[index]), f"label{labels[index]}")
        tests = probes.probe_inputs(
            jax.random.PRNGKey(config.seed + 1),
            config.num_test_inputs,
            image.shape[1:],
            to_float(np.delete(images, index, axis=0)),
        )
        params, loss = ds_nonlinear.fit(config, model, image)
        matches = ds_nonlinear.match_all(model, params, image, tests)
        metrics[f"{name}_{index}"] = {"final_loss": loss, **ds_nonlinear.summarize(matches, 1)}
        ds_nonlinear.plot_matches(
            matches,
            tests,
            image,
            workdir / f"fig1_{name}.png",
            f"U-Net trained on one image ({name}), {config.train.max_steps} steps",
        )
    _print(metrics)
    return metrics


def _print(metrics):
    print(f"{'image':<10} {'loss':>9}  median |corr(out, training image)| / |corr(out, in)|")
    for name, m in metrics.items():
        if name == "paper":
            continue
        kinds = "  ".join(
            f"{k} {s['median_corr_nearest_training_image']:.2f}/{s['median_corr_input']:.2f}"
            for k, s in m.items()
            if isinstance(s, dict)
        )
        print(f"{name:<10} {m['final_loss']:>9.2e}  {kinds}")
