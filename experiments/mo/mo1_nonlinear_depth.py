"""[MO1] Fig 4–5: deep nonlinear conv autoencoders map noise to individual training images.

Fig 4: 29 single-filter 3×3 LeakyReLU layers, every weight initialized at 0.1, trained on one
4×4 image (a white 2×2 square in the upper-left corner); Gaussian test inputs should come out
as the training image. Fig 5: 5 single-filter LeakyReLU layers with skip connections every 2
layers, Xavier uniform, trained on two orthogonal 2×2 images (white upper-left pixel, white
lower-right pixel); Gaussian inputs should come out as one training image or the other, not a
combination ("strong memorization"). [MO1] does not name the optimizer here; Adam is used
(train block ``train`` for Fig 4, ``train_fig5`` for Fig 5). The figures show images, not
numbers: the bounds compared (median |cos| above ``match_threshold`` to the nearest training
image, below 0.1 to the other) are ours.

    memjax run mo1-nonlinear-depth                   # quick: ~15 s on a 2-core CPU
    memjax run mo1-nonlinear-depth --preset paper    # more test inputs and seeds

Measured: ``docs/findings/mo1.md#mo1-nonlinear-depth``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, probes
from memjax.data import gaussian_images
from memjax.experiment import Experiment, Run, median, new_config, train_block
from memjax.models import DeepConvStack

OTHER_BOUND = 0.1  # |cos| to the other training images below this: not a combination


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    stop = {"loss_tol": 1e-6, "fit_loss": 1e-6}  # trained until the loss is below 1e-6 ([MO1] §3)
    return new_config(
        num_seeds=2 if quick else 8,
        data={"num_test_inputs": 64 if quick else 1000,
              "match_threshold": 0.9},  # |cos| above which an output "is" a training image
        model={"fig4": {"depth": 29, "skip_every": 0, "kernel_init": "constant:0.1"},
               "fig5": {"depth": 5, "skip_every": 2, "kernel_init": "xavier_uniform"}},
        train=train_block("adam", 1e-4, 20000, **stop),
        train_fig5=train_block("adam", 1e-3, 20000, **stop),
    )  # fmt: skip


def fig4_training_set() -> jax.Array:
    """One 4×4 image: a white 2×2 square in the upper-left corner."""
    return jnp.zeros((1, 1, 4, 4)).at[0, 0, :2, :2].set(1.0)


def fig5_training_set() -> jax.Array:
    """Two orthogonal 2×2 images: white upper-left pixel, white lower-right pixel."""
    return jnp.zeros((2, 1, 2, 2)).at[0, 0, 0, 0].set(1.0).at[1, 0, 1, 1].set(1.0)


def science(run: Run) -> dict:
    keys = jax.random.split(run.keys["seeds"], run.config.num_seeds)
    nets = {
        "fig4_29_layers": (run.config.model.fig4, fig4_training_set(), "train"),
        "fig5_5_layers_skips": (run.config.model.fig5, fig5_training_set(), "train_fig5"),
    }
    metrics = {}
    for index, (name, (net, data, block)) in enumerate(nets.items()):
        tests = gaussian_images(jax.random.fold_in(run.keys["tests"], index),
                                run.config.data.num_test_inputs, data.shape[1:])  # fmt: skip
        metrics[name] = _network(run, name, net, block, data, tests, keys)
    columns = {"share |cos| > thr": "share_matching_one_training_image",
               "cos nearest": "median_abs_cos_nearest", "cos others": "median_abs_cos_others",
               "collapsed": "share_collapsed_to_zero"}  # fmt: skip
    run.table([{"network": name, **{h: median(m[k]) for h, k in columns.items()},
                "nearest counts (seed 0)": m["nearest_counts"][0]} for name, m in metrics.items()],
              title="Gaussian inputs through the trained nets (medians over seeds)")  # fmt: skip
    return metrics


def _network(run, name, net, block, data, tests, keys):
    model = DeepConvStack(net.depth, activation="leaky_relu", kernel_init=net.kernel_init,
                          skip_every=net.skip_every)  # fmt: skip
    params, _ = run.train(name, model, data, keys=keys, block=block)
    outputs = jax.vmap(lambda p: jax.vmap(lambda x: model.apply(p, x))(tests))(params)
    threshold = run.config.data.match_threshold
    per_seed = [probes.cosine_matches(np.asarray(o), data, threshold) for o in outputs]
    shown = min(8, len(tests))
    plotting.image_grid(
        [list(tests[:shown]), list(np.asarray(outputs[0, :shown])), list(data)],
        ["Gaussian inputs", "outputs (seed 0)", "training images"], run.figure(name),
        col_labels=[f"→ train {i}" if i >= 0 else "→ 0" for i in per_seed[0]["index"][:shown]],
        title=f"{name}: outputs for Gaussian inputs",
    )  # fmt: skip
    result = {key: [s[key] for s in per_seed] for key in per_seed[0] if key != "index"}
    fitted = run.fits[name].mask  # the medians are taken over the seeds that fit
    nearest = median(np.compress(fitted, result["median_abs_cos_nearest"]))
    run.compare(f"{name}: median |cos(output, nearest training image)|", nearest, threshold,
                kind="above", fits=[name], require="any")  # fmt: skip
    if len(data) > 1:
        others = median(np.compress(fitted, result["median_abs_cos_others"]))
        run.compare(f"{name}: median |cos(output, other training images)|", others,
                    OTHER_BOUND, kind="below", fits=[name], require="any")  # fmt: skip
    return result


EXPERIMENT = Experiment(name="mo1-nonlinear-depth", paper="MO1", get_config=get_config,
                        science=science, keys=("seeds", "tests"),
                        figure="[MO1] Fig 4-5: deep LeakyReLU stacks map Gaussian noise to "
                        "training images")  # fmt: skip
