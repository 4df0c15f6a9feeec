"""Network DS on 1×2×2 images: identity init vs point map, and App C's rank = dim span.

Reproduces [DS] Fig 4 (identity initialization keeps the identity; PyTorch's default
initialization learns the point map) and App C (trained on k basis images, or on 4 images
spanning 3 dimensions, the operator has rank dim span(X), eigenvalues ≈ 1 on the span and
≈ 0 off it), over several seeds vmapped in one program.

    memjax run network-ds                   # quick: 8 seeds, ~20 s on a 2-core CPU
    memjax run network-ds --preset paper    # 32 seeds, ~21 s

[DS] §3 says Xavier init gives the point map too and Kaiming does not (for linear nets);
``initializations.png`` compares the four. Measured: ``docs/findings/ds.md#network-ds``.

[DS] does not name the optimizer of Fig 4 / App C (§5 uses Adam 1e-4 for the CIFAR nets).
Both presets use Adam 1e-3, which fits every set in 2000 steps (Adam 1e-4 does not). Training
runs in float64 so ranks near the threshold are not decided by float32 round-off.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, spectral
from memjax.data import app_c_training_sets, gaussian_images, white_squares
from memjax.experiment import Experiment, Run, new_config, summary, train_block
from memjax.models import network_ds, network_ds_identity_params
from memjax.operator import operator, seed_spectra
from memjax.probes import apply_batch
from memjax.train import run_params

IMAGE_SHAPE = (1, 2, 2)

# [DS] App C: eigenvalues after training on each set (rank = number equal to 1).
PAPER_APP_C = {
    "basis_1": {"rank": 1, "eigenvalues": [1, -7.2e-4 + 3e-3j, -7.22e-4 - 3e-3j, -1e-2]},
    "basis_2": {"rank": 2, "eigenvalues": [1, 1, 9.1e-4, -6.3e-3]},
    "basis_3": {"rank": 3, "eigenvalues": [1, 1, 1, 1e-3]},
    "basis_4": {"rank": 4, "eigenvalues": [1, 1, 1, 1]},
    "dependent_4": {"rank": 3, "eigenvalues": [1, 1, 1, -5e-3]},
}
POINT_MAP_BOUND = 0.1  # second |λ| below this: the map sends every input onto one image


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    return new_config(
        num_seeds=8 if preset == "quick" else 32,
        float64=True,
        rank_threshold=0.5,  # |λ| above this counts towards the rank
        model={"kernel_init": "pytorch",
               # [DS] §3: Xavier also gives the point map; Kaiming, meant for ReLU nets, does not.
               "compare_inits": ("xavier_uniform", "xavier_normal", "kaiming_uniform",
                                 "kaiming_normal")},
        data={"num_test_inputs": 6},
        train=train_block("adam", 1e-3, max_steps=2000, loss_tol=1e-12, fit_loss=1e-10),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    if config.num_seeds < 1:
        raise ValueError(f"num_seeds must be positive, got {config.num_seeds}")
    with jax.enable_x64(config.float64):
        dtype = jnp.float64 if config.float64 else jnp.float32
        train_image = jax.random.uniform(run.keys["image"], (1, *IMAGE_SHAPE), dtype)
        tests = _test_inputs(run.keys["tests"], config.data.num_test_inputs, dtype)
        seed_keys = jax.random.split(run.keys["seeds"], config.num_seeds)

        identity = _identity_check(run, train_image, tests)
        point_map = _point_map_check(run, config.model.kernel_init, train_image, tests, seed_keys)
        other_inits = [
            _point_map_check(run, init, train_image, tests, seed_keys)
            for init in config.model.compare_inits
        ]
        for result in other_inits:
            result.pop("outputs")
        sets = [
            _app_c_set(run, name, data.astype(dtype), seed_keys)
            for name, data in app_c_training_sets().items()
        ]
    _plot_outputs(run, train_image, tests, identity.pop("outputs"), point_map.pop("outputs"))
    _plot_spectra(run, point_map, sets)
    inits = [point_map, *other_inits]
    plotting.strip_plot(
        {r["kernel_init"]: r["second_abs_eigenvalue_per_seed"] for r in inits},
        run.figure("initializations"), ylabel="second |λ| (0 = point map)",
        title="Network DS on one image: second eigenvalue per seed by initialization",
    )  # fmt: skip
    run.table(inits, {
        "init": "kernel_init", "second |λ| median": "second_abs_eigenvalue.median",
        "max": "second_abs_eigenvalue.max", "fitted": ("fitted_seeds", "num_seeds"),
        "fitted, < 0.1": ("seeds_with_second_abs_eigenvalue_below_0.1", "num_seeds"),
        "|cos(out, image)| gaussian": "abs_cos_output_vs_training_image.gaussian.median",
    }, title="point map on one image, by initialization (median over seeds)")  # fmt: skip
    run.table(sets, {
        "training set": "name", "dim": "dim_span", "rank": "rank", "paper": "paper_rank",
        "fitted": ("fitted_seeds", "num_seeds"),
        "fitted, rank ok": ("seeds_with_rank_equal_dim_span", "num_seeds"),
        "max|1-λ| span": "max_abs_one_minus_eigenvalue_on_span",
        "max|λ| off": "max_abs_eigenvalue_off_span", "max loss": "final_loss_max",
    }, title="[DS] App C: rank (median seed, |λ| > rank_threshold) vs dim span")  # fmt: skip
    return {"identity_init": identity, "point_map": point_map,
            "point_map_other_inits": other_inits, "training_sets": sets}  # fmt: skip


def _test_inputs(key, n, dtype):
    k_gauss, k_square = jax.random.split(key)
    return {
        "gaussian": gaussian_images(k_gauss, n, IMAGE_SHAPE, dtype),
        "squares": white_squares(k_square, n, IMAGE_SHAPE, 1, 2, dtype),
    }


def _identity_check(run, train_image, tests):
    """[DS] Fig 4b: App A's initialization is exactly I and training keeps it there."""
    model = network_ds(run.config.model.kernel_init)
    params0 = network_ds_identity_params(train_image.dtype)
    a0 = operator(model.apply, train_image[0], params=params0)
    params, history = run.train("identity_init", model, train_image, init_params=params0)
    a1 = operator(model.apply, train_image[0], params=params)
    eye = np.eye(a0.shape[0])
    result = {
        "max_abs_A_minus_I_at_init": float(np.abs(a0 - eye).max()),
        "max_abs_A_minus_I_after_training": float(np.abs(a1 - eye).max()),
        "final_loss": float(history.final_loss),
        "steps": int(history.steps),
        "outputs": {name: apply_batch(model, params, x) for name, x in tests.items()},
    }
    run.compare("identity init: max|A − I| at init", result["max_abs_A_minus_I_at_init"], 0.0,
                tol=1e-12)  # fmt: skip
    run.compare("identity init: max|A − I| after training",
                result["max_abs_A_minus_I_after_training"], 0.0, tol=1e-6,
                fits=["identity_init"])  # fmt: skip
    return result


def _point_map_check(run, kernel_init, train_image, tests, seed_keys):
    """[DS] Fig 4c: an init on one image learns the point map (up to sign and scale)?"""
    model = network_ds(kernel_init)
    name = f"point_map_{kernel_init}"
    params, history = run.train(name, model, train_image, keys=seed_keys)
    spectra = seed_spectra(model.apply, train_image[0], params=params)
    mags = np.stack([s.magnitudes for s in spectra])
    top_distance = [
        float(spectral.distance_to_span(s.vectors[:, 0], train_image)[0]) for s in spectra
    ]
    cos = {
        kind: np.stack(
            [spectral.cosine(apply_batch(model, run_params(params, i), x), train_image)
             for i in range(len(seed_keys))]
        )
        for kind, x in tests.items()
    }  # fmt: skip
    fitted = run.fits[name].mask  # a seed that did not fit counts for nothing
    below = int(np.sum((mags[:, 1] < POINT_MAP_BOUND) & fitted))
    # [DS] §3: PyTorch's default and Xavier inits learn the point map, Kaiming does not.
    kind = "above" if kernel_init.startswith("kaiming") else "below"
    run.compare(f"second |λ| median, {kernel_init} init", float(np.median(mags[:, 1])),
                POINT_MAP_BOUND, kind=kind, fits=[name],
                note="[DS] §3 says which inits give the point map; the bound is ours")  # fmt: skip
    return {
        "kernel_init": kernel_init,
        "num_seeds": len(seed_keys),
        "fitted_seeds": int(fitted.sum()),
        "final_loss_max": float(np.max(history.final_loss)),
        "second_abs_eigenvalue_per_seed": mags[:, 1],
        "seeds_with_second_abs_eigenvalue_below_0.1": below,
        "top_abs_eigenvalue": summary(mags[:, 0]),
        "second_abs_eigenvalue": summary(mags[:, 1]),
        "top_eigenvector_distance_to_image": summary(np.array(top_distance)),
        "abs_cos_output_vs_training_image": {k: summary(v) for k, v in cos.items()},
        "rank_per_seed": [spectral.effective_rank(m, run.config.rank_threshold) for m in mags],
        "abs_eigenvalues_seed0": mags[0],
        "outputs": {k: apply_batch(model, run_params(params, 0), x) for k, x in tests.items()},
    }


def _app_c_set(run, name, data, seed_keys):
    """[DS] App C: one training set, every seed; the median seed's numbers are reported."""
    model = network_ds(run.config.model.kernel_init)
    params, history = run.train(name, model, data, keys=seed_keys)
    dim = spectral.span_dimension(data)
    spectra = seed_spectra(model.apply, data[0], params=params)
    mags = np.stack([s.magnitudes for s in spectra])
    ranks = np.array([spectral.effective_rank(m, run.config.rank_threshold) for m in mags])
    # Median seed: order seeds by rank, then by the largest off-span |λ|.
    median = spectral.median_seed(spectra, dim, run.config.rank_threshold)
    top_distances = [spectral.distance_to_span(s.vectors[:, :dim], data) for s in spectra]
    fitted = run.fits[name].mask
    on_span, off_span = mags[:, :dim], mags[:, dim:]
    paper = PAPER_APP_C[name]
    paper_off = float(np.max(np.abs(paper["eigenvalues"][paper["rank"] :]), initial=0.0))
    run.compare(f"rank, {name} (median seed)", int(ranks[median]), paper["rank"], tol=0,
                fits=[name])  # fmt: skip
    run.compare(f"max |λ| off the span, {name}", float(off_span.max(initial=0.0)), paper_off,
                tol=0.05, fits=[name])  # fmt: skip
    return {
        "name": name,
        "num_examples": len(data),
        "dim_span": dim,
        "rank": int(ranks[median]),
        "paper_rank": paper["rank"],
        "ranks_per_seed": ranks,
        "seeds_with_rank_equal_dim_span": int(np.sum((ranks == dim) & fitted)),
        "fitted_seeds": int(fitted.sum()),
        "num_seeds": len(spectra),
        "abs_eigenvalues_median_seed": mags[median],
        "eigenvalues_median_seed": spectra[median].values,
        "paper_eigenvalues": paper["eigenvalues"],
        "max_abs_one_minus_eigenvalue_on_span": float(np.abs(1 - on_span).max()),
        "max_abs_eigenvalue_off_span": float(off_span.max(initial=0.0)),
        "max_top_eigenvector_distance_to_span": float(np.max(top_distances)),
        "final_loss_max": float(np.max(history.final_loss)),
        "top_eigenvectors_median_seed": spectral.eigenvector_images(
            spectra[median], dim, IMAGE_SHAPE
        ),
    }


def _plot_outputs(run, train_image, tests, identity_out, point_map_out):
    rows, labels = [[train_image[0]]], ["training image"]
    for name, inputs in tests.items():
        rows += [list(inputs), list(identity_out[name]), list(point_map_out[name])]
        labels += [f"{name} inputs", "identity init →", "PyTorch init →"]
    title = "Network DS: identity init keeps inputs, default init maps all to the training image"
    plotting.image_grid(rows, labels, run.figure("outputs"), title=title)


def _plot_spectra(run, point_map, sets):
    spectra = {"one random image (seed 0)": point_map["abs_eigenvalues_seed0"]}
    spectra |= {
        f"{s['name']} (dim {s['dim_span']})": s["abs_eigenvalues_median_seed"] for s in sets
    }
    title = "Network DS: |λ| of the learned operator (median seed)"
    plotting.spectrum_plot(spectra, run.figure("spectrum"), run.config.rank_threshold, title=title)
    images = {s["name"]: s.pop("top_eigenvectors_median_seed") for s in sets}
    title = "Top eigenvectors (span dimension many), median seed"
    plotting.eigenvector_pairs(images, run.figure("eigenvectors"), title=title)


EXPERIMENT = Experiment(name="network-ds", paper="DS", get_config=get_config, science=science,
                        keys=("image", "tests", "seeds"), figure="[DS] Fig 4, App A, App C: "
                        "Network DS, identity vs point map, rank = dim span")  # fmt: skip
