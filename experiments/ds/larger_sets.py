"""[DS] App D (Fig 9–10, Table 1): the operator of linear D_{64,128} on larger training sets.

Part 1 (Fig 9): D_{64,128} trained on one CIFAR-10 image per class; the top eigenvalues of
its operator (matrix-free Arnoldi), how many lie near 1, and the top eigenvectors as images
with their distance to span(X). The paper (10 images, 20,000 Adam steps, MSE 0.0046): ten
eigenvalues near 1, from 1.04 down to 0.89.

Part 2 (Fig 10, Table 1): rank against the number of training images. For each set size n
(images of one class), train, take the dense operator, and compare the training MSE (each
reconstruction min–max scaled to [0, 1], as the paper does) of the full operator with that of
its top-k SVD truncation. The conjecture says the operator's rank is dim span(X) (= n for
n < d), so truncating to k = n should cost nothing and k < n should. The paper's rows (2000 /
5000 dogs, 5000 planes; "D_{64,192}" in its caption, D_{64,128} in its text): MSE 0.00347 /
0.00219 / 0.00286 with all components, the same to 3 digits with the top 500 / 900 / 750.

Data: the quick preset uses the shipped MNIST sample (28 ones; 1×28×28 zero-padded to 32×32,
since D's three stride-2 convs and ×8 upsampling need a multiple of 8) and a smaller D_{16,32}
so that each set trains in seconds. ``data.full_data`` (on in the paper preset) reads CIFAR-10
from ``data.data_dir`` (``memjax.data.resolve_data_dir``) for the paper's single-class sets;
``data.mnist_dir`` (the MNIST IDX files, e.g. ``../shared/data/mnist``) gives larger MNIST sets.

    memjax run ds-larger-sets                   # quick: ~2.5 min on an idle 2-core CPU
    memjax run ds-larger-sets --preset paper    # D_{64,128}, 20,000 steps

The quick preset trains with Adam 1e-3 (the paper: 1e-4) so that its few steps fit. Part 1
trains with the ``train`` block, part 2 with ``train_table1``.

Measured: ``docs/findings/ds.md#ds-larger-sets``.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from memjax import plotting, spectral
from memjax.data import SHIPPED_ONE_PER_CLASS, load_dataset, load_sample, mnist_test_set, to_float
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.models import ConvAutoencoder, downsampling_layers
from memjax.operator import operator, top_eigenvalues

PAPER_TOP10 = [1.04, 1.03, 1.00, 0.99, 0.98, 0.97, 0.97, 0.96, 0.96, 0.89]
PAPER_TABLE1 = [
    {"set": "2000 dogs", "k": 500, "mse_all": 0.00347, "mse_top_k": 0.00348},
    {"set": "5000 dogs", "k": 900, "mse_all": 0.00219, "mse_top_k": 0.00219},
    {"set": "5000 planes", "k": 750, "mse_all": 0.00286, "mse_top_k": 0.00286},
]


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    rate = 1e-3 if quick else 1e-4
    return new_config(
        rank_threshold=0.5, top_k=16 if quick else 64,  # Fig 9's eigenvalues
        model={"convs_after_up": 2, "fig9_filters": (64, 128),
               "table1_filters": (16, 32) if quick else (64, 128)},  # (a, b) of D_{a,b}
        data={"full_data": not quick, "data_dir": "", "mnist_dir": "",
              "fig9_images": SHIPPED_ONE_PER_CLASS,
              # part 2: one class; CIFAR-10 dogs (5) with full_data, else MNIST ones (1)
              "table1_class_label": -1,
              "table1_set_sizes": (4, 12, 28) if quick else (2000, 5000)},
        # An operator says what a net stores only once it reproduces its training images: MSE
        # 1e-2 (PSNR 20 dB); the paper's nets reach 3.5e-3 (Table 1) and 4.6e-3 (Fig 9).
        train=train_block("adam", rate, max_steps=1000 if quick else 20000, fit_loss=1e-2),
        train_table1=train_block("adam", rate, max_steps=2000 if quick else 20000, fit_loss=1e-2),
    )  # fmt: skip


def science(run: Run) -> dict:
    fig9, table1 = _fig9(run), _table1(run)
    run.table([{"images": fig9["n_training"], "loss": fig9["final_loss"],
                "top |λ|": fig9["top_abs_eigenvalues"][:10], "paper (10 images)": PAPER_TOP10}],
              title="Fig 9: top eigenvalues of D's operator")  # fmt: skip
    run.table(
        [{"n": r["n_training"], "span": r["dim_span"], "loss": r["final_loss"],
          f"#|λ|>{run.config.rank_threshold}": r["rank_abs_eigenvalue_above_threshold"],
          f"#σ>{run.config.rank_threshold}": r["singular_values_above_threshold"],
          "MSE all": r["minmax_mse_all"],
          "MSE top-k": [f"k={k}: {v:.2g}" for k, v in r["minmax_mse_top_k"].items()]}
         for r in table1["rows"]],
        title=f"Table 1 ({table1['network']}, {table1['source']}); top-k for k = n/4, n/2, n, 2n",
    )  # fmt: skip
    paper = {"fig9_top10_abs_eigenvalues": PAPER_TOP10, "table1": PAPER_TABLE1}
    return {"fig9": fig9, "table1": table1, "paper_values": paper}


def _network(filters, channels, convs_after_up):
    a, b = filters
    return ConvAutoencoder(downsampling_layers(a, b, channels, convs_after_up=convs_after_up))


def _fig9(run):
    config = run.config
    if config.data.full_data:
        images, labels = load_dataset("cifar10", "test", config.data.data_dir or None)
        images = images[[int(np.flatnonzero(labels == c)[0]) for c in range(10)]]
    else:
        images = load_sample("cifar10")[0][list(config.data.fig9_images)]
    data = to_float(images)
    model = _network(config.model.fig9_filters, 3, config.model.convs_after_up)
    params, history = run.train("fig9", model, data, key=run.keys["init"])
    values, vectors = top_eigenvalues(model.apply, data[0], k=config.top_k, params=params)
    mags = np.abs(values)
    near_one = int(np.sum(np.abs(mags - 1) < 0.15))
    run.compare("Fig 9: #|λ| within 0.15 of 1 (one per image)", near_one, len(data), tol=0,
                fits=["fig9"])  # fmt: skip
    run.compare("Fig 9: top |λ|", float(mags[0]), PAPER_TOP10[0], tol=0.15, fits=["fig9"])
    plotting.spectrum_plot({f"{len(data)} images": mags}, run.figure("fig9_spectrum"),
                           config.rank_threshold,
                           title=f"top {config.top_k} |λ| (Arnoldi)")  # fmt: skip
    plotting.eigenvector_grid(data, values, vectors, run.figure("fig9_eigenvectors"),
                              title="top eigenvectors (columns in order of |λ|)")  # fmt: skip
    return {
        "n_training": len(data),
        "final_loss": float(history.final_loss),
        "top_abs_eigenvalues": mags,
        "count_within_0.15_of_1": near_one,
        "count_above_threshold": int(np.sum(mags > config.rank_threshold)),
        "eigenvector_distance_to_span": spectral.distance_to_span(vectors, data),
    }


def _class_sets(data_config):
    """Part 2's single-class images (float, 32×32) and where they came from."""
    label = data_config.table1_class_label
    if data_config.full_data:
        images, labels = load_dataset("cifar10", "train", data_config.data_dir or None)
        label = 5 if label < 0 else label
        return to_float(images[labels == label]), f"CIFAR-10 train, label {label}"
    images, labels, source = mnist_test_set(data_config.mnist_dir)
    label = 1 if label < 0 else label
    padded = np.pad(to_float(images[labels == label]), ((0, 0), (0, 0), (2, 2), (2, 2)))
    return padded, f"{source}, digit {label}, zero-padded to 32×32"


def _table1(run):
    config = run.config
    images, source = _class_sets(config.data)
    set_sizes = config.data.table1_set_sizes
    sizes = [n for n in set_sizes if n <= len(images)]
    if len(sizes) < len(set_sizes):
        print(f"note: {source} has {len(images)} images; set sizes {set_sizes} cut to {sizes}")
    rows = []
    for n in sizes:
        data, name = images[:n], f"table1_n{n}"
        model = _network(config.model.table1_filters, data.shape[1], config.model.convs_after_up)
        params, history = run.train(name, model, data, key=run.keys["init"], block="train_table1")
        a = np.asarray(operator(model.apply, data[0], params=params), np.float64)
        mags = spectral.eigenspectrum(a).magnitudes
        flat = data.reshape(n, -1).astype(np.float64)
        ks = sorted({max(1, n // 4), max(1, n // 2), n, min(2 * n, len(a))})
        mse = {k: spectral.minmax_mse(flat @ spectral.truncated_svd_operator(a, k).T, flat)
               for k in ks}  # fmt: skip
        rank = spectral.effective_rank(mags, config.rank_threshold)
        mse_all = spectral.minmax_mse(flat @ a.T, flat)
        # The conjecture: rank = dim span = n, and the top-n truncation loses nothing.
        run.compare(f"Table 1: rank (#|λ| > {config.rank_threshold}), n = {n}", rank, n, tol=0,
                    fits=[name])  # fmt: skip
        run.compare(f"Table 1: MSE top-{n} / MSE all, n = {n}", mse[n] / mse_all,
                    PAPER_TABLE1[0]["mse_top_k"] / PAPER_TABLE1[0]["mse_all"], tol=0.05,
                    fits=[name])  # fmt: skip
        rows.append({
            "n_training": n,
            "dim_span": spectral.span_dimension(flat),
            "final_loss": float(history.final_loss),
            "rank_abs_eigenvalue_above_threshold": rank,
            "singular_values_above_threshold": int(
                np.sum(np.linalg.svd(a, compute_uv=False) > config.rank_threshold)
            ),
            "minmax_mse_all": mse_all,
            "minmax_mse_top_k": {str(k): v for k, v in mse.items()},
            "abs_eigenvalues": mags[: 2 * n + 8],
        })  # fmt: skip
    _plot_table1(rows, config.rank_threshold, run.figure("table1_rank_and_truncation"))
    a, b = config.model.table1_filters
    return {"source": source, "network": f"D_{{{a},{b}}}", "rows": rows}


def _plot_table1(rows, threshold, path):
    label = {r["n_training"]: f"n = {r['n_training']}" for r in rows}
    plotting.truncation_plot(
        {label[r["n_training"]]: r["abs_eigenvalues"] for r in rows},
        {label[r["n_training"]]: {int(k): v for k, v in r["minmax_mse_top_k"].items()}
         for r in rows},
        {label[r["n_training"]]: r["minmax_mse_all"] for r in rows},
        {label[r["n_training"]]: r["n_training"] for r in rows},
        path, threshold, error_label="training MSE after min–max",
    )  # fmt: skip


EXPERIMENT = Experiment(name="ds-larger-sets", paper="DS", get_config=get_config, science=science,
                        keys=("init",), figure="[DS] App D Fig 9-10, Table 1: D_{64,128} on 10 "
                        "and on thousands of images")  # fmt: skip
