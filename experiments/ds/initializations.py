"""[DS] App E, Fig 11: NLD_{128,128} under Xavier and Kaiming (uniform / normal) inits.

The paper: NLD learns the point map under every one of the four initializations, and under
the Kaiming ones the outputs for new inputs are a blurred (noisier) version of the training
image. Reported per init: the ℓ2 norm of the network's output for the training image at
initialization (Kaiming's larger gain compounds over the layers), the final loss, and for
Gaussian / white-square / unseen CIFAR inputs the median |centred correlation| of the output
with the training image (how clean the memorized output is) and with the input. The network,
data and training are those of ``ds-nonlinear`` part 1 (one shipped CIFAR-10 plane).

    memjax run ds-initializations                   # quick: 32 filters, 2000 steps, ~1 min
    memjax run ds-initializations --preset paper    # NLD_{128,128}, 20,000 steps

Measured: ``docs/findings/ds.md#ds-initializations``.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from memjax import plotting, probes
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import nld_network, output_norm_at_init


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        model={"filters": 32 if quick else 128,  # NLD_{a,a} of ds-nonlinear
               "convs_after_up": 2, "use_bias": False,
               "initializations": ("xavier_uniform", "xavier_normal", "kaiming_uniform",
                                   "kaiming_normal")},
        data={"single_image": 3,  # shipped CIFAR-10 test image 3, a plane
              "num_test_inputs": 8 if quick else 32},
        # As ds-nonlinear: a net that reproduces its image to MSE 1e-2 (PSNR 20 dB) has fitted.
        train=train_block("adam", 1e-4, max_steps=2000 if quick else 20000, fit_loss=1e-2),
    )  # fmt: skip


def science(run: Run) -> dict:
    config, a = run.config, run.config.model.filters
    single, tests = probes.cifar_probes(
        run.keys["probes"], [config.data.single_image], config.data.num_test_inputs
    )
    metrics, rows = {}, []
    grid, labels = [list(np.concatenate([t[:3] for t in tests.values()]))], ["inputs"]
    for init in config.model.initializations:
        model = nld_network(a, convs_after_up=config.model.convs_after_up,
                            use_bias=config.model.use_bias, kernel_init=init)  # fmt: skip
        norm_at_init = output_norm_at_init(model, run.keys["init"], single[0])
        # [DS] App E: every init memorizes (Kaiming's outputs blurred).
        summary, matches = probes.train_and_probe(
            run, f"NLD_{init}", model, single, tests, key=run.keys["init"], expect="training image"
        )
        metrics[init] = {"output_norm_at_init": norm_at_init, **summary}
        rows += probes.summary_rows(f"{init} (‖f(x)‖₀ {norm_at_init:.3g})", summary)
        grid.append(list(np.concatenate([m["outputs"][:3] for m in matches.values()])))
        labels.append(f"{init}\n→")
    plotting.image_grid(
        grid + [[single[0]]], labels + ["training image"], run.figure("fig11_outputs"),
        title=f"NLD_{{{a},{a}}}: outputs for Gaussian, square and CIFAR inputs per initialization",
    )  # fmt: skip
    run.table(rows, title="[DS] App E: median |centred correlation| of outputs, per init")
    return {"initializations": metrics}


EXPERIMENT = Experiment(name="ds-initializations", paper="DS", get_config=get_config,
                        science=science, keys=("init", "probes"), figure="[DS] App E Fig 11: "
                        "NLD_{128,128} memorizes under Xavier/Kaiming inits")  # fmt: skip
