"""[DS] Fig 7–8: nonlinear downsampling (NLD) vs non-downsampling (NLND) autoencoders.

NLD_{a,b} / NLND_{a,b} are D_{a,b} / ND_{a,b} (``downsampling_layers``) with LeakyReLU (slope
0.01) after every convolution, PyTorch's default init, Adam 1e-4. Part 1 (Fig 7) trains both
on one CIFAR-10 plane; part 2 (Fig 8) trains NLD on one image per class. Every output for a
new input (Gaussian noise, white squares, unseen CIFAR images) is matched to the training image
it correlates with most (centred correlation) and to its own input. The paper: NLD outputs a
training image for every input (strong attractors), NLND approximates the identity.

The shipped sample (the first 20 CIFAR-10 test images) has no bird or deer, so part 2 uses
the 8 classes it has; ``data.full_data`` (on in the paper preset; CIFAR-10 from ``data.data_dir``,
see ``memjax.data.resolve_data_dir``) uses the first test image of each of the 10 classes.
The convs after the ×8 upsampling are not in the text (``model.convs_after_up``); biases are
off as in the linear nets (``model.use_bias``; PyTorch's default would be on).

    memjax run ds-nonlinear                   # quick: 32 filters, 2000 steps, ~1.5 min on CPU
    memjax run ds-nonlinear --preset paper    # NLD_{128,128}, 20,000 steps

Measured: ``docs/findings/ds.md#ds-nonlinear``.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from memjax import probes
from memjax.data import load_dataset, to_float
from memjax.data.sample import SHIPPED_ONE_PER_CLASS, load_sample, shipped_cifar10_label
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import nld_network


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        model={"filters": 32 if quick else 128,  # a = b
               "convs_after_up": 2, "use_bias": False, "kernel_init": "pytorch"},
        data={"single_image": 3,  # shipped CIFAR-10 test image 3, a plane (Fig 7)
              "training_set": SHIPPED_ONE_PER_CLASS,
              # the downloaded CIFAR-10 test set: one image of each of the 10 classes
              "full_data": not quick, "data_dir": "",
              "num_test_inputs": 8 if quick else 32},
        # The claims are about nets that reproduce their images: MSE 1e-2 (PSNR 20 dB), [0, 1] px.
        train=train_block("adam", 1e-4, max_steps=2000 if quick else 20000, fit_loss=1e-2),
    )  # fmt: skip


def science(run: Run) -> dict:
    config, a = run.config, run.config.model.filters
    training, unseen = _training_set(config)  # first: a missing dataset stops before training
    shipped_cifar10_label(config.data.single_image, "plane")
    single, tests = probes.cifar_probes(
        run.keys["probes"], [config.data.single_image], config.data.num_test_inputs
    )
    metrics, rows = {"fig7_single_image": {}}, []
    for name, downsample, expect in (("NLD", True, "training image"), ("NLND", False, "input")):
        model = nld_network(downsample=downsample, **config.model)  # NLD_{a,a} or NLND_{a,a}
        summary, _ = probes.train_and_probe(
            run, name, model, single, tests, key=run.keys["init"], expect=expect,
            figure=f"fig7_{name}", title=f"{name}_{{{a},{a}}} trained on one image",
        )  # fmt: skip
        metrics["fig7_single_image"][name] = summary
        rows += probes.summary_rows(f"{name} (Fig 7)", summary)

    tests = probes.probe_inputs(run.keys["probes"], config.data.num_test_inputs,
                                training.shape[1:], unseen)  # fmt: skip
    summary, _ = probes.train_and_probe(
        run, "NLD_training_set", nld_network(**config.model), training, tests,
        key=run.keys["init"], expect="training image", figure="fig8_NLD_outputs",
        title=f"NLD_{{{a},{a}}} trained on {len(training)} images",
    )  # fmt: skip
    metrics["fig8_training_set"] = {"n_training": len(training), **summary}
    rows += probes.summary_rows("NLD (Fig 8)", summary)
    probes.plot_nearest_counts(summary, training, run.figure("fig8_nearest_counts"))
    run.table(rows, title="median |centred correlation| of outputs for new inputs")
    return metrics


def _training_set(config):
    """Part 2's training images and the unseen images to test with."""
    if config.data.full_data:
        test_images, test_labels = load_dataset("cifar10", "test", config.data.data_dir or None)
        first = [int(np.flatnonzero(test_labels == c)[0]) for c in range(10)]
        unseen = np.delete(test_images[:200], [i for i in first if i < 200], axis=0)
        return to_float(test_images[first]), to_float(unseen)
    images, _ = load_sample("cifar10")
    indices = list(config.data.training_set)
    return to_float(images[indices]), to_float(np.delete(images, indices, axis=0))


EXPERIMENT = Experiment(name="ds-nonlinear", paper="DS", get_config=get_config, science=science,
                        keys=("init", "probes"), figure="[DS] Fig 7-8: NLD_{128,128} outputs "
                        "training images, NLND_{128,128} the input")  # fmt: skip
