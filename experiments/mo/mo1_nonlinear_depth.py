"""[MO1] Fig 4–5: deep nonlinear conv autoencoders map noise to individual training images.

Fig 4: 29 single-filter 3×3 LeakyReLU layers, every weight initialized at 0.1, trained on one
4×4 image (a white 2×2 square in the upper-left corner); Gaussian test inputs should come out
as the training image. Fig 5: 5 single-filter LeakyReLU layers with skip connections every 2
layers, Xavier uniform, trained on two orthogonal 2×2 images (white upper-left pixel, white
lower-right pixel); Gaussian inputs should come out as one training image or the other, not a
combination ("strong memorization"). [MO1] does not name the optimizer here; Adam is used.

    memjax run mo1-nonlinear-depth                   # quick: ~15 s on a 2-core CPU
    memjax run mo1-nonlinear-depth --preset paper    # more test inputs and seeds

Measured (quick: 2 seeds, 64 Gaussian inputs; 11 s): Fig 4 reproduces — every output that
does not collapse has |cos| = 1.000 to the training image; 6% collapse to exactly 0 (LeakyReLU's
0.01 slope compounded over 29 layers underflows in float32 for inputs that start negative).
Fig 5 reproduces in kind: outputs align with one training image and not the other (median
|cos| 0.75 to the nearest, 0.006 to the other; each image wins about half the inputs), but
only 35% exceed |cos| 0.9: the rest of each output lies outside both training images.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, runs, spectral
from memjax.data import gaussian_images
from memjax.models import DeepConvStack
from memjax.train import TrainConfig, train_seeds

PAPER_FIGURE = "[MO1] Fig 4-5: deep LeakyReLU stacks map Gaussian noise to training images"


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.num_seeds = 2 if preset == "quick" else 8
    config.num_test_inputs = 64 if preset == "quick" else 1000
    config.match_threshold = 0.9  # |cos| above which an output "is" a training image
    config.fig4 = ml_collections.ConfigDict(
        dict(depth=29, kernel_init="constant:0.1", learning_rate=1e-4, max_steps=20000)
    )
    config.fig5 = ml_collections.ConfigDict(
        dict(depth=5, skip_every=2, kernel_init="xavier_uniform", learning_rate=1e-3,
             max_steps=20000)
    )  # fmt: skip
    config.loss_tol = 1e-6
    config.progress = True
    return config


def fig4_training_set() -> jax.Array:
    """One 4×4 image: a white 2×2 square in the upper-left corner."""
    return jnp.zeros((1, 1, 4, 4)).at[0, 0, :2, :2].set(1.0)


def fig5_training_set() -> jax.Array:
    """Two orthogonal 2×2 images: white upper-left pixel, white lower-right pixel."""
    return jnp.zeros((2, 1, 2, 2)).at[0, 0, 0, 0].set(1.0).at[1, 0, 1, 1].set(1.0)


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    key_seeds, key_tests = jax.random.split(jax.random.PRNGKey(config.seed))
    keys = jax.random.split(key_seeds, config.num_seeds)
    nets = {
        "fig4_29_layers": (config.fig4, fig4_training_set(), 0),
        "fig5_5_layers_skips": (config.fig5, fig5_training_set(), config.fig5.skip_every),
    }
    metrics = {}
    for name, (net, data, skip) in nets.items():
        tests = gaussian_images(jax.random.fold_in(key_tests, len(metrics)),
                                config.num_test_inputs, data.shape[1:])  # fmt: skip
        metrics[name] = _network(name, net, skip, data, tests, keys, config, workdir)
    _print(metrics)
    return metrics


def _network(name, net, skip, data, tests, keys, config, workdir):
    model = DeepConvStack(net.depth, activation="leaky_relu", kernel_init=net.kernel_init,
                          skip_every=skip)  # fmt: skip
    train_config = TrainConfig("adam", net.learning_rate, net.max_steps,
                               loss_tol=config.loss_tol, progress=config.progress)  # fmt: skip
    params, history = train_seeds(keys, model, data, train_config)
    runs.save_params(workdir / f"params_{name}.msgpack", params)
    outputs = jax.vmap(lambda p: jax.vmap(lambda x: model.apply(p, x))(tests))(params)
    per_seed = [_similarities(np.asarray(o), data, config.match_threshold) for o in outputs]
    _plot(name, data, tests, np.asarray(outputs[0]), per_seed[0], workdir)
    return {
        "final_loss_per_seed": history.final_loss,
        "steps_per_seed": history.steps,
        **{key: [s[key] for s in per_seed] for key in per_seed[0] if key != "index"},
    }


def _similarities(outputs, data, threshold):
    index, cos = spectral.nearest_example(outputs, data)
    live = index >= 0
    nearest = cos[live, index[live]]
    other = (cos[live].sum(axis=1) - nearest) / max(len(data) - 1, 1)
    return {
        "index": index,
        "share_matching_one_training_image": float(np.mean(nearest > threshold)) if live.any()
        else 0.0,
        "median_abs_cos_nearest": float(np.median(nearest)) if live.any() else None,
        "median_abs_cos_others": float(np.median(other)) if live.any() and len(data) > 1 else None,
        "share_collapsed_to_zero": float(np.mean(~live)),
        "nearest_counts": np.bincount(index[live], minlength=len(data)),
    }  # fmt: skip


def _plot(name, data, tests, outputs, first_seed, workdir):
    shown = min(8, len(tests))
    nearest = first_seed["index"][:shown]
    labels = [f"→ train {i}" if i >= 0 else "→ 0" for i in nearest]
    plotting.image_grid(
        [list(tests[:shown]), list(outputs[:shown]), list(data)],
        ["Gaussian inputs", "outputs (seed 0)", "training images"], workdir / f"{name}.png",
        col_labels=labels, title=f"{name}: outputs for Gaussian inputs",
    )  # fmt: skip


def _print(metrics):
    print(
        f"{'network':<22} {'loss (max)':>10} {'share |cos|>0.9':>15} {'cos nearest':>11} "
        f"{'cos others':>10} {'collapsed':>9}  nearest counts (seed 0)"
    )
    for name, m in metrics.items():

        def median(key, m=m):
            values = [v for v in m[key] if v is not None]
            return f"{np.median(values):.3f}" if values else "n/a"

        print(
            f"{name:<22} {np.max(m['final_loss_per_seed']):>10.1e} "
            f"{median('share_matching_one_training_image'):>15} "
            f"{median('median_abs_cos_nearest'):>11} {median('median_abs_cos_others'):>10} "
            f"{median('share_collapsed_to_zero'):>9}  {[int(c) for c in m['nearest_counts'][0]]}"
        )
