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

Measured (quick, 39 s, NLD_{32,32}; ‖f(x)‖ at init; median |corr(out, training image)| /
|corr(out, input)| for Gaussian, squares, CIFAR inputs):
  xavier_uniform   0.80   0.19 / 0.02   0.30 / 0.69   0.32 / 0.50
  xavier_normal    0.77   0.12 / 0.02   0.28 / 0.72   0.30 / 0.56
  kaiming_uniform  11.5   0.07 / 0.01   0.28 / 0.55   0.28 / 0.35
  kaiming_normal   11.0   0.16 / 0.01   0.30 / 0.62   0.16 / 0.34
Kaiming starts with ~14× larger outputs and its outputs are visibly noisier (the figure), as
App E says, but as in ``ds-nonlinear`` no initialization gives the point map itself.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax_experiments.ds import nonlinear as ds_nonlinear
from memjax import plotting, probes
from memjax.data import load_sample, to_float

PAPER_FIGURE = "[DS] App E Fig 11: NLD_{128,128} memorizes under Xavier/Kaiming inits"
INITS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ds_nonlinear.get_config(preset)
    del config.training_set, config.cifar_dir, config.kernel_init
    config.initializations = INITS
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, _ = load_sample("cifar10")
    single = to_float(images[config.single_image : config.single_image + 1])
    tests = probes.probe_inputs(
        jax.random.PRNGKey(config.seed + 1),
        config.num_test_inputs,
        single.shape[1:],
        to_float(np.delete(images, config.single_image, axis=0)),
    )
    metrics, rows, labels = {}, [list(np.concatenate([t[:3] for t in tests.values()]))], ["inputs"]
    for init in config.initializations:
        unlocked = ml_collections.ConfigDict(config.to_dict())
        unlocked.kernel_init = init
        model = ds_nonlinear.network(unlocked, downsample=True)
        norm_at_init = _output_norm_at_init(model, config.seed, single[0])
        params, loss = ds_nonlinear.fit(unlocked, model, single)
        matches = ds_nonlinear.match_all(model, params, single, tests)
        metrics[init] = {
            "output_norm_at_init": norm_at_init,
            "final_loss": loss,
            **ds_nonlinear.summarize(matches, 1),
        }
        rows.append(list(np.concatenate([m["outputs"][:3] for m in matches.values()])))
        labels.append(f"{init}\n→")
    plotting.image_grid(
        rows + [[single[0]]],
        labels + ["training image"],
        workdir / "fig11_outputs.png",
        title=f"NLD_{{{config.filters},{config.filters}}}: outputs for Gaussian, square and "
        "CIFAR inputs per initialization",
    )
    _print(metrics)
    return {"initializations": metrics}


def _output_norm_at_init(model, seed: int, image) -> float:
    params = model.init(jax.random.PRNGKey(seed), jnp.asarray(image))
    return float(jnp.linalg.norm(model.apply(params, jnp.asarray(image))))


def _print(metrics):
    print(
        f"{'init':<16} {'‖f(x)‖ at init':>15} {'loss':>9}  "
        "median |corr(out, train)| / |corr(out, in)| per input kind"
    )
    for init, m in metrics.items():
        kinds = "  ".join(
            f"{k} {s['median_corr_nearest_training_image']:.2f}/{s['median_corr_input']:.2f}"
            for k, s in m.items()
            if isinstance(s, dict)
        )
        print(f"{init:<16} {m['output_norm_at_init']:>15.4g} {m['final_loss']:>9.2e}  {kinds}")
