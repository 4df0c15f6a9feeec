"""[DS] experiments: quick presets shrunk by overrides, run through the real runner."""

import json

import numpy as np


def _files(workdir):
    return {p.name for p in workdir.iterdir()}


def _status(metrics, label_start):
    return {c["label"]: c["status"] for c in metrics["comparisons"]
            if c["label"].startswith(label_start)}  # fmt: skip


def test_network_ds_quick_reproduces_rank_equals_dim_span(run_quick):
    workdir, metrics = run_quick("network-ds", ["num_seeds=4"])
    assert {
        "config.json",
        "metrics.json",
        "outputs.png",
        "spectrum.png",
        "eigenvectors.png",
        "initializations.png",
        "params_point_map_pytorch.msgpack",
        "params_basis_4.msgpack",
    } <= _files(workdir)
    assert json.loads((workdir / "config.json").read_text())["num_seeds"] == 4
    assert metrics["identity_init"]["max_abs_A_minus_I_at_init"] == 0.0
    assert metrics["identity_init"]["max_abs_A_minus_I_after_training"] < 1e-6
    point_map = metrics["point_map"]
    assert abs(point_map["top_abs_eigenvalue"]["median"] - 1) < 1e-2
    assert point_map["second_abs_eigenvalue"]["max"] < 0.1
    # [DS] §3: Xavier also learns the point map; Kaiming keeps a much larger second eigenvalue
    second = {r["kernel_init"]: r["second_abs_eigenvalue"]["median"]
              for r in [point_map, *metrics["point_map_other_inits"]]}  # fmt: skip
    assert second["pytorch"] < 0.05 and second["xavier_normal"] < 0.15
    assert min(second["kaiming_uniform"], second["kaiming_normal"]) > 2 * max(
        second["xavier_uniform"], second["xavier_normal"]
    )
    names = [s["name"] for s in metrics["training_sets"]]
    assert names == ["basis_1", "basis_2", "basis_3", "basis_4", "dependent_4"]
    for s in metrics["training_sets"]:
        assert s["rank"] == s["dim_span"] == s["paper_rank"]
        assert s["seeds_with_rank_equal_dim_span"] == 4
        assert s["max_abs_one_minus_eigenvalue_on_span"] < 1e-2
        assert s["max_abs_eigenvalue_off_span"] < 0.1
        assert s["max_top_eigenvector_distance_to_span"] < 1e-2
    assert set(_status(metrics, "rank, ").values()) == {"reproduced"}
    assert metrics["summary"]["models_not_fitted"] == []


def test_ds_point_map_quick_downsampling_loses_the_input_and_nd_keeps_it(run_quick):
    overrides = ["train.max_steps=100", "train.snapshot_steps=(100,)", "data.num_test_inputs=4"]
    workdir, metrics = run_quick("ds-point-map", overrides)
    assert metrics["train_label"] == 6  # a frog, as in [DS] Fig 2
    d, nd = metrics["D"]["snapshots"]["100"], metrics["ND"]["snapshots"]["100"]
    key_in, key_train = "median_corr_input", "median_corr_nearest_training_image"
    assert d["gaussian"][key_in] < 0.1 < 0.4 < nd["gaussian"][key_in]
    assert nd["squares"][key_in] > 0.9 and nd["natural"][key_in] > 0.8
    # D leans towards the training image more on noise (squares and CIFAR inputs: within the
    # noise of 4 inputs, e.g. squares 0.29 vs 0.30)
    assert d["gaussian"][key_train] > 2 * nd["gaussian"][key_train]
    # 100 steps: D (loss 1.8e-2) has not fitted its image, so its numbers are not results
    assert metrics["fits"]["network_D"]["status"] == ["unfit"]
    assert set(_status(metrics, "network_D:").values()) == {"unfit"}
    assert metrics["fits"]["network_ND"]["status"] == ["fit"]
    assert {"outputs_network_D.png", "outputs_network_ND.png", "params_network_D.msgpack",
            "params_network_ND.msgpack"} <= _files(workdir)  # fmt: skip


def test_ds_spectra_quick_nd_is_high_rank_and_d_stores_the_image_early(run_quick):
    overrides = [
        "data.training_sets=((3,),)",
        "train.max_steps=200",
        "train.snapshot_steps=(200,)",
        "top_k=12",
    ]
    workdir, metrics = run_quick("ds-spectra", overrides)
    runs = {r["network"]: r["snapshots"]["200"] for r in metrics["runs"]}
    assert runs["ND_4_4"]["count_above_threshold_in_top_k"] == 12  # high rank
    d = runs["D_64_192"]
    assert abs(d["top_abs_eigenvalues"][0] - 1) < 0.05
    assert d["min_distance_to_span_over_top_eigenvectors"] < 0.5  # the image is (near) stored
    assert abs(d["abs_eigenvalue_of_nearest_eigenvector"] - 1) < 0.05
    assert d["count_above_threshold_in_top_k"] > 1  # yet not rank 1, as the paper says
    assert _status(metrics, "D_64_192_k1: #")["D_64_192_k1: #|λ| > 0.5 (rank)"] == (
        "not reproduced"
    )
    assert {"spectra.png", "eigenvectors_D_64_192_k1.png",
            "params_ND_4_4_k1.msgpack"} <= _files(workdir)  # fmt: skip


def test_ds_nonlinear_quick_nlnd_follows_the_input_and_nld_does_not(run_quick):
    overrides = [
        "model.filters=16",
        "train.max_steps=300",
        "data.num_test_inputs=4",
        "data.training_set=(3,6,0,12)",
    ]
    workdir, metrics = run_quick("ds-nonlinear", overrides)
    fig7 = metrics["fig7_single_image"]
    for kind in ("gaussian", "squares", "natural"):
        assert fig7["NLND"][kind]["median_corr_input"] > fig7["NLD"][kind]["median_corr_input"]
    assert fig7["NLD"]["gaussian"]["median_corr_input"] < 0.1
    fig8 = metrics["fig8_training_set"]
    assert fig8["n_training"] == 4
    assert all(sum(fig8[k]["nearest_counts"]) == 4 for k in ("gaussian", "squares", "natural"))
    # NLD outputs no training image (no point map): never counted as reproduced (300 steps
    # may also leave it above the fit threshold)
    fig8_status = list(_status(metrics, "NLD_training_set").values())
    assert len(fig8_status) == 3 and set(fig8_status) <= {"not reproduced", "unfit"}
    assert {"fig7_NLD.png", "fig7_NLND.png", "fig8_NLD_outputs.png", "fig8_nearest_counts.png",
            "params_NLD_training_set.msgpack"} <= _files(workdir)  # fmt: skip


def test_ds_initializations_quick_kaiming_starts_with_larger_outputs(run_quick):
    overrides = [
        "model.filters=16",
        "train.max_steps=50",
        "data.num_test_inputs=2",
        "model.initializations=('xavier_uniform','kaiming_uniform')",
    ]
    workdir, metrics = run_quick("ds-initializations", overrides)
    norms = {k: m["output_norm_at_init"] for k, m in metrics["initializations"].items()}
    # Kaiming's gain √2 per layer (and fan-in scaling) vs Xavier's compounds over 6 layers
    assert norms["kaiming_uniform"] > 5 * norms["xavier_uniform"] > 0
    assert {"fig11_outputs.png", "params_NLD_kaiming_uniform.msgpack"} <= _files(workdir)


def test_ds_larger_sets_quick_truncation_below_n_components_loses_the_images(run_quick):
    overrides = [
        "model.fig9_filters=(8,16)",
        "train.max_steps=50",
        "top_k=6",
        "model.table1_filters=(8,16)",
        "train_table1.max_steps=300",
        "data.table1_set_sizes=(4,)",
    ]
    workdir, metrics = run_quick("ds-larger-sets", overrides)
    assert len(metrics["fig9"]["top_abs_eigenvalues"]) == 6
    (row,) = metrics["table1"]["rows"]
    assert row["n_training"] == row["dim_span"] == 4
    assert row["minmax_mse_all"] < 0.5 * row["minmax_mse_top_k"]["1"]
    assert metrics["fits"]["fig9"]["status"] == ["unfit"]  # 50 steps
    assert {"fig9_eigenvectors.png", "fig9_spectrum.png", "table1_rank_and_truncation.png",
            "params_fig9.msgpack", "params_table1_n4.msgpack"} <= _files(workdir)  # fmt: skip


def test_ds_unet_quick_outputs_the_training_image(run_quick):
    overrides = ["train.max_steps=200", "data.num_test_inputs=4"]
    workdir, metrics = run_quick("ds-unet", overrides)
    dog = metrics["dog_12"]
    for kind in ("squares", "natural"):
        assert dog[kind]["median_corr_nearest_training_image"] > 0.6
        assert dog[kind]["median_corr_input"] < 0.4
    assert np.isfinite(dog["final_loss"]) and (workdir / "fig1_dog_12.png").exists()
