"""[MO1] Table 1: filters cannot replace depth in stride-1 linear conv autoencoders.

Two 3×3 Gaussian images; stacks of {3, 5, 8} convolutions (the paper's "2, 5, 8 layers": its
parameter counts show the 2-layer rows have 3 convolutions) with {1, 16, 128} filters, trained
by GD (lr 0.1) until the loss is below 1e-6. Memorization would be two eigenvalues 1 and the
rest ≈ 0; the paper's third eigenvalues are .98/.99/.99, .78/.72/.70, .14/.10/.08.

    memjax run mo1-table1                  # quick: 1 and 16 filters, 2 seeds, ~12 s on CPU
    memjax run mo1-table1 --preset paper   # adds 128 filters, 5 seeds, ~50 s

Measured: ``docs/findings/mo1.md#mo1-table1``. ``model.init_scale`` scales the default init
("initialized close to zero" is not specified further).
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from memjax import plotting, theory
from memjax.data import gaussian_images
from memjax.experiment import Experiment, Run, median, new_config, train_block
from memjax.models import ConvAutoencoder, stride1_stack_layers
from memjax.operator import seed_spectra

# (convolutions, filters): (paper's layer label, parameters, third eigenvalue) of [MO1] Table 1.
PAPER_TABLE_1 = {
    (3, 1): (2, 27, 0.98), (3, 16): (2, 2592, 0.99), (3, 128): (2, 149760, 0.99),
    (5, 1): (5, 45, 0.78), (5, 16): (5, 7200, 0.72), (5, 128): (5, 444672, 0.70),
    (8, 1): (8, 72, 0.14), (8, 16): (8, 14112, 0.10), (8, 128): (8, 887040, 0.08),
}  # fmt: skip
# The paper prints two digits of one trained net; our seeds spread by up to ~0.2 at 5-8 convs.
EIGENVALUE_TOL = 0.1


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        num_seeds=2 if quick else 5,
        data={"image_size": 3, "num_examples": 2},
        model={"convs": (3, 5, 8), "filters": (1, 16) if quick else (1, 16, 128),
               "kernel_init": "pytorch", "init_scale": 1.0},
        # the paper trains until the loss is below 1e-6
        train=train_block("gd", 0.1, max_steps=10000 if quick else 100000, loss_tol=1e-6,
                          nonfinite="stop", fit_loss=1e-6),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    size, n = config.data.image_size, config.data.num_examples
    data = gaussian_images(run.keys["data"], n, (1, size, size))
    keys = jax.random.split(run.keys["seeds"], config.num_seeds)
    rows = [_row(run, data, convs, filters, keys) for convs in config.model.convs
            for filters in config.model.filters]  # fmt: skip
    paper = [r["paper_parameters"] for r in rows]
    run.compare("parameters of each row (architecture reading)", [r["parameters"] for r in rows],
                None if None in paper else paper, tol=0)  # fmt: skip
    _plot(run, rows, n)
    run.table(rows, {"convs": "convs", "filters": "filters", "params": "parameters",
                     f"|λ{n + 1}| median": "abs_eigenvalue_k_plus_1_median",
                     "per fitted seed": "abs_eigenvalue_k_plus_1_per_seed",
                     "paper": "paper_eigenvalue_k_plus_1",
                     "fitted": lambda r: f"{r['fitted_seeds']}/{len(keys)}"},
              title=f"[MO1] Table 1: |λ{n + 1}| of the learned operator (median over fitted "
              "seeds)")  # fmt: skip
    return {"rows": rows, "data": data}


def _row(run, data, convs, filters, keys):
    model = ConvAutoencoder(stride1_stack_layers(convs, filters),
                            kernel_init=run.config.model.kernel_init,
                            init_scale=run.config.model.init_scale)  # fmt: skip
    name = f"convs{convs}_filters{filters}"
    params, _ = run.train(name, model, data, keys=keys)
    # Only seeds that fit have a meaningful operator: GD at lr 0.1 diverges for some 128-filter
    # inits, and an untrained net's spectrum says nothing about memorization.
    fitted = run.fits[name].mask
    spectra = seed_spectra(model.apply, data[0], params=params, mask=fitted)
    mags = np.array([s.magnitudes for s in spectra])
    k = len(data)
    values = mags[:, k] if len(mags) else mags
    seed_median = median(values)
    paper = PAPER_TABLE_1.get((convs, filters), (None, None, None))
    if paper[2] is not None:
        run.compare(f"|λ{k + 1}|, {convs} convs, {filters} filters", seed_median, paper[2],
                    tol=EIGENVALUE_TOL, fits=[name], require="any")  # fmt: skip
    return {
        "convs": convs, "filters": filters, "paper_layers": paper[0],
        "parameters": theory.conv_stack_parameters(convs, filters), "paper_parameters": paper[1],
        "abs_eigenvalue_k_plus_1_per_seed": values, "abs_eigenvalue_k_plus_1_median": seed_median,
        "paper_eigenvalue_k_plus_1": paper[2], "fitted_seeds": int(fitted.sum()),
        "abs_eigenvalues_per_seed": mags,
    }  # fmt: skip


def _plot(run, rows, k):
    by_filters = {f"filters={f}": [r for r in rows if r["filters"] == f]
                  for f in run.config.model.filters}  # fmt: skip
    plotting.sweep_plot(
        {f: {r["convs"]: r["abs_eigenvalue_k_plus_1_per_seed"] for r in mine}
         for f, mine in by_filters.items()},
        run.figure("third_eigenvalue"), "convolutions", f"|λ_{k + 1}| (0 = memorization)",
        paper={f: {r["convs"]: r["paper_eigenvalue_k_plus_1"] for r in mine}
               for f, mine in by_filters.items()},
        title=f"[MO1] Table 1: |λ_{k + 1}| of the learned operator (seeds that fit)",
    )  # fmt: skip
    spectra = {f"{r['convs']} convs, {r['filters']} filters": r["abs_eigenvalues_per_seed"][0]
               for r in rows if len(r["abs_eigenvalues_per_seed"])}  # fmt: skip
    if spectra:
        title = "|λ| of the learned operators (first fitted seed)"
        plotting.spectrum_plot(spectra, run.figure("spectra"), title=title)


EXPERIMENT = Experiment(name="mo1-table1", paper="MO1", get_config=get_config, science=science,
                        figure="[MO1] Table 1: 3x3 images, depth x filters, third eigenvalue",
                        keys=("data", "seeds"))  # fmt: skip
