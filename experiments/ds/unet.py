"""[DS] Fig 1: a U-Net autoencoder trained on one CIFAR-10 image outputs that image for any
input (white squares, Gaussian noise, new images).

The network is Deep Image Prior's large-hole inpainting ``skip`` network (``memjax.models.UNet``
documents the choices: channels 16–128 over 5 levels, no skip channels, LeakyReLU(0.2), sigmoid
output, no batch norm), trained with Adam 1e-4 for 2000 steps as [DS] trains its other nets.
DIP's own rate (0.01) does not train it without batch norm (loss stuck at 0.21).
``model.skip_channels`` > 0 adds DIP-style skip connections, which give the network a short
path from input to output.

    memjax run ds-unet                   # quick: the dog of Fig 1a, ~1.5 min on CPU
    memjax run ds-unet --preset paper    # the dog and the car (Fig 1a, 1b), 32 test inputs each

Measured: ``docs/findings/ds.md#ds-unet``.
"""

from __future__ import annotations

import ml_collections

from memjax import probes
from memjax.data import CIFAR10_CLASSES, load_sample
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import UNet


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        model={"features": (16, 32, 64, 128, 128), "skip_channels": 0},
        data={"training_images": (12,) if quick else (12, 6),  # shipped dog, car
              "num_test_inputs": 8 if quick else 32},
        # A net that reproduces its image to MSE 1e-2 (PSNR 20 dB) has fitted.
        train=train_block("adam", 1e-4, max_steps=2000, fit_loss=1e-2),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    labels = load_sample("cifar10")[1]
    model = UNet(features=tuple(config.model.features), skip_channels=config.model.skip_channels)
    metrics, rows = {}, []
    for index in config.data.training_images:
        name = f"{CIFAR10_CLASSES[labels[index]]}_{index}"
        image, tests = probes.cifar_probes(run.keys["probes"], [index],
                                           config.data.num_test_inputs)  # fmt: skip
        metrics[name], _ = probes.train_and_probe(  # [DS] Fig 1: outputs are the image
            run, name, model, image, tests, key=run.keys["init"], expect="training image",
            figure=f"fig1_{name}",
            title=f"U-Net trained on one image ({name}), {config.train.max_steps} steps",
        )  # fmt: skip
        rows += probes.summary_rows(name, metrics[name])
    run.table(rows, title="[DS] Fig 1: median |centred correlation| of outputs for new inputs")
    return metrics


EXPERIMENT = Experiment(name="ds-unet", paper="DS", get_config=get_config, science=science,
                        keys=("init", "probes"), figure="[DS] Fig 1: a U-Net trained on one image "
                        "outputs it for any input")  # fmt: skip
