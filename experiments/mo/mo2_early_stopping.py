"""[MO2] Fig 6 in the language of attractors: memorization is present early in training.

[MO2] Fig 6 ([MO1] Fig 7, reproduced for the conv net D1 by ``mo1-d1``) shows that partially
trained autoencoders already send new inputs to their *current* rendering of the training
examples. Here the same question is asked of the dynamics of an FC autoencoder on MNIST: at
training snapshots ``t``, each training digit ``x_i`` is iterated through ``f_t`` to its limit
``z_i`` (the current rendering, a noisy ``x_i`` early on), and held-out digits are iterated
too. Are the ``z_i`` attractors (spectral radius < 1), and do held-out digits end on them?

    memjax run mo2-early-stopping                  # quick: snapshots 100, 300, 1000 steps
    memjax run mo2-early-stopping --preset paper   # adds 3000, T = 1000

Setup as ``mo2-mnist`` (a): 10 digits (one per class), FC 784-512-512-512-784 with biases,
Adam 1e-4; 100 held-out digits as starts. The paper's Fig 6 is a picture of conv outputs;
the bound compared (≥ 80% of starts on some ``z_i`` at every snapshot) is the claims file's
share for the nonlinear case (MO2-F6).

Measured (quick): at step 100 (loss 6.7e-3) the ten digits iterate to blurred blends far
from themselves (median ‖z_i − x_i‖/‖x_i‖ 0.48) that merge into a few distinct attractors,
and 97% of held-out digits end on one of them; by step 300 (loss 3e-9) each digit is its own
attractor (distance 2e-4, ρ ≤ 0.987) and 100% of held-out digits end on one; at step 1000
the same (99% on a training digit itself). So the attractors are there from early in
training, first as blends, as [MO2] Fig 6 shows for conv nets. One step-100 rendering had
ρ = 1.02 (it had not settled within T = 300: 2 of 10 renderings met the stop rule).
"""

from __future__ import annotations

import jax.numpy as jnp
import matplotlib.pyplot as plt
import ml_collections
import numpy as np

from memjax import dynamics, plotting, runs
from memjax.data import load_sample
from memjax.experiment import Experiment, Run
from memjax.models import MLPAutoencoder
from memjax.train import TrainConfig, mse


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.data = ml_collections.ConfigDict({"per_class": 1, "num_heldout": 100})
    config.model = ml_collections.ConfigDict({"hidden": (512, 512, 512)})
    config.snapshots = (100, 300, 1000) if quick else (30, 100, 300, 1000, 3000)
    config.num_steps = 300 if quick else 1000
    config.tol = 1e-2 if quick else 1e-3
    config.krylov_dim = 32
    config.train = runs.as_config(TrainConfig("adam", 1e-4, max_steps=max(config.snapshots)))
    # Early snapshots are meant to be unfitted; the fit is judged at the last one.
    config.train.fit_loss = 1e-4
    return config


def science(run: Run) -> dict:
    config = run.config
    images, labels = load_sample("mnist")
    x = images.astype(np.float32) / 255.0
    half = len(x) // 2
    chosen = [
        i for k in range(10) for i in np.flatnonzero(labels[:half] == k)[: config.data.per_class]
    ]
    train = jnp.asarray(x[np.sort(chosen)])
    heldout = jnp.asarray(x[half : half + config.data.num_heldout])
    model = MLPAutoencoder(hidden=tuple(config.model.hidden))
    _, history = run.train(
        "fc", model, train, key=run.keys["init"], snapshot_steps=tuple(config.snapshots)
    )
    rows, renders = [], []
    for step in config.snapshots:
        rows.append(_snapshot(run, model, history.snapshots[step], step, train, heldout, renders))
    captured = [r["captured"] for r in rows]
    run.compare(
        "share of held-out starts ending on a current rendering z_i, every snapshot",
        min(captured),
        0.8,
        kind="above",
        fits=["fc"],
        note=f"per snapshot {np.round(captured, 3).tolist()}; claims file ≥ 80%",
    )
    run.compare(
        "rendering z_i attract (max ρ over snapshots)",
        max(r["radius_max"] for r in rows),
        1.0,
        kind="below",
        fits=["fc"],
    )
    run.table(rows, title="[MO2] Fig 6: attractors at training snapshots (FC on 10 digits)")
    _plot(run, train, renders, rows)
    return {"snapshots": rows}


def _snapshot(run, model, params, step, train, heldout, renders):
    config = run.config
    to_render = dynamics.iterate(model.apply, train, config.num_steps, params=params)
    render = jnp.asarray(to_render.final)
    renders.append(np.asarray(render))
    points = dynamics.fixed_points(
        model.apply, render, params=params, tol=config.tol, krylov_dim=config.krylov_dim
    )
    orbit = dynamics.iterate(model.apply, heldout, config.num_steps, params=params)
    on_render = dynamics.classify(model.apply, orbit, render, params=params, tol=config.tol)
    on_digit = dynamics.classify(model.apply, orbit, train, params=params, tol=config.tol)
    _, render_distance = dynamics.nearest_training(render, train)
    # Early renderings merge: count the distinct ones (each farther than τ from all before).
    distinct = sum(
        i == 0 or dynamics.nearest_training(render[i : i + 1], render[:i])[1][0] > config.tol
        for i in range(len(render))
    )
    return {
        "step": step,
        "loss": float(mse(model.apply, params, train)),
        "render_distance_median": float(np.median(render_distance)),
        "renders_fixed": int(np.sum(to_render.converged)),
        "distinct_renders": int(distinct),
        "radius_median": float(np.median(points.radius)),
        "radius_max": float(points.radius.max()),
        "captured": dynamics.limit_summary(on_render, len(train))["captured"],
        "reached": dynamics.limit_summary(on_render, len(train))["reached"],
        "captured_by_x_i": dynamics.limit_summary(on_digit, len(train))["captured"],
    }


def _plot(run, train, renders, rows):
    grid = [list(np.asarray(train))] + [list(r) for r in renders]
    labels = ["training digits"] + [f"z_i at step {r['step']}" for r in rows]
    plotting.image_grid(
        grid,
        labels,
        run.figure("renderings"),
        title="[MO2] Fig 6: the attractor each training digit iterates to, by training step",
    )
    fig, ax = plt.subplots(figsize=(5, 3.5))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["captured"] for r in rows], "o-", label="starts on some z_i")
    ax.plot(steps, [r["captured_by_x_i"] for r in rows], "s--", label="starts on some x_i")
    ax.plot(
        steps, [r["render_distance_median"] for r in rows], "^:", label="median ‖z_i − x_i‖/‖x_i‖"
    )
    ax.set(
        xscale="log",
        xlabel="training step",
        ylim=(-0.02, 1.02),
        title="held-out digits end on the current renderings",
    )
    ax.legend(fontsize=8)
    plotting.save(fig, run.figure("capture_vs_step"))


EXPERIMENT = Experiment(
    name="mo2-early-stopping",
    paper="MO2",
    figure="[MO2] Fig 6 (FC analogue): attractors at the current rendering early in training",
    get_config=get_config,
    science=science,
    keys=("init",),
)
