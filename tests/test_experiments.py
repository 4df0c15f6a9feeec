"""Smoke runs of every experiment's quick preset (shrunk by overrides) and of the CLI."""

import json

import numpy as np
import pytest

import experiments
from memjax import cli


def _run_quick(name, overrides, tmp_path):
    """Runs an experiment's quick preset with overrides; returns its folder and metrics."""
    config = experiments.prepare_config(name, "quick", overrides)
    workdir = experiments.run_experiment(name, config, tmp_path / "run")
    return workdir, experiments.load_metrics(workdir)


def test_every_experiment_is_listed(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.EXPERIMENTS:
        assert name in out and experiments.load(name).PAPER_FIGURE in out


def test_network_ds_quick_reproduces_rank_equals_dim_span(tmp_path):
    workdir, metrics = _run_quick("network-ds", ["num_seeds=4", "train.progress=False"], tmp_path)
    files = {p.name for p in workdir.iterdir()}
    assert {
        "config.json",
        "metrics.json",
        "outputs.png",
        "spectrum.png",
        "eigenvectors.png",
        "params_point_map_pytorch.msgpack",
    } <= files
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
    assert "initializations.png" in files
    names = [s["name"] for s in metrics["training_sets"]]
    assert names == ["basis_1", "basis_2", "basis_3", "basis_4", "dependent_4"]
    for s in metrics["training_sets"]:
        assert s["rank"] == s["dim_span"] == s["paper_rank"]
        assert s["seeds_with_rank_equal_dim_span"] == 4
        assert s["max_abs_one_minus_eigenvalue_on_span"] < 1e-2
        assert s["max_abs_eigenvalue_off_span"] < 0.1
        assert s["max_top_eigenvector_distance_to_span"] < 1e-2


def test_mo1_table1_quick_depth_lowers_the_third_eigenvalue(tmp_path):
    overrides = ["num_seeds=2", "filters=(16,)", "convs=(3, 8)", "train.progress=False"]
    workdir, metrics = _run_quick("mo1-table1", overrides, tmp_path)
    assert {"third_eigenvalue.png", "spectra.png"} <= {p.name for p in workdir.iterdir()}
    rows = {r["convs"]: r for r in metrics["rows"]}
    for r in rows.values():
        assert r["diverged_seeds"] == 0 and r["final_loss_max"] < 1e-6
        assert r["parameters"] == r["paper_parameters"]
        top_two = np.asarray(r["abs_eigenvalues_per_seed"])[:, :2]
        assert np.all(np.abs(top_two - 1) < 0.5)  # both training images near eigenvalue 1
    # 3 convs: far from memorization (|λ3| ≈ 1); 8 convs: much lower, still not memorization
    assert rows[3]["abs_eigenvalue_k_plus_1_median"] > 0.9
    assert 0.05 < rows[8]["abs_eigenvalue_k_plus_1_median"] < 0.5


def test_mo1_table2_quick_row_reproduces_with_a_large_enough_constant_init(tmp_path):
    overrides = ["rows=((2, 1, 3),)", "init_values=(0.05, 0.3)", "progress=False"]
    workdir, metrics = _run_quick("mo1-table2", overrides, tmp_path)
    assert "init_sweep.png" in {p.name for p in workdir.iterdir()}
    (row,) = metrics["rows"]
    small, large = row["init_sweep"]
    assert small["fitted"] and large["fitted"]
    assert abs(large["top_abs_eigenvalues"][0] - 1) < 1e-2
    assert large["max_abs_eigenvalue_rest"] < 1e-2 < 0.1 < small["max_abs_eigenvalue_rest"]
    assert row["reproduces_bracket"] and row["best_init_value"] == 0.3
    assert row["parameters"] == row["paper_parameters"] == 27


def test_mo1_depth_sweep_quick_memorizes_only_when_deep(tmp_path):
    overrides = ["num_seeds=2", "depths=(3, 12)", "train.progress=False"]
    workdir, metrics = _run_quick("mo1-depth-sweep", overrides, tmp_path)
    assert (metrics["first_depth_without_forced_zeros"], metrics["heuristic_depth"]) == (2, 9)
    shallow, deep = metrics["depths"]
    assert shallow["fitted_seeds"] == deep["fitted_seeds"] == 2
    assert shallow["abs_eigenvalue_n_plus_1_median"] > 0.5
    assert deep["abs_eigenvalue_n_plus_1_median"] < 1e-2
    assert (workdir / "depth_sweep.png").exists()


def test_mo1_nonlinear_depth_quick_outputs_individual_training_images(tmp_path):
    overrides = ["num_seeds=1", "num_test_inputs=32", "progress=False"]
    workdir, metrics = _run_quick("mo1-nonlinear-depth", overrides, tmp_path)
    fig4, fig5 = metrics["fig4_29_layers"], metrics["fig5_5_layers_skips"]
    assert max(fig4["final_loss_per_seed"]) <= 1e-6 and max(fig5["final_loss_per_seed"]) <= 1e-6
    assert fig4["median_abs_cos_nearest"][0] > 0.99  # Gaussian noise in, training image out
    assert fig4["share_collapsed_to_zero"][0] < 0.3
    # individual images, not combinations: near one training image, orthogonal to the other
    assert fig5["median_abs_cos_nearest"][0] > 0.5 > 0.05 > fig5["median_abs_cos_others"][0]
    assert min(fig5["nearest_counts"][0]) > 0  # both training images are reached


def test_mo1_d1_quick_memorizes_two_cifar_images_early(tmp_path):
    overrides = [
        "filters=16",
        "train.max_steps=600",
        "train.snapshot_steps=(600,)",
        "train.progress=False",
    ]
    workdir, metrics = _run_quick("mo1-d1", overrides, tmp_path)
    linear = metrics["linear"]["snapshots"]["600"]
    top = linear["top_abs_eigenvalues"]
    assert top[0] > 0.8 and top[1] > 0.8 and top[2] < 0.2  # rank ≈ 2 = number of images
    assert linear["top_eigenvector_distance_to_span"][0] < 0.3
    nonlinear = metrics["leaky_relu"]["snapshots"]["600"]
    assert np.median(nonlinear["abs_cos_nearest"]) > 0.8  # noise in, a training image out
    assert {"outputs_linear.png", "outputs_leaky_relu.png"} <= {p.name for p in workdir.iterdir()}


def test_mo1_d2_quick_constant_init_keeps_channels_equal_and_stores_one_image(tmp_path):
    overrides = [
        "filters=8",
        "depth=12",
        "train.max_steps=300",
        "num_test_inputs=4",
        "initializations=('xavier_uniform','kaiming_uniform')",
        "train.progress=False",
    ]
    _, metrics = _run_quick("mo1-d2", overrides, tmp_path)
    linear = metrics["fig3_linear"]
    assert linear["max_hidden_channel_spread"] == 0.0  # the constant init's symmetry holds
    top = linear["top_abs_eigenvalues"]
    assert top[1] < 1e-3 * top[0]  # rank one: the single image is all it stores
    norms = {k: m["output_norm_at_init"] for k, m in metrics["fig8_nonlinear"].items()}
    assert norms["kaiming_uniform"] > 20 * norms["xavier_uniform"]  # 72x at depth 12


def test_ds_point_map_quick_downsampling_loses_the_input_and_nd_keeps_it(tmp_path):
    overrides = [
        "train.max_steps=100",
        "train.snapshot_steps=(100,)",
        "num_test_inputs=4",
        "train.progress=False",
    ]
    workdir, metrics = _run_quick("ds-point-map", overrides, tmp_path)
    assert metrics["train_label"] == 6  # a frog, as in [DS] Fig 2
    d, nd = metrics["D"]["snapshots"]["100"], metrics["ND"]["snapshots"]["100"]
    key_in, key_train = "median_abs_corr_output_input", "median_abs_corr_output_training_image"
    assert d["gaussian"][key_in] < 0.1 < 0.4 < nd["gaussian"][key_in]
    assert nd["squares"][key_in] > 0.9 and nd["natural"][key_in] > 0.8
    # D leans towards the training image more (CIFAR inputs: within noise at 4 inputs)
    for kind in ("gaussian", "squares"):
        assert d[kind][key_train] > nd[kind][key_train]
    assert {"outputs_network_D.png", "outputs_network_ND.png"} <= {
        p.name for p in workdir.iterdir()
    }


def test_ds_spectra_quick_nd_is_high_rank_and_d_stores_the_image_early(tmp_path):
    overrides = [
        "training_sets=((3,),)",
        "train.max_steps=200",
        "train.snapshot_steps=(200,)",
        "top_k=12",
        "train.progress=False",
    ]
    workdir, metrics = _run_quick("ds-spectra", overrides, tmp_path)
    runs = {r["network"]: r["snapshots"]["200"] for r in
            metrics["runs"]}  # fmt: skip
    assert runs["ND_4_4"]["count_above_threshold_in_top_k"] == 12  # high rank
    d = runs["D_64_192"]
    assert abs(d["top_abs_eigenvalues"][0] - 1) < 0.05
    assert d["min_distance_to_span_over_top_eigenvectors"] < 0.5  # the image is (near) stored
    assert abs(d["abs_eigenvalue_of_nearest_eigenvector"] - 1) < 0.05
    assert "spectra.png" in {p.name for p in workdir.iterdir()}


def test_ds_nonlinear_quick_nlnd_follows_the_input_and_nld_does_not(tmp_path):
    overrides = [
        "filters=16",
        "train.max_steps=300",
        "num_test_inputs=4",
        "training_set=(3,6,0,12)",
        "train.progress=False",
    ]
    workdir, metrics = _run_quick("ds-nonlinear", overrides, tmp_path)
    fig7 = metrics["fig7_single_image"]
    for kind in ("gaussian", "squares", "natural"):
        assert fig7["NLND"][kind]["median_corr_input"] > fig7["NLD"][kind]["median_corr_input"]
    assert fig7["NLD"]["gaussian"]["median_corr_input"] < 0.1
    fig8 = metrics["fig8_training_set"]
    assert fig8["n_training"] == 4
    assert all(sum(fig8[k]["nearest_counts"]) == 4 for k in ("gaussian", "squares", "natural"))
    assert {"fig7_NLD.png", "fig7_NLND.png", "fig8_NLD_outputs.png", "fig8_nearest_counts.png"} <= {
        p.name for p in workdir.iterdir()
    }


def test_ds_initializations_quick_kaiming_starts_with_larger_outputs(tmp_path):
    overrides = [
        "filters=16",
        "train.max_steps=50",
        "num_test_inputs=2",
        "train.progress=False",
        "initializations=('xavier_uniform','kaiming_uniform')",
    ]
    _, metrics = _run_quick("ds-initializations", overrides, tmp_path)
    norms = {k: m["output_norm_at_init"] for k, m in metrics["initializations"].items()}
    # Kaiming's gain √2 per layer (and fan-in scaling) vs Xavier's compounds over 6 layers
    assert norms["kaiming_uniform"] > 5 * norms["xavier_uniform"] > 0


def test_ds_larger_sets_quick_truncation_below_n_components_loses_the_images(tmp_path):
    overrides = [
        "fig9.a=8",
        "fig9.b=16",
        "fig9.steps=50",
        "fig9.top_k=6",
        "table1.a=8",
        "table1.b=16",
        "table1.steps=300",
        "table1.set_sizes=(4,)",
    ]
    workdir, metrics = _run_quick("ds-larger-sets", overrides, tmp_path)
    assert len(metrics["fig9"]["top_abs_eigenvalues"]) == 6
    (row,) = metrics["table1"]["rows"]
    assert row["n_training"] == row["dim_span"] == 4
    assert row["minmax_mse_all"] < 0.5 * row["minmax_mse_top_k"]["1"]
    assert {"fig9_eigenvectors.png", "fig9_spectrum.png", "table1_rank_and_truncation.png"} <= {
        p.name for p in workdir.iterdir()
    }


def test_ds_unet_quick_outputs_the_training_image(tmp_path):
    overrides = ["train.max_steps=200", "num_test_inputs=4", "train.progress=False"]
    workdir, metrics = _run_quick("ds-unet", overrides, tmp_path)
    dog = metrics["dog_12"]
    for kind in ("squares", "natural"):
        assert dog[kind]["median_corr_nearest_training_image"] > 0.6
        assert dog[kind]["median_corr_input"] < 0.4
    assert (workdir / "fig1_dog.png").exists()


def test_cli_run_with_overrides_and_user_errors(tmp_path, capsys):
    argv = ["run", "network-ds", "--workdir", str(tmp_path / "bad")]
    assert cli.main([*argv, "--config.num_sedes=2"]) == 2
    assert "unknown config key 'num_sedes'" in capsys.readouterr().err
    assert cli.main([*argv, "--config.num_seeds=two"]) == 2
    assert "holds int" in capsys.readouterr().err
    assert cli.main(["run", "no-such-experiment"]) == 2
    assert not (tmp_path / "bad").exists()


def test_a_failing_run_leaves_no_folder(tmp_path):
    config = experiments.prepare_config("network-ds", "quick", ["num_seeds=0"])
    with pytest.raises(ValueError, match="num_seeds"):
        experiments.run_experiment("network-ds", config, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
