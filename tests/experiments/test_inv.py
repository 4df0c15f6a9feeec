"""[INV] experiments: quick presets shrunk by overrides, asserting the direction of each result."""

import numpy as np


def test_inv_fig2(run_quick):
    workdir, metrics = run_quick(
        "inv-fig2",
        ["draws=300", "readings=('stated', 'swapped_bank')", "iht_draws=30", "iht_passes=10"],
    )
    stated = metrics["stated"]
    assert abs(stated["code"]["median"] - 1) < 0.02  # Fig 2(a): model-RIP ratio near 1
    assert abs(stated["gram_sparsified"]["median"] - 1) < 0.1  # Fig 2(b) with M
    assert stated["gram"]["median"] > 1.7  # the literal WWᵀz does not keep the norm
    assert 0.25 <= stated["error"]["median"] <= 0.35  # Fig 2(c): paper's 0.1–0.2 not reached
    swapped = metrics["readings"]["swapped_bank"]["error"]["median"]
    assert 0.1 <= swapped <= 0.2  # the reading that lands in the paper's band
    iht = metrics["iht"]["median"]
    assert iht[0] > 0.25 and iht[9] < 0.01 and np.all(np.diff(iht) <= 0)
    for figure in ("fig2", "readings", "iht_passes"):
        assert (workdir / f"{figure}.png").is_file()


def test_inv_theory(run_quick):
    _, metrics = run_quick(
        "inv-theory",
        ["toy.seeds=1", "toy.draws=200", "toy.channels=(16, 256)",
         "scaling.channels=(8, 32, 128)", "scaling.draws=300"],
    )  # fmt: skip
    small, large = metrics["exact"]
    assert large["delta_k"][0] < small["delta_k"][0] <= small["delta_2k"][0] < 1
    for row in metrics["exact"]:  # Thm 3.3 (derived bound) and Lemma B.1 on every draw
        assert row["max_error"][0] <= row["signal_bound"][0]
        assert row["lemma_violations"] == [0]
        assert row["sampled_delta_k"][0] <= row["delta_k"][0] + 1e-12
    deltas = [r["sampled_delta"] for r in metrics["sampled"]]
    assert deltas[0] > deltas[1] > deltas[2]  # Thm 3.1: δ̂ falls with the channel count
    ratios = [r["ratio"] for r in metrics["sampled"]]
    assert max(ratios) / min(ratios) < 2.0


def test_inv_random_vgg(run_quick):
    workdir, metrics = run_quick(
        "inv-random-vgg",
        ["channels=32", "draws=40", "coherence_seeds=2", "shifted_layers=('1,1',)"],
    )
    ratios = metrics["fig3a"]["ratios"]
    assert abs(ratios["median"] - 1) < 0.01 and 0.95 < ratios["min"] <= ratios["max"] < 1.05
    rows = {r["layer"]: r for r in metrics["coherence"]["rows"]}
    # coherence falls with the dimension 9M and is far from 1 beyond the first layer
    assert rows["1,1"]["ours (mean)"] > 0.5 > 0.2 > rows["1,2"]["ours (mean)"]
    assert rows["5,3"]["ours (mean)"] < rows["2,1"]["ours (mean)"]
    assert all(0.7 < r["ours/paper"] < 1.4 for r in rows.values())
    assert (workdir / "fig3a.png").is_file()


def test_inv_learned_filters(run_quick):
    workdir, metrics = run_quick(
        "inv-learned-filters",
        ["data.num_images=8", "train.max_steps=150", "train.fit_loss=0.05", "draws=50",
         "random_seeds=2", "alg2.images=1", "alg2.iterations=30"],
    )  # fmt: skip
    rows = metrics["layers"]
    for row in rows:  # the initialisation is as incoherent as Gaussian filters
        assert 0.7 < row["at init"] / row["random (mean)"] < 1.4
    square = [r for r in rows if r["M"] == r["K"] and r["M"] > 1]
    assert square and all(abs(r["median ratio"] - 1) < 0.05 for r in square)
    assert all(r["sampled δ̂"] < 1 for r in square)
    assert max(r["learned/random"] for r in rows[1:]) > 1.2  # training adds coherence
    for codes in metrics["alg2"].values():  # Alg. 2: ≤ 1 nonzero per 2×2 region, some fit
        assert 0 < codes["density"] <= 0.25 and codes["fit"] < 1
    assert (workdir / "coherence.png").is_file()


def test_inv_table1(run_quick, shared_data):
    _, metrics = run_quick(
        "inv-table1",
        [f"data.mnist_dir='{shared_data / 'mnist'}'", "data.num_train=1000",
         "data.num_test=500", "depths=(1, 2)", "channels=(32,)", "learned_depths=(1,)",
         "filter_sizes=(3,)", "train.max_steps=40", "train.learning_rate=0.005",
         "train.fit_loss=1.0"],
    )  # fmt: skip
    assert metrics["source"] == "MNIST test set"
    pixels = 100 * metrics["pixels_accuracy"]
    assert 80 < pixels < 92  # a linear classifier on raw pixels
    for depth in ("1", "2"):  # frozen random conv features beat the pixels clearly
        assert metrics["best"][depth] > pixels + 3
    assert metrics["learned"]["1"] > 85  # one conv layer trained end to end (cross-entropy)


def test_inv_vgg_mini(run_quick, shared_data):
    workdir, metrics = run_quick(
        "inv-vgg-mini",
        [f"data.mnist_dir='{shared_data / 'mnist'}'", "data.num_train=200", "data.num_test=60",
         "model.blocks=((8, 8), (16,))", "train.max_steps=40", "train.fit_loss=2.5",
         "decoder.max_steps=40", "decoder.fit_loss=0.2", "images=40", "draws=50",
         "random_seeds=2", "alg2.images=2", "alg2.iterations=30", "fig4_images=3"],
    )  # fmt: skip
    rows = {r["layer"]: r["ours %"] for r in metrics["table2"]["rows"]}
    assert all(0 < v < 100 for v in rows.values())
    for pool, conv in (("p(1)", "c(1,2)"), ("p(2)", "c(2,1)")):  # a max pool of a ReLU map
        assert rows[pool] >= rows[conv]  # is at least as dense as the map
    # one macro layer of two equal convs (fewer compiles): Fig 3 at conv(1,2) only
    assert [r["layer"] for r in metrics["fig3"]["rows"]] == ["conv(1,2)"] * 2
    first = metrics["fig3"]["rows"][1]  # conv(1,2), Gaussian unit filters, synthetic codes
    assert first["filters"] == "random" and abs(first["synthetic"]["median"] - 1) < 0.05
    for row in metrics["table4"]["rows"]:  # Table 4 at layer 1 (two macro layers)
        assert abs(row["act: random act."] - 2**0.5) < 0.05  # footnote 9's √2
        assert row["act: IHT learned"] < 1.2 and row["act: IHT random"] < 1.2
        assert row["act: Alg2 learned"] < row["act: IHT learned"]  # the refit fits x better
    assert [r["layer"] for r in metrics["table4"]["rows"]] == [1]
    for figure in ("fig3", "fig4"):
        assert (workdir / f"{figure}.png").is_file()
