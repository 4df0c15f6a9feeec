"""[MO2] Thm 3 (App C): a 2-layer ReLU autoencoder with a frozen random first layer, width → ∞.

``f(z) = W1 relu(W2 z)``, ``W2 ~ N(0, 1/d)`` frozen, ``W1`` the minimum-norm fit (where GD
from zero converges, ``memjax.models.two_layer``), in float64. At each training point the
Jacobian's eigenvalues are measured against the width ``k``.

    memjax run mo2-width-theorem                  # quick: k up to 10⁴, one seed, ~15 s on CPU
    memjax run mo2-width-theorem --preset paper   # k up to 5·10⁴, 3 seeds

What the theorem can and cannot say (``shared/claims/MO2.md``, MO2-T3): the net is bias-free
and positively homogeneous, so ``J(x_l) x_l = f(x_l) = x_l`` at every width — the top
eigenvalue is exactly 1, never "< 1" as Thm 3 states; and App C's orthogonality assumption (b)
fails for ReLU features (their normalised inner products tend to the arc-cosine kernel). What
does hold: for one example, ``J → x xᵀ/‖x‖²`` (a projection, trace 1) as ``k`` grows, and for
several examples every eigenvalue other than the radial 1 falls below 1 once ``k ≳ 10³``: the
examples attract along every direction except their own ray (along which ``c·x_l`` are fixed
points too).

Measured (quick, seed 0): ``‖J − xxᵀ/‖x‖²‖₂`` = 1.70, 0.67, 0.22 at k = 10², 10³, 10⁴ (claims
file, another seed: 2.45, 0.64, 0.20); ``|ρ − 1| < 1e-12`` everywhere; the largest non-radial
``|λ|`` for 3 points is printed per width (claims file: 0.86–0.93 for d = 20 uniform data,
0.69–0.76 for d = 200 Gaussian, k ≥ 10³).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import ml_collections
import numpy as np

from memjax import plotting
from memjax.experiment import Experiment, Run, summary
from memjax.models.two_layer import RandomFeatureAutoencoder, fit_readout
from memjax.operator import operator

# Claims file (MO2-T3), one seed: ‖J − xxᵀ/‖x‖²‖₂ for n = 1, d = 200, x ~ U(0, 1).
PAPER_DISTANCE = {100: 2.45, 1000: 0.64, 10000: 0.20, 50000: 0.08}
# Claims file: ranges of the largest non-radial |λ| for n = 3 at k ≥ 10³.
NON_RADIAL_RANGE = {"uniform_d20": (0.86, 0.93), "gaussian_d200": (0.69, 0.76)}


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.num_seeds = 1 if preset == "quick" else 3
    config.widths = (100, 1000, 10000) if preset == "quick" else (100, 1000, 10000, 50000)
    config.data = ml_collections.ConfigDict({"single_dim": 200, "multi_count": 3})
    return config


def science(run: Run) -> dict:
    config = run.config
    if config.num_seeds < 1 or min(config.widths) < config.data.multi_count:
        raise ValueError("num_seeds must be ≥ 1 and every width ≥ data.multi_count")
    seeds = jax.random.split(run.keys["seeds"], config.num_seeds)
    with jax.enable_x64(True):
        cases = {
            "single": lambda k: jax.random.uniform(k, (1, config.data.single_dim), jnp.float64),
            "uniform_d20": lambda k: jax.random.uniform(k, (config.data.multi_count, 20),
                                                        jnp.float64),
            "gaussian_d200": lambda k: jax.random.normal(k, (config.data.multi_count, 200),
                                                         jnp.float64),
        }  # fmt: skip
        rows = []
        for s, seed_key in enumerate(seeds):
            for c, (case, draw) in enumerate(cases.items()):
                k_data, k_net = jax.random.split(jax.random.fold_in(seed_key, c))
                data = draw(k_data)
                for width in config.widths:
                    rows.append({"seed": s, "case": case, "width": width,
                                 **_spectra(data, width, k_net)})  # fmt: skip
    results = _aggregate(run, rows, config.widths)
    _plot(run, rows, config.widths)
    run.table(
        [{k: r[k] for k in ("seed", "case", "width", "max |rho-1|", "non-radial |λ| max",
                            "distance to projection")} for r in rows],
        title="[MO2] Thm 3: Jacobian at the training points of W1 relu(W2 z)",
    )  # fmt: skip
    return {"rows": rows, **results}


def _spectra(data, width, key):
    """Top |λ|, largest non-radial |λ| and (n = 1) the distance to x xᵀ/‖x‖², per point."""
    model = RandomFeatureAutoencoder(width)
    params = fit_readout(model.init(key, data[0]), data)
    radius, non_radial, distance = [], [], None
    for x in data:
        jac = np.asarray(operator(model.apply, x, params=params), np.float64)
        values = np.linalg.eigvals(jac)
        radial = np.argmin(np.abs(values - 1))  # J x = x: the eigenvalue 1 of the ray
        radius.append(np.abs(values).max())
        non_radial.append(np.abs(np.delete(values, radial)).max())
        if len(data) == 1:
            v = np.asarray(x)
            distance = float(np.linalg.norm(jac - np.outer(v, v) / (v @ v), 2))
    fit_error = float(jnp.abs(jax.vmap(lambda z: model.apply(params, z))(data) - data).max())
    return {
        "fit_error": fit_error,
        "spectral_radius": radius,
        "max |rho-1|": float(np.max(np.abs(np.array(radius) - 1))),
        "non-radial |λ|": non_radial,
        "non-radial |λ| max": float(np.max(non_radial)),
        "distance to projection": distance,
    }


def _aggregate(run, rows, widths):
    worst_rho = max(r["max |rho-1|"] for r in rows)
    run.compare("max |ρ − 1| at the training points (homogeneity: exactly 1)", worst_rho, 0.0,
                tol=1e-8)  # fmt: skip
    # Rounded to 1e-8: the radial eigenvalue is 1 up to float64 round-off, on either side.
    smallest_top = round(min(min(r["spectral_radius"]) for r in rows), 8)
    run.compare("Thm 3 as stated: top |λ| < 1", smallest_top, 1.0, kind="below",
                note="unreachable: a bias-free ReLU net has J(x)x = x at a fitted x")  # fmt: skip
    single = {w: [r["distance to projection"] for r in rows
                  if r["case"] == "single" and r["width"] == w] for w in widths}  # fmt: skip
    for w in widths:
        if w in PAPER_DISTANCE:
            run.compare(f"‖J − xxᵀ/‖x‖²‖₂, n = 1, k = {w} (seed median)",
                        float(np.median(single[w])), PAPER_DISTANCE[w],
                        tol=max(0.5 * PAPER_DISTANCE[w], 0.05),
                        note="the claims file's numbers are one seed")  # fmt: skip
    medians = [float(np.median(single[w])) for w in widths]
    run.compare("distance to projection falls with k", float(np.all(np.diff(medians) < 0)), 1.0,
                tol=0)  # fmt: skip
    non_radial = {}
    for case, (low, high) in NON_RADIAL_RANGE.items():
        wide = [r["non-radial |λ| max"] for r in rows if r["case"] == case and r["width"] >= 1000]
        non_radial[case] = summary(wide)
        run.compare(f"largest non-radial |λ|, {case}, k ≥ 10³", max(wide), 1.0, kind="below",
                    note=f"claims-file seed: {low}–{high}")  # fmt: skip
    return {"distance_median_by_width": dict(zip(map(str, widths), medians, strict=True)),
            "non_radial_k_ge_1000": non_radial}  # fmt: skip


def _plot(run, rows, widths):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    single = [r for r in rows if r["case"] == "single"]
    left.loglog([r["width"] for r in single], [r["distance to projection"] for r in single], "o",
                label="ours (each seed)")  # fmt: skip
    paper_w = [w for w in PAPER_DISTANCE if w <= max(widths)]
    left.loglog(paper_w, [PAPER_DISTANCE[w] for w in paper_w], "kx", label="claims file")
    left.set(xlabel="hidden width k", ylabel="‖J(x) − xxᵀ/‖x‖²‖₂",
             title="n = 1, d = 200: J tends to the projection")  # fmt: skip
    left.legend()
    for case, marker in (("uniform_d20", "o"), ("gaussian_d200", "s")):
        sel = [r for r in rows if r["case"] == case]
        right.semilogx([r["width"] for r in sel], [r["non-radial |λ| max"] for r in sel], marker,
                       label=f"{case}: largest non-radial |λ|")  # fmt: skip
    right.semilogx([r["width"] for r in rows], [max(r["spectral_radius"]) for r in rows], "k_",
                   markersize=14, label="top |λ| (every case): 1")  # fmt: skip
    right.axhline(1.0, color="grey", lw=0.5)
    right.set(xlabel="hidden width k", ylabel="|λ|", title="n = 3: all but the radial |λ| < 1")
    right.legend(fontsize=8)
    plotting.save(fig, run.figure("width_theorem"))


EXPERIMENT = Experiment(
    name="mo2-width-theorem",
    paper="MO2",
    figure="[MO2] Thm 3 / App C: frozen random ReLU features, Jacobian at the examples vs width",
    get_config=get_config,
    science=science,
    keys=("seeds",),
)
