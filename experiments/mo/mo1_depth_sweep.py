"""Where memorization appears with depth: |λ_{n+1}| of single-filter stacks against depth.

Ties [MO1] Tables 1 and 2 together: for fixed image size s and n training images, a stack of
``depth`` single-filter 3×3 convolutions (``DeepConvStack``) is trained to loss < 1e-6 from a
random init near a constant (``uniform:0.1:0.3``, so seeds differ), vmapped over seeds, and the
(n+1)-th eigenvalue magnitude of its operator is plotted against depth next to the two depths
of the theory: ``s − 1`` (the first depth without forced zeros, Thm 4) and ``⌈s⁴/9⌉`` (the
heuristic depth of §3.2), where Table 2's bound (< 1e-2 for 3×3) is the paper's number.

    memjax run mo1-depth-sweep                  # quick: 3×3, 1 image, 4 seeds, ~15 s on CPU
    memjax run mo1-depth-sweep --preset paper   # 8 seeds, depths up to 16

Measured: ``docs/findings/mo1.md#mo1-depth-sweep``.
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from memjax import plotting, theory
from memjax.data import gaussian_images
from memjax.experiment import Experiment, Run, median, new_config, train_block
from memjax.models import DeepConvStack
from memjax.operator import seed_spectra

TABLE_2_BOUND = {3: 1e-2}  # [MO1] Table 2: |λ| beyond one s×s image at depth ⌈s⁴/9⌉, by s


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        data={"image_size": 3, "num_examples": 1},
        num_seeds=4 if quick else 8,
        model={"depths": (1, 2, 3, 5, 7, 9, 12) if quick else tuple(range(1, 17)),
               "kernel_init": "uniform:0.1:0.3"},
        # as [MO1] Tables 1-2: trained until the loss is below 1e-6
        train=train_block("gd", 0.02, max_steps=30000 if quick else 100000, loss_tol=1e-6,
                          nonfinite="stop", fit_loss=1e-6),
    )  # fmt: skip


def science(run: Run) -> dict:
    size, n = run.config.data.image_size, run.config.data.num_examples
    first, heuristic = theory.min_depth_without_forced_zeros(size), theory.heuristic_depth(size)
    data = gaussian_images(run.keys["data"], n, (1, size, size))
    keys = jax.random.split(run.keys["seeds"], run.config.num_seeds)
    rows = [_depth(run, depth, data, keys) for depth in run.config.model.depths]
    if heuristic in run.config.model.depths and n == 1 and size in TABLE_2_BOUND:
        median = next(r for r in rows if r["depth"] == heuristic)["abs_eigenvalue_n_plus_1_median"]
        run.compare(f"|λ2| at the heuristic depth {heuristic} (median)", median,
                    TABLE_2_BOUND[size], kind="below", fits=[f"depth{heuristic}"],
                    require="any")  # fmt: skip
    plotting.sweep_plot(
        {"fitted seeds": {r["depth"]: r["abs_eigenvalue_n_plus_1_per_fitted_seed"] for r in rows}},
        run.figure("depth_sweep"), "depth (single-filter 3×3 convolutions)",
        f"|λ_{n + 1}| (0 = memorization)", title=f"{size}×{size} images, {n} training example(s)",
        vlines={"s − 1: no forced zeros (Thm 4)": first, "⌈s⁴/9⌉ (§3.2)": heuristic}, log=True,
    )  # fmt: skip
    run.table(rows, {"depth": "depth", "fitted": lambda r: f"{r['fitted_seeds']}/{len(keys)}",
                     f"|λ{n + 1}| median": "abs_eigenvalue_n_plus_1_median",
                     "per fitted seed": "abs_eigenvalue_n_plus_1_per_fitted_seed"},
              title=f"{size}×{size}, {n} example(s); no forced zeros from depth {first}, "
              f"heuristic depth {heuristic}")  # fmt: skip
    return {"image_size": size, "num_examples": n, "first_depth_without_forced_zeros": first,
            "heuristic_depth": heuristic, "depths": rows}  # fmt: skip


def _depth(run, depth, data, keys):
    model = DeepConvStack(depth, kernel_init=run.config.model.kernel_init)
    name = f"depth{depth}"
    params, _ = run.train(name, model, data, keys=keys)
    fitted = run.fits[name].mask  # the runner's fits hold each seed's loss and stop reason
    spectra = seed_spectra(model.apply, data[0], params=params, mask=fitted)
    values = np.array([s.magnitudes[len(data)] for s in spectra])
    return {
        "depth": depth, "fitted_seeds": int(fitted.sum()),
        "abs_eigenvalue_n_plus_1_per_fitted_seed": values,
        "abs_eigenvalue_n_plus_1_median": median(values),
    }  # fmt: skip


EXPERIMENT = Experiment(name="mo1-depth-sweep", paper="MO1", get_config=get_config,
                        science=science, keys=("data", "seeds"),
                        figure="[MO1] Tables 1-2 tied together: |lambda_{n+1}| against depth, "
                        "vmapped seeds")  # fmt: skip
