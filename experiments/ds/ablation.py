"""[DS] §5 / Fig 6 ablation: what decides whether a downsampling net stores k images as rank ≈ k.

``D_{a,b}`` (three stride-2 convs, ×8 nearest upsampling, convs) does not become rank ≈ k on
one CIFAR image in memjax (ds-spectra). Its layers commute with circular shifts by 8 pixels
(``memjax.symmetry``): with circular padding exactly, with zero padding away from the border.
If the net fits x (``A x = x``) and ``A S = S A``, then ``A S x = S x``: the eigenvalue-1 space
holds the whole shift orbit of x, ``(32/8)² = 16`` images on 32×32 (64 on 64×64), so the
hypothesis predicts eigenvalue 1 with multiplicity ``dim span(orbit) = 16`` for one generic
image under circular padding, and rank ≈ k only as a border effect.

The experiment varies one factor at a time from a base cell (``config.base``; the paper's
setting in the paper preset: linear ``D_{64,192}``, Adam 1e-4, one shipped CIFAR plane), over
``config.factors``: padding (zeros / circular / reflect), convs after the upsampling, bias,
init scale ("fan_in" = PyTorch's U(±1/√fan_in); "inv_sqrt_P" = U(±1/√P), [DS] §3's words, P
the layer's weight count; "x0.1"), optimizer ("name:lr"), training length (snapshots of the
base run), float32 vs float64, image size (64 = the plane resized bilinearly), the number of
stride-2 convs (total stride 2, 4, 8) and the activation (LeakyReLU: NLD). Per cell: final
loss; the top ``top_k`` |λ| (``memjax.operator.top_eigenvalues`` at the training image); how
many exceed ``rank_threshold``; how many lie within ``one_tol`` of 1 (the eigenvalue-1
multiplicity) beside the orbit's dimension; the distance of the top eigenvectors to span(X)
and to span(X ∪ its stride-multiple shifts); the relative commutator ‖AS − SA‖/‖A‖ for the
total-stride shift (matrix-free, ``commutator_probes`` jvp probes); for nonlinear nets the
point map (median |corr(output, nearest training image)| and |corr(output, input)|, and the
correlation to the nearest *shifted* training image) on Gaussian, square and unseen CIFAR
inputs.

    memjax run ds-ablation                  # quick: D_{16,32}, Adam 1e-3, 400 steps, CPU
    memjax run ds-ablation --preset paper   # D_{64,192}, Adam 1e-4, 20,000 steps: for a GPU

The quick preset shrinks the net and raises the learning rate (Adam 1e-4 does not fit a CIFAR
image in a few hundred steps); it keeps five cells: zero, circular and reflect padding, and
zero and circular padding read at step 100. The paper preset is the full grid; no GPU was lent
to the session that wrote it, so it has not been run.

Measured (quick, D_{16,32}, Adam 1e-3, 400 steps; 68 s wall / 36 s CPU on the shared 2-core
CPU; top 24 |λ|; residual = ‖f(Sx) − Sx‖/‖x‖ for x / median 8-pixel shift / a 5-pixel shift):
  cell              loss    top|λ|  #>0.5  #|λ−1|<.05  dist span/orbit  ‖AS−SA‖/‖A‖  residual
  zeros             4.7e-3  0.993   20     9           0.76 / 0.36      0.68         0.11/0.20/0.29
  circular          6.6e-3  1.10    24     5           1.00 / 0.73      0 (float32)  0.13/0.13/0.25
  reflect           5.6e-3  1.17    23     4           1.00 / 0.90      0.76         0.12/0.21/0.26
  zeros, step 100   1.2e-2  1.02    16     6           0.56 / 0.38      0.54         0.17/0.21/0.26
  circular, step 100 1.4e-2 1.08    16     1           0.34 / 0.065     0 (float32)  0.18/0.18/0.30
With ``base.convs_after_up=4 base.steps=3000`` (circular base vs zeros): circular loss 3.7e-3,
9 |λ| within 0.05 of 1 whose eigenvectors are a median 0.16 from the orbit span (zeros: loss
4.7e-4, 3 near 1, 0.38), residual x / orbit 0.094 / 0.094 (zeros 0.034 / 0.22). No cell is
rank ≈ 1 (16–24 of the top 24 above 0.5). Circular padding makes the symmetry exact (the net
reproduces every 8-pixel shift exactly as well as x) and its top eigenvectors are Fourier modes
of the shift group (8-periodic textures, |vᴴSv| = 1); zero padding lets the net fit x 6× better
than its shifts: the border is what singles out x, but the eigenvalue-1 space is not the orbit
either (too few eigenvalues reach 1 at these losses: the orbit predicts 16).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import plotting, probes, runs
from memjax.data import load_sample, to_float
from memjax.experiment import Experiment, Run, median
from memjax.models import Conv, ConvAutoencoder, Upsample
from memjax.operator import top_eigenvalues
from memjax.symmetry import (
    commutator_matrix_free,
    equivariance_error,
    orbit_dimension,
    orbit_distances,
    shift,
    shift_covariance,
    shift_orbit,
)
from memjax.train import TrainConfig, mse

FACTORS = ("padding", "convs_after_up", "use_bias", "init", "optimizer", "steps", "float64",
           "size", "downsampling", "activation")  # fmt: skip


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.top_k = 24 if quick else 64
    config.rank_threshold = 0.5
    config.one_tol = 0.05  # |λ − 1| below this counts towards the eigenvalue-1 multiplicity
    config.commutator_probes = 8
    config.model = ml_collections.ConfigDict({"a": 16 if quick else 64, "b": 32 if quick else 192})
    config.data = ml_collections.ConfigDict({
        "image": 3,  # shipped CIFAR-10 test image 3, a plane (ds-spectra's k = 1)
        "num_test_inputs": 8 if quick else 32,
    })  # fmt: skip
    config.base = ml_collections.ConfigDict({
        "padding": "zeros", "convs_after_up": 2, "use_bias": False, "init": "fan_in",
        "optimizer": "adam:0.001" if quick else "adam:0.0001", "steps": 400 if quick else 20000,
        "float64": False, "size": 32, "downsampling": 3, "activation": "linear",
    })  # fmt: skip
    if quick:
        config.factors = ml_collections.ConfigDict({
            "padding": ("circular", "reflect"), "steps": (100,),  # steps: snapshots, no training
        })  # fmt: skip
        config.extra_cells = ("padding=circular,steps=100",)
    else:
        config.factors = ml_collections.ConfigDict({
            "padding": ("circular", "reflect"), "convs_after_up": (1, 3, 4),
            "use_bias": (True,), "init": ("inv_sqrt_P", "x0.1"),
            # the largest GD lr that did not diverge in FINDINGS.md (0.5 did), momentum 0.9
            "optimizer": ("gd:0.1", "momentum:0.01"), "steps": (500, 2000),
            "float64": (True,), "size": (64,), "downsampling": (1, 2),
            "activation": ("leaky_relu",),
        })  # fmt: skip
        config.extra_cells = ("padding=circular,steps=2000", "padding=circular,size=64",
                              "padding=circular,activation=leaky_relu")  # fmt: skip
    config.train = runs.as_config(TrainConfig("adam", 1e-4, max_steps=config.base.steps))
    config.train.fit_loss = 1e-2  # as ds-spectra: MSE 1e-2 (PSNR 20 dB) on [0, 1] images
    return config


# ---------------------------------------------------------------------------------------------
# Cells


def _parse(value: str, like):
    if isinstance(like, bool):
        if value not in ("True", "False"):
            raise ValueError(f"expected True or False, got {value!r}")
        return value == "True"
    return type(like)(value)


def cells(config) -> list[dict]:
    """The base cell, one cell per factor value, then ``extra_cells`` ("k=v,k=v" changes)."""
    base = dict(config.base)
    unknown = set(config.factors) - set(FACTORS)
    if unknown or set(base) != set(FACTORS):
        raise ValueError(f"factors must be among {FACTORS}; got {sorted(unknown)} / {sorted(base)}")
    out = [{"name": "base", **base}]
    for factor, values in config.factors.items():
        for value in values:
            if value != base[factor]:
                out.append({**base, factor: value, "name": f"{factor}={value}"})
    for spec in config.extra_cells:
        cell = dict(base)
        for item in spec.split(","):
            key, _, value = item.partition("=")
            if key not in FACTORS:
                raise ValueError(f"extra_cells: unknown factor {key!r} in {spec!r}")
            cell[key] = _parse(value, base[key])
        out.append({**cell, "name": spec})
    return out


def cell_model(cell: dict, config) -> ConvAutoencoder:
    """``D_{a,b}`` with ``downsampling`` stride-2 convs and a ×2^n upsampling (n = 3 is
    ``memjax.models.downsampling_layers``), every conv padded as the cell says."""
    pad, n = cell["padding"], cell["downsampling"]
    down = tuple(Conv(config.model.b, stride=2, padding_mode=pad) for _ in range(n))
    after = tuple(Conv(config.model.a, padding_mode=pad) for _ in range(cell["convs_after_up"]))
    layers = (*down, Upsample(2**n), *after, Conv(3, padding_mode=pad))
    return ConvAutoencoder(
        layers,
        activation=cell["activation"],
        activate_last=cell["activation"] != "linear",  # NLD of ds-nonlinear: after every conv
        use_bias=cell["use_bias"],
        init_scale=0.1 if cell["init"] == "x0.1" else 1.0,
    )


def init_params(model, image, cell: dict, key):
    """PyTorch's init; "inv_sqrt_P" rescales each kernel to U(±1/√P) with P = fan_in · out."""
    if cell["init"] not in ("fan_in", "inv_sqrt_P", "x0.1"):
        raise ValueError(f"init must be fan_in, inv_sqrt_P or x0.1, got {cell['init']!r}")
    params = model.init(key, image)
    if cell["init"] != "inv_sqrt_P":
        return params

    def rescale(path, leaf):
        is_kernel = getattr(path[-1], "key", None) == "kernel"
        return leaf / np.sqrt(leaf.shape[-1]) if is_kernel else leaf

    return jax.tree_util.tree_map_with_path(rescale, params)


def cell_image(plane, size: int):
    """The plane at ``size`` pixels (bilinear: no 8×8 block structure that would favour D)."""
    if size == plane.shape[-1]:
        return plane
    return np.asarray(jax.image.resize(plane, (plane.shape[0], size, size), "linear"))


# ---------------------------------------------------------------------------------------------
# Science


def science(run: Run) -> dict:
    config = run.config
    images, _ = load_sample("cifar10")
    plane = to_float(images[[config.data.image]])[0]
    unseen = to_float(np.delete(images, [config.data.image], axis=0))
    all_cells = cells(config)
    trained = {}  # cells that differ only in their step count share one run (its snapshots)
    results, spectra = [], {}
    init_keys = jax.random.split(run.keys["init"], len(all_cells))
    commutator_keys = jax.random.split(run.keys["commutator"], len(all_cells))
    for index, cell in enumerate(all_cells):
        name = _train_name(cell, config.base)
        with jax.enable_x64(cell["float64"]):
            if name not in trained:
                trained[name] = _train(run, cell, plane, all_cells, init_keys[index], config)
            model, history, data = trained[name]
            params = history.snapshots[cell["steps"]]
            result, spectrum = _analyse(run, cell, model, params, data, unseen,
                                        commutator_keys[index], config)  # fmt: skip
            if cell["steps"] != config.base.steps:  # a snapshot: its own fit record
                snapshot = history._replace(final_loss=result["loss"], steps=cell["steps"])
                run.record_fit(_fit_name(cell, config), snapshot)
        results.append(result)
        spectra[cell["name"]] = (data, spectrum)
    _figures(run, results, spectra, config)
    run.table([_row(r, config) for r in results], title="ds-ablation: one factor at a time")
    _compare(run, results, config)
    return {"cells": results}


def _train(run, cell, plane, all_cells, key, config):
    dtype = jnp.float64 if cell["float64"] else jnp.float32
    data = jnp.asarray(cell_image(plane, cell["size"])[None], dtype)
    model = cell_model(cell, config)
    optimizer, _, lr = cell["optimizer"].partition(":")
    name = _train_name(cell, config.base)
    # the steps factor reads snapshots of this run
    same = [c["steps"] for c in all_cells if _train_name(c, config.base) == name]
    steps = sorted({*same, config.base.steps})
    params0 = init_params(model, data[0], cell, key)
    _, history = run.train(
        name, model, data, init_params=params0, optimizer=optimizer, learning_rate=float(lr),
        max_steps=max(steps), snapshot_steps=tuple(steps),
    )  # fmt: skip
    return model, history, data


def _train_name(cell, base) -> str:
    """The trained model's name: the factors (other than the step count) that differ from base."""
    changed = [f"{k}-{cell[k]}" for k in FACTORS if k != "steps" and cell[k] != base[k]]
    return "_".join(changed).replace(":", "-").replace(".", "p") or "base"


def _fit_name(cell, config) -> str:
    name = _train_name(cell, config.base)
    return name if cell["steps"] == config.base.steps else f"{name}_step{cell['steps']}"


def _analyse(run, cell, model, params, data, unseen, key, config):
    stride = 2 ** cell["downsampling"]
    x = data[0]
    k = min(config.top_k, x.size - 2)
    values, vectors = top_eigenvalues(model.apply, x, k=k, params=params)
    mags = np.abs(values)
    distances = orbit_distances(vectors, np.asarray(data), stride)
    near_one = np.abs(values - 1.0) < config.one_tol
    result = {
        "cell": cell["name"],
        "factors": {f: cell[f] for f in FACTORS},
        "loss": float(mse(model.apply, params, data)),
        "top_abs_eigenvalues": mags,
        "count_above_threshold": int(np.sum(mags > config.rank_threshold)),
        "count_near_one": int(np.sum(near_one)),
        "orbit_dimension": orbit_dimension(np.asarray(data), stride),
        "orbit_stride": stride,
        "distance_to_span": distances["span"],
        "distance_to_orbit": distances["orbit"],
        "top_distance_to_span": float(distances["span"][0]),
        "top_distance_to_orbit": float(distances["orbit"][0]),
        "shift_covariance": shift_covariance(vectors, x.shape, stride, 0),
        "median_shift_covariance": float(np.median(shift_covariance(vectors, x.shape, stride, 0))),
        "median_orbit_distance_near_one": median(distances["orbit"][near_one]),
        **_shift_residuals(model, params, np.asarray(data), stride),
        "commutator": commutator_matrix_free(
            model.apply, x, stride, stride, key=key, probes=config.commutator_probes,
            params=params,
        ),
    }  # fmt: skip
    if cell["activation"] != "linear":
        result["equivariance_error"] = equivariance_error(model.apply, x, stride, 0, params=params)
        result["point_map"] = _point_map(run, model, params, data, unseen, stride, config)
    return result, (values, vectors)


def _shift_residuals(model, params, data, stride) -> dict:
    """How well the net reproduces x and its shifts: ``‖f(S x) − S x‖ / ‖x‖``.

    Under exact commutation each stride shift is reproduced as well as x itself, whatever the
    fit; a shift by ``stride // 2 + 1`` pixels (not in the orbit) is the contrast.
    """
    x = data[0]
    orbit = shift_orbit(data[:1], stride)
    off = stride // 2 + 1
    inputs = np.concatenate([orbit, shift(x, off, off)[None]])
    outputs = probes.apply_batch(model, params, inputs.astype(x.dtype))
    residual = np.linalg.norm((outputs - inputs).reshape(len(inputs), -1), axis=1)
    residual = residual / np.linalg.norm(x)
    return {
        "residual_x": float(residual[0]),
        "residual_orbit_median": float(np.median(residual[1:-1])),
        "residual_orbit_max": float(np.max(residual[1:-1])),
        f"residual_shift_{off}": float(residual[-1]),
    }


def _point_map(run, model, params, data, unseen, stride, config) -> dict:
    training = np.asarray(data)
    size = training.shape[-1]
    natural = np.stack([cell_image(u, size) for u in unseen])
    tests = probes.probe_inputs(run.keys["probes"], config.data.num_test_inputs,
                                training.shape[1:], natural)  # fmt: skip
    tests = {kind: inputs.astype(training.dtype) for kind, inputs in tests.items()}
    plain = probes.summarize(probes.match_all(model, params, training, tests), len(training))
    orbit = shift_orbit(training, stride)
    shifted = probes.match_all(model, params, orbit, tests)
    for kind, matches in shifted.items():
        plain[kind]["median_corr_nearest_shifted_training_image"] = matches["median_corr_nearest"]
    return plain


def _row(r: dict, config) -> dict:
    pm = r.get("point_map", {}).get("gaussian", {})
    return {
        "cell": r["cell"], "loss": r["loss"], "top |λ|": r["top_abs_eigenvalues"][:3],
        f"#>{config.rank_threshold}": r["count_above_threshold"],
        f"#|λ-1|<{config.one_tol}": r["count_near_one"], "orbit dim": r["orbit_dimension"],
        "top dist span": r["top_distance_to_span"], "top dist orbit": r["top_distance_to_orbit"],
        "dist orbit (λ≈1)": r["median_orbit_distance_near_one"],
        "‖AS−SA‖/‖A‖": r["commutator"], "|vᴴSv|": r["median_shift_covariance"],
        "resid x / orbit / off": [r["residual_x"], r["residual_orbit_median"],
                                  r[f"residual_shift_{r['orbit_stride'] // 2 + 1}"]],
        "gauss corr train/shifted/in": (
            [pm["median_corr_nearest_training_image"],
             pm["median_corr_nearest_shifted_training_image"], pm["median_corr_input"]]
            if pm else None
        ),
    }  # fmt: skip


def _compare(run, results, config) -> None:
    """[DS] §5: rank ≈ k = 1 with the image as the top eigenvector; our hypothesis: with
    circular padding the eigenvalue-1 multiplicity is the orbit's dimension."""
    for r in results:
        name = _fit_name(r["factors"], config)
        run.compare(f"{r['cell']}: #|λ| > {config.rank_threshold} (rank ≈ k)",
                    r["count_above_threshold"], 1, tol=0, fits=[name])  # fmt: skip
        run.compare(f"{r['cell']}: top eigenvector's distance to span(X)",
                    r["top_distance_to_span"], 0.0, tol=0.1, fits=[name])  # fmt: skip
        if r["factors"]["padding"] == "circular":
            run.compare(f"{r['cell']}: #|λ − 1| < {config.one_tol} vs dim span(shift orbit)",
                        r["count_near_one"], r["orbit_dimension"], kind="report", fits=[name],
                        note="ours, not the paper's: the translation hypothesis")  # fmt: skip


def _figures(run, results, spectra, config) -> None:
    plotting.spectrum_plot(
        {r["cell"]: r["top_abs_eigenvalues"] for r in results},
        run.figure("spectra"), config.rank_threshold,
        title=f"top {config.top_k} |λ| per cell (Arnoldi at the training image)",
    )  # fmt: skip
    _multiplicity_plot(results, config, run.figure("multiplicity"))
    for r in results:
        if r["cell"] in ("base", "padding=circular"):
            data, (values, vectors) = spectra[r["cell"]]
            tag = r["cell"].replace("=", "_")
            plotting.eigenvector_grid(
                np.asarray(data, np.float32), values, vectors, run.figure(f"eigenvectors_{tag}"),
                k=8, title=f"{r['cell']}: top eigenvectors (loss {r['loss']:.1e})",
            )  # fmt: skip


def _multiplicity_plot(results, config, path) -> None:
    """Per cell: #|λ| > threshold, #|λ − 1| < one_tol, and dim span(shift orbit)."""
    import matplotlib.pyplot as plt  # after memjax.plotting set the Agg backend

    names = [r["cell"] for r in results]
    bars = {
        f"#|λ| > {config.rank_threshold} (of {config.top_k})": "count_above_threshold",
        f"#|λ − 1| < {config.one_tol}": "count_near_one",
        "dim span(shift orbit)": "orbit_dimension",
    }
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 3.6))
    width = 0.8 / len(bars)
    for j, (label, key) in enumerate(bars.items()):
        ax.bar(np.arange(len(names)) + j * width, [r[key] for r in results], width, label=label)
    ax.axhline(1, color="k", lw=0.8, ls="--", label="[DS]: rank ≈ k = 1")
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=20, ha="right",
                  fontsize=8)  # fmt: skip
    ax.set_ylabel("eigenvalue count")
    ax.legend(fontsize=7)
    ax.set_title("eigenvalue counts per cell vs the shift orbit's dimension", fontsize=9)
    plotting.save(fig, path)


EXPERIMENT = Experiment(
    name="ds-ablation",
    paper="DS",
    figure="[DS] Fig 6 ablation: padding, depth, bias, init, optimizer, length, precision, size",
    get_config=get_config,
    science=science,
    keys=("init", "commutator", "probes"),
)
