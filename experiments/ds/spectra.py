"""[DS] Fig 6 / §5: spectra of linear D_{64,192} and ND_{4,4} trained on 1 and 2 CIFAR images.

The paper: D_{64,192} stores the k training images as eigenvectors with eigenvalues ≈ 1 and
is roughly rank k; ND_{4,4} has a high-rank spectrum independent of k. Trained with Adam 1e-4
(PyTorch default init) and analysed at several training steps with the matrix-free top-k
eigensolver (``memjax.operator.top_eigenvalues``; the dense operator + eig would take ~24 s per
snapshot here, Arnoldi ~1.5 s). Reported per snapshot: the top |λ|, how many of the top
``top_k`` exceed ``rank_threshold``, the distance of the top-k eigenvectors to span(X), and the
smallest distance to span(X) over all top ``top_k`` eigenvectors (is a training image an
eigenvector at all, even if not the top one?).

[DS] §5 trains "until the loss decreased by less than 1e-4, or 20,000 epochs"; read per step,
that rule stops Adam 1e-4 after a few steps at loss ~0.08 here. The paper preset reads it over
windows of 100 steps (``train.min_decrease=1e-4``, ``train.decrease_window=100``); the quick
preset uses a step budget. D_{a,b}'s convolutions after the ×8 upsampling are not in the text
(2 here, ``model.convs_after_up``).

    memjax run ds-spectra                   # quick: 2000 steps, top 24, ~2 min on CPU
    memjax run ds-spectra --preset paper    # 20,000 steps, top 64

Measured: ``docs/findings/ds.md#ds-spectra``.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from memjax import plotting, spectral
from memjax.data import load_sample, to_float
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import ConvAutoencoder, downsampling_layers
from memjax.operator import top_eigenvalues
from memjax.symmetry import orbit_distances
from memjax.train import mse

TOTAL_STRIDE = 8  # D_{a,b}'s three stride-2 convs


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    return new_config(
        top_k=24 if quick else 64, rank_threshold=0.5, model={"convs_after_up": 2},
        data={"training_sets": ((3,), (3, 6))},  # shipped CIFAR test images: a plane, + a car
        # A spectrum says what a net stores only once it reproduces its training images: MSE
        # 1e-2 (PSNR 20 dB) on [0, 1] images; the paper's nets reach 3e-3–5e-3 (App D).
        train=train_block(
            "adam", 1e-4, max_steps=2000 if quick else 20000, min_decrease=0.0 if quick else 1e-4,
            decrease_window=100, fit_loss=1e-2,
            snapshot_steps=(200, 1000, 2000) if quick else (200, 1000, 5000, 10000, 20000)),
    )  # fmt: skip


def networks(config) -> dict[str, ConvAutoencoder]:
    after = config.model.convs_after_up
    return {
        "D_64_192": ConvAutoencoder(downsampling_layers(64, 192, convs_after_up=after)),
        "ND_4_4": ConvAutoencoder(downsampling_layers(4, 4, convs_after_up=after,
                                                      downsample=False)),
    }  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    images, labels = load_sample("cifar10")
    results = []
    for indices in config.data.training_sets:
        data = to_float(images[list(indices)])
        for network, model in networks(config).items():
            name = f"{network}_k{len(indices)}"
            _, history = run.train(name, model, data, key=run.keys["init"])
            snapshots = {step: _spectrum(model, params, data, config)
                         for step, params in history.snapshots.items()}  # fmt: skip
            results.append({
                "network": network, "images": list(indices), "labels": labels[list(indices)],
                "final_loss": float(history.final_loss), "snapshots": snapshots,
            })  # fmt: skip
            _compare(run, name, network, snapshots[max(snapshots)], len(indices))
            last = max(history.snapshots)
            spectrum = top_eigenvalues(model.apply, data[0], k=4, params=history.snapshots[last])
            plotting.eigenvector_grid(
                data, *spectrum, run.figure(f"eigenvectors_{name}"), k=4,
                title=f"{network}, {len(data)} image(s): top eigenvectors at step {last}",
            )  # fmt: skip
    plotting.spectrum_plot(
        {f"{r['network']}, k={len(r['images'])}":
         r["snapshots"][max(r["snapshots"])]["top_abs_eigenvalues"] for r in results},
        run.figure("spectra"), config.rank_threshold,
        title="top |λ| at the last snapshot (Arnoldi)",
    )  # fmt: skip
    run.table(
        [{"network": r["network"], "k": len(r["images"]), "step": step, "loss": s["loss"],
          "top |λ|": s["top_abs_eigenvalues"][: len(r["images"]) + 1],
          f"#>{config.rank_threshold} of {config.top_k}": s["count_above_threshold_in_top_k"],
          "top-k dist": s["top_k_eigenvector_distance_to_span"],
          "nearest eigvec dist": s["min_distance_to_span_over_top_eigenvectors"],
          "its |λ|": s["abs_eigenvalue_of_nearest_eigenvector"],
          "nearest to shifts": s["min_distance_to_shift_orbit_over_top_eigenvectors"]}
         for r in results for step, s in r["snapshots"].items()],
        title="[DS] Fig 6: top |λ| of the operator per snapshot (Arnoldi)",
    )  # fmt: skip
    return {"runs": results}


def _spectrum(model, params, data, config):
    values, vectors = top_eigenvalues(model.apply, data[0], k=config.top_k, params=params)
    mags = np.abs(values)
    k = len(data)
    distances = spectral.distance_to_span(vectors, data)
    # Memorization up to translation ([DS] issue 13): D commutes with shifts by its total
    # stride 8, so the span of X and its 8-pixel shifts is where a fixed image's copies live.
    orbit = orbit_distances(vectors, data, stride=TOTAL_STRIDE)["orbit"]
    return {
        "loss": float(mse(model.apply, params, data)),
        "top_abs_eigenvalues": mags,
        "count_above_threshold_in_top_k": int(np.sum(mags > config.rank_threshold)),
        "abs_eigenvalue_k_plus_1": float(mags[k]),
        "top_k_eigenvector_distance_to_span": distances[:k],
        "min_distance_to_span_over_top_eigenvectors": float(distances.min()),
        "abs_eigenvalue_of_nearest_eigenvector": float(mags[distances.argmin()]),
        "top_k_eigenvector_distance_to_shift_orbit": orbit[:k],
        "min_distance_to_shift_orbit_over_top_eigenvectors": float(orbit.min()),
    }


def _compare(run, name, network, last, k):
    """[DS] §5 at the last snapshot: D has rank ≈ k with the images as eigenvectors, ND is
    high rank (more than k eigenvalues above the threshold)."""
    count = last["count_above_threshold_in_top_k"]
    if network.startswith("D"):
        run.compare(f"{name}: #|λ| > {run.config.rank_threshold} (rank)", count, k, tol=0,
                    fits=[name])  # fmt: skip
        run.compare(f"{name}: nearest eigenvector's distance to span(X)",
                    last["min_distance_to_span_over_top_eigenvectors"], 0.0, tol=0.1,
                    fits=[name], note="the paper: the images are eigenvectors")  # fmt: skip
    else:
        run.compare(f"{name}: #|λ| > {run.config.rank_threshold} (high rank)", count, k,
                    kind="above", fits=[name])  # fmt: skip


EXPERIMENT = Experiment(name="ds-spectra", paper="DS", get_config=get_config, science=science,
                        keys=("init",), figure="[DS] Fig 6: spectra of D_{64,192} vs ND_{4,4} on "
                        "1 and 2 images, over training")  # fmt: skip
