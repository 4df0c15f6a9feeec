"""[MO1] experiments: quick presets shrunk by overrides, through the real runner."""

import numpy as np

from memjax.experiment import open_run


def _statuses(metrics):
    return {c["label"]: c["status"] for c in metrics["comparisons"]}


def test_mo1_table1_quick_depth_lowers_the_third_eigenvalue(run_quick):
    overrides = ["num_seeds=2", "model.filters=(16,)", "model.convs=(3, 8)"]
    workdir, metrics = run_quick("mo1-table1", overrides)
    assert {"third_eigenvalue.png", "spectra.png"} <= {p.name for p in workdir.iterdir()}
    rows = {r["convs"]: r for r in metrics["rows"]}
    for r in rows.values():
        fit = metrics["fits"][f"convs{r['convs']}_filters16"]
        assert r["fitted_seeds"] == 2 and fit["status"] == ["fit", "fit"]
        assert max(fit["final_loss"]) <= 1e-6 and fit["stop_reason"] == ["loss_tol"] * 2
        assert r["parameters"] == r["paper_parameters"]
        top_two = np.asarray(r["abs_eigenvalues_per_seed"])[:, :2]
        assert np.all(np.abs(top_two - 1) < 0.5)  # both training images near eigenvalue 1
    # 3 convs: far from memorization (|λ3| ≈ 1); 8 convs: much lower, still not memorization
    assert rows[3]["abs_eigenvalue_k_plus_1_median"] > 0.9
    assert 0.05 < rows[8]["abs_eigenvalue_k_plus_1_median"] < 0.5
    assert _statuses(metrics)["|λ3|, 3 convs, 16 filters"] == "reproduced"  # .99 in the paper
    assert open_run(workdir).model("convs8_filters16").num_seeds == 2


def test_mo1_table1_untrained_nets_are_reported_as_not_fitted(run_quick):
    # [issue 15 item 5] 0 steps used to report |λ3| "better" than the paper.
    overrides = ["train.max_steps=0", "model.filters=(1,)", "model.convs=(8,)"]
    _, metrics = run_quick("mo1-table1", overrides)
    assert _statuses(metrics)["|λ3|, 8 convs, 1 filters"] == "unfit"
    assert metrics["summary"]["models_not_fitted"] == ["convs8_filters1"]
    assert metrics["summary"]["reproduced"] == 1  # only the parameter count, not measured on nets
    assert metrics["rows"][0]["abs_eigenvalue_k_plus_1_median"] is None


def test_mo1_table2_quick_row_reproduces_with_a_large_enough_constant_init(run_quick):
    overrides = ["data.rows=((2, 1, 3),)", "model.init_values=(0.05, 0.3)"]
    workdir, metrics = run_quick("mo1-table2", overrides)
    assert {"init_sweep.png", "spectra.png"} <= {p.name for p in workdir.iterdir()}
    (row,) = metrics["rows"]
    small, large = row["init_sweep"]
    assert small["fitted"] and large["fitted"]
    assert abs(large["top_abs_eigenvalues"][0] - 1) < 1e-2
    assert large["max_abs_eigenvalue_rest"] < 1e-2 < 0.1 < small["max_abs_eigenvalue_rest"]
    assert row["reproduces_bracket"] and row["best_init_value"] == 0.3
    assert row["parameters"] == row["paper_parameters"] == 27
    assert _statuses(metrics)["max |λ| beyond, 2×2, 1 ex, 3 layers"] == "reproduced"


def test_mo1_depth_sweep_quick_memorizes_only_when_deep(run_quick):
    workdir, metrics = run_quick("mo1-depth-sweep", ["num_seeds=2", "model.depths=(3, 12)"])
    assert (metrics["first_depth_without_forced_zeros"], metrics["heuristic_depth"]) == (2, 9)
    shallow, deep = metrics["depths"]
    assert shallow["fitted_seeds"] == deep["fitted_seeds"] == 2
    assert shallow["abs_eigenvalue_n_plus_1_median"] > 0.5
    assert deep["abs_eigenvalue_n_plus_1_median"] < 1e-2
    assert (workdir / "depth_sweep.png").exists() and (workdir / "params_depth12.msgpack").exists()


def test_mo1_nonlinear_depth_quick_outputs_individual_training_images(run_quick):
    _, metrics = run_quick("mo1-nonlinear-depth", ["num_seeds=1", "data.num_test_inputs=32"])
    fig4, fig5 = metrics["fig4_29_layers"], metrics["fig5_5_layers_skips"]
    for name in ("fig4_29_layers", "fig5_5_layers_skips"):
        assert metrics["fits"][name]["final_loss"][0] <= 1e-6
    assert fig4["median_abs_cos_nearest"][0] > 0.99  # Gaussian noise in, training image out
    assert fig4["share_collapsed_to_zero"][0] < 0.3
    # individual images, not combinations: near one training image, orthogonal to the other
    assert fig5["median_abs_cos_nearest"][0] > 0.5 > 0.05 > fig5["median_abs_cos_others"][0]
    assert min(fig5["nearest_counts"][0]) > 0  # both training images are reached
    assert metrics["summary"]["models_not_fitted"] == []


def test_mo1_d1_quick_memorizes_two_cifar_images_early(run_quick):
    overrides = ["model.filters=16", "train.max_steps=600", "snapshots=()"]
    workdir, metrics = run_quick("mo1-d1", overrides)
    linear = metrics["linear"]["snapshots"]["600"]
    top = linear["top_abs_eigenvalues"]
    assert top[0] > 0.8 and top[1] > 0.8 and top[2] < 0.2  # rank ≈ 2 = number of images
    assert linear["top_eigenvector_distance_to_span"][0] < 0.3
    nonlinear = metrics["leaky_relu"]["snapshots"]["600"]
    assert np.median(nonlinear["abs_cos_nearest"]) > 0.8  # noise in, a training image out
    files = {p.name for p in workdir.iterdir()}
    assert {"outputs_linear.png", "outputs_leaky_relu.png", "params_linear.msgpack"} <= files


def test_mo1_d2_quick_constant_init_keeps_channels_equal_and_stores_one_image(run_quick):
    overrides = [
        "model.filters=8",
        "model.depth=12",
        # 1/(9·8), as the paper's 1.8e-3 ≈ 1/(9·64) for 64 filters: 1.8e-3 would leave this
        # narrower net's output ~1e-11 and untrainable in 300 steps
        "model.init=constant:0.0139",
        "train.max_steps=300",
        "data.num_test_inputs=4",
        "model.initializations=('xavier_uniform','kaiming_uniform')",
    ]
    _, metrics = run_quick("mo1-d2", overrides)
    linear = metrics["fig3_linear"]
    assert linear["max_hidden_channel_spread"] == 0.0  # the constant init's symmetry holds
    assert metrics["fits"]["linear"]["final_loss"][0] < 0.05  # trained: 0.18 untrained
    top = linear["top_abs_eigenvalues"]
    assert top[0] > 0.9 and top[1] < 0.05 * top[0]  # about rank one: the single image
    norms = {k: m["output_norm_at_init"] for k, m in metrics["fig8_nonlinear"].items()}
    assert norms["kaiming_uniform"] > 20 * norms["xavier_uniform"]  # 72x at depth 12
    assert set(metrics["params"]) == {
        "params_linear.msgpack",
        "params_leaky_relu_xavier_uniform.msgpack",
        "params_leaky_relu_kaiming_uniform.msgpack",
    }
