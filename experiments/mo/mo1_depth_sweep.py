"""Where memorization appears with depth: |λ_{n+1}| of single-filter stacks against depth.

Ties [MO1] Tables 1 and 2 together: for fixed image size s and n training images, a stack of
``depth`` single-filter 3×3 convolutions (``DeepConvStack``) is trained to loss < 1e-6 from a
random init near a constant (``uniform:0.1:0.3``, so seeds differ), vmapped over seeds, and the
(n+1)-th eigenvalue magnitude of its operator is plotted against depth next to the two depths
of the theory: ``s − 1`` (the first depth without forced zeros, Thm 4) and ``⌈s⁴/9⌉`` (the
heuristic depth of §3.2).

    memjax run mo1-depth-sweep                  # quick: 3×3, 1 image, 4 seeds, ~15 s on CPU
    memjax run mo1-depth-sweep --preset paper   # 8 seeds, depths up to 16

Measured (quick, median over 4 seeds, 3×3 image; 15 s): |λ2| ≈ 1 at depths 2–3 (depth 1 does
not reach the loss tolerance: a single conv stays near the identity), 0.85 at 5, 0.028 at 7,
0.011 at 9 (the heuristic depth; Table 2's bound is < 1e-2) and 0.0017 at 12. Losing the
forced zeros (depth ≥ 2) is far from enough: memorization sets in gradually with depth and
reaches Table 2's level near ⌈s⁴/9⌉.
"""

from __future__ import annotations

from pathlib import Path

import jax
import ml_collections
import numpy as np

from memjax import plotting, runs, spectral, theory
from memjax.models import DeepConvStack
from memjax.operator import model_operator
from memjax.train import TrainConfig, train_seeds

PAPER_FIGURE = "[MO1] Tables 1-2 tied together: |lambda_{n+1}| against depth, vmapped seeds"


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.num_seeds = 4 if preset == "quick" else 8
    config.image_size = 3
    config.num_examples = 1
    config.depths = (1, 2, 3, 5, 7, 9, 12) if preset == "quick" else tuple(range(1, 17))
    config.kernel_init = "uniform:0.1:0.3"
    config.train = runs.as_config(
        TrainConfig("gd", 0.02, max_steps=30000 if preset == "quick" else 100000, loss_tol=1e-6,
                    nonfinite="stop")
    )  # fmt: skip
    return config


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    key_data, key_seeds = jax.random.split(jax.random.PRNGKey(config.seed))
    size, n = config.image_size, config.num_examples
    data = jax.random.normal(key_data, (n, 1, size, size))
    keys = jax.random.split(key_seeds, config.num_seeds)
    rows = [_depth(depth, data, keys, config) for depth in config.depths]
    metrics = {
        "image_size": size,
        "num_examples": n,
        "first_depth_without_forced_zeros": theory.min_depth_without_forced_zeros(size),
        "heuristic_depth": theory.heuristic_depth(size),
        "depths": rows,
    }
    _plot(metrics, Path(workdir) / "depth_sweep.png")
    _print(metrics)
    return metrics


def _depth(depth, data, keys, config):
    model = DeepConvStack(depth, kernel_init=config.kernel_init)
    params, history = train_seeds(keys, model, data, TrainConfig(**config.train.to_dict()))
    ops = np.asarray(model_operator(model, params, data[0], seeds=True))
    fitted = np.array(history.stop_reason) == "loss_tol"
    n = len(data)
    values = np.array([spectral.eigenspectrum(a).magnitudes[n] for a in ops[fitted]])
    return {
        "depth": depth,
        "fitted_seeds": int(fitted.sum()),
        "stop_reasons": history.stop_reason,
        "abs_eigenvalue_n_plus_1_per_fitted_seed": values,
        "abs_eigenvalue_n_plus_1_median": float(np.median(values)) if values.size else None,
    }


def _plot(metrics, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    rows = [r for r in metrics["depths"] if r["fitted_seeds"]]
    for r in rows:
        values = r["abs_eigenvalue_n_plus_1_per_fitted_seed"]
        ax.scatter([r["depth"]] * len(values), values, color="C0", s=10, alpha=0.5)
    ax.plot([r["depth"] for r in rows], [r["abs_eigenvalue_n_plus_1_median"] for r in rows],
            color="C0", marker="o", label="median over seeds that fit")  # fmt: skip
    ax.axvline(metrics["first_depth_without_forced_zeros"], color="C1", ls="--",
               label="s − 1: no forced zeros (Thm 4)")  # fmt: skip
    ax.axvline(metrics["heuristic_depth"], color="C2", ls="--", label="⌈s⁴/9⌉ (§3.2)")
    ax.set_yscale("log")
    ax.set_xlabel("depth (single-filter 3×3 convolutions)")
    n, s = metrics["num_examples"], metrics["image_size"]
    ax.set_ylabel(f"|λ_{n + 1}| (0 = memorization)")
    ax.set_title(f"{s}×{s} images, {n} training example(s)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    plotting.save(fig, path)


def _print(metrics):
    n = metrics["num_examples"]
    print(
        f"{metrics['image_size']}×{metrics['image_size']}, {n} example(s); no forced zeros "
        f"from depth {metrics['first_depth_without_forced_zeros']}, heuristic depth "
        f"{metrics['heuristic_depth']}"
    )
    print(f"{'depth':>5} {'fit':>5} {f'|λ{n + 1}| median':>13}  per seed")
    for r in metrics["depths"]:
        values = ", ".join(f"{v:.1e}" for v in r["abs_eigenvalue_n_plus_1_per_fitted_seed"])
        median = r["abs_eigenvalue_n_plus_1_median"]
        print(
            f"{r['depth']:>5} {r['fitted_seeds']:>5} "
            f"{'n/a' if median is None else f'{median:.2e}':>13}  {values}"
        )
