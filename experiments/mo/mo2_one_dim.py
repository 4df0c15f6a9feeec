"""[MO2] Fig 1: 1-D autoencoders fitted to two points; learned maps, slopes, cobwebs.

A ReLU MLP R → R with biases, ``1 → w → w → w → 1`` (PyTorch-default kernels scaled by
``small_init`` or ``large_init``, zero biases), fitted to the points {−1, 1} by full-batch
Adam, 8 seeds vmapped. At each point [MO2] Thm 2's test is the slope: ``|f′(x_i)| < 1``
attracts. Starts on [−1.5, 1.5] are iterated (``memjax.dynamics``) and counted when they end
on one of the two points.

    memjax run mo2-one-dim                  # quick: widths 16, 64, 256, 8 seeds, 37 s CPU
    memjax run mo2-one-dim --preset paper   # widths 16 … 1024, 1000 starts, T = 10⁴

Measured (quick, 8 seeds; claims-file criteria in brackets): small init, w = 256, max |f′(x_i)|
< 1 on 8/8 seeds (≥ 7/8) and 100% of starts end on a point (≥ 80%); large init, w = 256: mean
max slope 2.08 vs 0.70, ≥ 1 on 7/8 seeds (≥ 2/8). Not reproduced: "bigger nets contract
faster" — the mean max slope *rises* with width, 0.49 / 0.54 / 0.70 at w = 16 / 64 / 256
(fitted seeds; at w = 16 one of 8 died at a constant), and the median number of iterations to
converge rises with it (15, 18, 30). With PyTorch's default × 0.1 the nets stay closer to
the identity between and around the points as they widen (the slope-1 line is the
zero-contraction limit), which is the opposite of [MO2]'s picture.

The paper gives the picture only: large init interpolates without contracting, small init
stays near the identity with slope < 1 at both points, iterating sends almost every start to
one of the points, bigger nets contract faster. Points, net, init scales (× 0.1 and × 10 of
PyTorch's default), optimizer and iteration count are the claims file's choices (MO2-F1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import ml_collections
import numpy as np

from memjax import dynamics, plotting, runs
from memjax.experiment import Experiment, Run
from memjax.models import MLPAutoencoder
from memjax.train import TrainConfig

POINTS = (-1.0, 1.0)


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.num_seeds = 8
    config.model = ml_collections.ConfigDict({
        "widths": (16, 64, 256) if quick else (16, 64, 256, 1024),
        "depth": 3,
        "small_init": 0.1,
        "large_init": 10.0,
        "large_init_width": 256,  # the width at which small and large init are compared
    })  # fmt: skip
    config.data = ml_collections.ConfigDict(
        {"num_starts": 200 if quick else 1000, "start_range": 1.5}
    )
    config.num_steps = 2000 if quick else 10000
    config.tol = 1e-2 if quick else 1e-3
    config.train = runs.as_config(TrainConfig("adam", 1e-3, max_steps=5000, loss_tol=1e-8))
    config.train.fit_loss = 1e-8
    return config


def science(run: Run) -> dict:
    config = run.config
    if config.model.large_init_width not in config.model.widths:
        raise ValueError("model.large_init_width must be one of model.widths")
    data = jnp.asarray(POINTS)[:, None]
    r = config.data.start_range
    starts = jnp.linspace(-r, r, config.data.num_starts)[:, None]
    seed_keys = jax.random.split(run.keys["init"], config.num_seeds)
    runs_ = [_fit(run, data, starts, w, config.model.small_init, seed_keys, "small")
             for w in config.model.widths]  # fmt: skip
    large = _fit(run, data, starts, config.model.large_init_width, config.model.large_init,
                 seed_keys, "large")  # fmt: skip
    _compare(run, runs_, large)
    _plot(run, data, runs_, large)
    run.table(
        [{"init": x["init"], "width": x["width"], "max slope mean": x["max_slope_mean"],
          "seeds slope < 1": x["seeds_contracting"], "converged": x["converged_mean"],
          "median iterations": x["iterations_median"]} for x in [*runs_, large]],
        title="[MO2] Fig 1: two points {−1, 1}, slopes and iteration (fitted seeds)",
    )  # fmt: skip
    for x in [*runs_, large]:
        x.pop("plot")
    return {"small_init": runs_, "large_init": large}


def _scaled_init(model, keys, data, scale):
    params = jax.vmap(lambda k: model.init(k, data[0]))(keys)
    return jax.tree_util.tree_map_with_path(
        lambda path, a: a * scale if path[-1].key == "kernel" else a, params
    )


def _fit(run, data, starts, width, scale, seed_keys, init):
    config = run.config
    model = MLPAutoencoder(hidden=(width,) * config.model.depth)
    name = f"{init}_init_w{width}"
    init_params = _scaled_init(model, seed_keys, data, scale)
    params, history = run.train(name, model, data, keys=seed_keys, init_params=init_params)
    slopes, converged, iterations, plot = [], [], [], None
    for s in range(len(seed_keys)):
        p = jax.tree.map(lambda a, s=s: a[s], params)
        points = dynamics.fixed_points(model.apply, data, params=p, tol=config.tol)
        orbit = dynamics.iterate(model.apply, starts, config.num_steps, params=p,
                                 record_steps=range(min(9, config.num_steps + 1)))  # fmt: skip
        limits = dynamics.classify(model.apply, orbit, data, params=p, tol=config.tol)
        slopes.append(points.radius)
        on_point = np.asarray(limits.label) >= 0
        converged.append(float(on_point.mean()))
        iterations.append(float(np.median(orbit.steps[on_point])) if on_point.any() else np.nan)
        if s == 0:
            grid = jnp.linspace(-2, 2, 401)[:, None]
            curve = np.asarray(jax.vmap(lambda z, p=p: model.apply(p, z))(grid))[:, 0]
            plot = (np.asarray(grid)[:, 0], curve, orbit.snapshots[:, :, 0], limits.label)
    max_slope = np.max(np.array(slopes), axis=1)
    # Seed statistics over the seeds that fitted (a dead ReLU net is a constant, slope 0).
    fitted = np.atleast_1d(history.final_loss) <= config.train.fit_loss
    max_slope = np.where(fitted, max_slope, np.nan)
    converged = np.where(fitted, converged, np.nan)
    return {
        "init": init,
        "width": width,
        "fit": name,
        "final_loss": np.atleast_1d(history.final_loss).tolist(),
        "slopes": np.array(slopes),
        "max_slope_per_seed": max_slope,
        "fitted_seeds": int(fitted.sum()),
        "max_slope_mean": float(np.nanmean(max_slope)),
        "seeds_contracting": int(np.sum(max_slope < 1)),
        "seeds_not_contracting": int(np.sum(max_slope >= 1)),
        "converged_per_seed": converged,
        "converged_mean": float(np.nanmean(converged)),
        "iterations_median": (
            float(np.nanmedian(iterations)) if np.isfinite(iterations).any() else float("nan")
        ),
        "plot": plot,
    }


def _compare(run, small, large):
    n = run.config.num_seeds
    ref = next(x for x in small if x["width"] == large["width"])
    run.compare(f"seeds with max |f′(x_i)| < 1, small init, w = {ref['width']}",
                ref["seeds_contracting"], 0.85 * n, kind="above", fits=[ref["fit"]],
                note="claims file: ≥ 7/8; paper: slope < 1 at both points")  # fmt: skip
    run.compare(f"share of starts converging to a point, small init, w = {ref['width']}",
                ref["converged_mean"], 0.8, kind="above", fits=[ref["fit"]],
                note="paper: almost all starts")  # fmt: skip
    run.compare("large init: larger seed-mean max slope than small init",
                large["max_slope_mean"] - ref["max_slope_mean"], 0.0, kind="above",
                fits=[ref["fit"], large["fit"]])  # fmt: skip
    run.compare("large init: seeds with max slope ≥ 1", large["seeds_not_contracting"],
                0.25 * n - 0.5, kind="above", fits=[large["fit"]],
                note="claims file: ≥ 2/8; paper: large init is not contractive")  # fmt: skip
    run.compare(f"mean max slope lower at w = {small[-1]['width']} than w = {small[0]['width']}",
                small[0]["max_slope_mean"] - small[-1]["max_slope_mean"], 0.0, kind="above",
                fits=[small[0]["fit"], small[-1]["fit"]], require="any",
                note="paper: bigger nets contract faster")  # fmt: skip


def _plot(run, data, small, large):
    fig, axes = plt.subplots(2, 2, figsize=(10, 9))
    ref = next(x for x in small if x["width"] == large["width"])
    for ax, x in ((axes[0, 0], large), (axes[0, 1], ref)):
        grid, curve, _, _ = x["plot"]
        ax.plot(grid, grid, "k--", lw=0.8, label="identity")
        ax.plot(grid, curve, lw=1.5, label=f"f, {x['init']} init, w = {x['width']}")
        ax.scatter(np.asarray(data)[:, 0], np.asarray(data)[:, 0], c="red", zorder=3,
                   label="training points")  # fmt: skip
        slopes = ", ".join(f"{v:.2f}" for v in x["slopes"][0])
        ax.set(xlim=(-2, 2), ylim=(-2.5, 2.5), xlabel="x", ylabel="f(x)",
               title=f"{x['init']} init (seed 0): |f′| at ±1 = {slopes}")  # fmt: skip
        ax.legend(fontsize=8)
    grid, curve, snapshots, _ = ref["plot"]
    cob = axes[1, 0]
    cob.plot(grid, grid, "k--", lw=0.8)
    cob.plot(grid, curve, lw=1.2)
    for k in range(0, snapshots.shape[1], max(1, snapshots.shape[1] // 12)):
        xs = snapshots[:, k]  # (x_t, x_t) → (x_t, x_{t+1}) → (x_{t+1}, x_{t+1}) → …
        path_x, path_y = np.repeat(xs[:-1], 2), np.repeat(xs[:-1], 2)
        path_y[1::2] = xs[1:]
        cob.plot(path_x, path_y, lw=0.7, alpha=0.8)
    cob.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), xlabel="x_t", ylabel="x_{t+1}",
            title=f"cobwebs, small init, w = {ref['width']} (8 iterations)")  # fmt: skip
    rate = axes[1, 1]
    for x in small:
        rate.plot(np.arange(len(x["max_slope_per_seed"])), x["max_slope_per_seed"], "o-",
                  label=f"w = {x['width']}")  # fmt: skip
    rate.plot(np.arange(len(large["max_slope_per_seed"])), large["max_slope_per_seed"], "kx--",
              label=f"large init, w = {large['width']}")  # fmt: skip
    rate.axhline(1.0, color="grey", lw=0.8)
    rate.set(yscale="log", xlabel="seed", ylabel="max_i |f′(x_i)|",
             title="slope at the points: < 1 attracts (smaller = faster)")  # fmt: skip
    rate.legend(fontsize=8)
    plotting.save(fig, run.figure("one_dim"))


EXPERIMENT = Experiment(
    name="mo2-one-dim",
    paper="MO2",
    figure="[MO2] Fig 1: 1-D autoencoders on two points, small vs large init, cobwebs",
    get_config=get_config,
    science=science,
    keys=("init",),
)
