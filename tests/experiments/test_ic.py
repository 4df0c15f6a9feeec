"""[IC] experiments: quick presets shrunk by overrides, run through the real runner."""


def _files(workdir):
    return {p.name for p in workdir.iterdir()}


def _zero(metrics, net, key):
    return metrics["nets"][net]["scores"][key][0]


def test_fcn_depth_goes_to_the_constant_map_and_skips_keep_the_identity(run_quick):
    workdir, metrics = run_quick("ic-fcn-depth", [
        "model.width=256", "model.hidden_layers=(0, 9)", "model.activations=('relu',)",
        "model.residual_blocks=(1,)", "train.max_steps=600", "train.fit_loss=1e-3",
        "data.rhos=(0.0, 0.5, 1.0)",
    ])  # fmt: skip
    assert {"heatmaps_corr.png", "heatmaps_mse.png", "predictions.png", "weight_change.png",
            "params_relu_H9.msgpack"} <= _files(workdir)  # fmt: skip
    assert metrics["summary"]["models_not_fitted"] == []
    assert abs(_zero(metrics, "relu_H0", "corr_id")) < 0.1  # Thm 1: random off the '7'
    assert abs(_zero(metrics, "relu_H0", "corr_const")) < 0.1
    assert _zero(metrics, "relu_H9", "corr_const") > 0.9  # deep: the constant map
    assert _zero(metrics, "residual_H1", "corr_id") > 0.9  # skips: the identity
    change = metrics["nets"]["relu_H9"]["weight_change"]
    assert len(change) == 10 and change[-1] == max(change)


def test_cnn_depth_loses_the_identity_and_untrained_layers_blur(run_quick):
    workdir, metrics = run_quick("ic-cnn-depth", [
        "model.depths=(2, 10)", "model.channels=8", "train.max_steps=300", "train.fit_loss=0.05",
        "data.classifier_images=100", "data.sizes=(7, 28, 112)", "data.rhos=(0.0, 0.5, 1.0)",
    ])  # fmt: skip
    assert {"heatmaps_corr.png", "classifier.png", "layers_untrained.png", "input_sizes.png",
            "upper_subnetworks.png", "params_depth_10.msgpack"} <= _files(workdir)  # fmt: skip
    assert metrics["summary"]["models_not_fitted"] == []
    shallow, deep = _zero(metrics, "depth_2", "corr_id"), _zero(metrics, "depth_10", "corr_id")
    assert shallow > 0.5 and shallow > deep + 0.2  # depth removes the identity (Figs 3-4)
    views = metrics["singular_image_corr_per_layer"]["untrained"]
    assert len(views) == 10 and views[0] > views[9] + 0.3  # random convs blur (Fig 15)
    errors = metrics["classifier_error_per_layer"]
    assert len(errors["untrained"]) == 11 and errors["untrained"][-1] > errors["untrained"][0]
    sizes = metrics["input_sizes"]["depth_2"]["corr_id"]
    assert sizes[0] < sizes[2]  # a 7 × 7 input loses the identity more than 112 × 112 (Fig 6)


def test_theory_closed_forms_match_trained_nets_and_table1(run_quick):
    _, metrics = run_quick("ic-theory", [
        "kernels=(5, 29)", "bound_inits=5", "train.max_steps=1000",
        "train.snapshot_steps=(1, 100, 1000)", "app_b.cnn_kernels=(3, 57)",
        "app_b.cnn_sizes=(7, 28)", "app_b.cnn_depths=(2, 5)", "app_b.fcn_hidden=(0, 2)",
    ])  # fmt: skip
    theorem1 = metrics["theorem1"]
    assert theorem1["sgd_momentum"]["max_error_vs_theorem"] < 1e-10  # Thm 1
    assert theorem1["sgd_momentum"]["max_update_off_span"] < 1e-12  # App C
    assert theorem1["adam"]["max_error_vs_theorem"] > 1e-3  # Adam breaks it
    nullities = {row["K"]: row["nullity n"] for row in metrics["theorem2"]["kernels"]}
    assert nullities == {5: 0, 29: 57}
    assert metrics["theorem2"]["k5_identity_error"] < 1e-8
    assert all(v["ours"] == v["paper"] for v in metrics["table1"].values())
    assert len(metrics["app_b"]) == 22 and max(metrics["app_b"].values()) == 0.0  # App B, exact


def test_cnn_training_sgd_is_stable_only_on_the_pixel_mean_loss(run_quick):
    workdir, metrics = run_quick("ic-cnn-training", [
        "model.channels=8", "model.inits=('ic_default', 'kaiming_normal')",
        "model.optimizers=('adam:0.001',)", "model.stability_depths=(3,)",
        "model.stability_channels=8", "train.max_steps=300", "train_opt.max_steps=100",
        "train_sgd.max_steps=40", "train.fit_loss=0.1", "train_opt.fit_loss=1.0",
    ])  # fmt: skip
    assert "predictions.png" in _files(workdir)
    stability = metrics["sgd_stability"]
    for init in ("ic_default", "pytorch", "xavier_normal"):
        assert not stability[f"{init} mean depth 3"]["diverged"]
        assert stability[f"{init} half_sum depth 3"]["diverged"]  # ½·sum loss: lr·λ too big
    inits = metrics["inits"]["3"]
    assert inits["ic_default"]["scores"]["corr_id"][0] > 0.3  # shallow: toward the identity


def test_cnn_shape_larger_filters_blur_and_lean_to_the_constant(run_quick):
    workdir, metrics = run_quick("ic-cnn-shape", [
        "model.size_depths=()", "model.kernels=(5, 13)", "model.channels=(3, 8)",
        "model.three_channel_depths=()", "model.init_seeds=2", "train.max_steps=200",
        "train.fit_loss=0.1",
    ])  # fmt: skip
    assert "predictions.png" in _files(workdir)
    small, large = metrics["kernel"]["kernel_5"], metrics["kernel"]["kernel_13"]
    assert large["blur"] < small["blur"]  # Fig 9: predictions blur as K grows
    assert large["scores"]["corr_const"][0] > small["scores"]["corr_const"][0] + 0.1
    assert metrics["channels"]["channels_3"]["final_loss"] < 0.1  # few channels still fit
    smoothness = metrics["init_layer4_total_variation"]
    assert smoothness["128"] < smoothness["3"] / 2  # Figs 29-30: 128 channels smoother at init


def test_training_data_shallow_cnn_follows_its_input_deep_fcn_mixes_the_digits(run_quick):
    workdir, metrics = run_quick("ic-training-data", [
        "model.channels=8", "model.seed_depths=(3,)", "model.digit_indices=(0,)",
        "model.multi_counts=(2,)", "model.fcn_width=128", "model.cifar_fcn_hidden=(0,)",
        "train.max_steps=200", "train_fcn.max_steps=200", "train.fit_loss=0.1",
        "train_fcn.fit_loss=0.1",
    ])  # fmt: skip
    assert "predictions.png" in _files(workdir)
    several = metrics["several_images"]
    assert several["k2_relu_H9"]["median"] > several["k2_cnn_depth_3"]["median"] + 0.5
    assert min(metrics["seeds_and_digits"]["digit_0_depth_3"]) > 0.3
    h0 = metrics["cifar"]["cifar12_relu_H0"]
    assert abs(h0["corr_id"]) < 0.1 and abs(h0["corr_const"]) < 0.1  # Thm 1 on CIFAR


def test_paper_presets_resolve_to_app_a():
    """IC-A: the paper presets hold App A's settings (checked without training)."""
    from memjax import experiment
    from memjax import identity as ic

    fcn = experiment.prepare_config("ic-fcn-depth", "paper")
    cnn = experiment.prepare_config("ic-cnn-depth", "paper")
    for config in (fcn, cnn):
        assert config.train.optimizer == "momentum"  # SGD, momentum 0.9
        assert config.train.learning_rate == 0.01 and config.train.max_steps == 2_000_000
        assert config.train.decay_steps == (600_000, 1_200_000, 1_600_000)  # ×0.2 at 30/60/80 %
        assert config.train.decay_factor == 0.2
    assert ic.stage_boundaries(2_000_000) == (600_000, 1_200_000, 1_600_000)
    assert fcn.model.width == 2048 and fcn.model.kernel_init == "ic_default"
    assert (cnn.model.channels, cnn.model.kernel) == (128, 5)
    assert cnn.model.depths == (1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 24)
    assert (ic.MNIST_MEAN, ic.MNIST_STD) == (0.1307, 0.3081)
    for name in ("ic-cnn-training", "ic-cnn-shape", "ic-training-data", "ic-theory",
                 "ic-fcn-width", "ic-full-data"):  # fmt: skip
        experiment.prepare_config(name, "paper")  # every paper preset is a valid config


def test_fcn_width_depth_beats_width_and_bottom_only_training_keeps_the_init(run_quick):
    workdir, metrics = run_quick("ic-fcn-width", [
        "model.linear_nets=((1, 2048), (3, 784))", "train.max_steps=200", "data.rhos=(0.0, 1.0)",
    ])  # fmt: skip
    assert {"heatmaps.png", "predictions.png"} <= _files(workdir)
    assert metrics["summary"]["models_not_fitted"] == []
    # Fig 11: the deeper, narrower linear net (fewer weights) is nearer the constant map
    deep, wide = _zero(metrics, "linear_H3_w784", "corr_const"), _zero(
        metrics, "linear_H1_w2048", "corr_const")  # fmt: skip
    assert deep > wide + 0.1
    # Fig 12: bottom-only training leaves the random function off x̂; both layers drift
    bottom, both = metrics["nets"]["relu_H1_w16384_bottom"], "relu_H1_w16384_both"
    assert abs(bottom["scores"]["corr_const"][0]) < 0.1 and bottom["top_change"] == 0.0
    assert bottom["bottom_update_off_span"] < 1e-5  # eq 16 (float32)
    assert _zero(metrics, both, "corr_const") > bottom["scores"]["corr_const"][0] + 0.2


def test_full_data_cnn_keeps_the_identity_off_the_digits_fcn_does_not(run_quick):
    workdir, metrics = run_quick("ic-full-data", [
        "data.n_train=100", "data.n_test=50", "data.n_noise=8", "train.max_steps=400",
        "train_fcn.max_steps=400", "model.linear_hidden=()",
    ])  # fmt: skip
    assert "predictions.png" in _files(workdir)
    assert metrics["summary"]["models_not_fitted"] == []
    cnn, fcn = metrics["corr_id"]["cnn_C3"], metrics["corr_id"]["relu_H3"]
    assert cnn["held-out digits"] > 0.9 and fcn["held-out digits"] > 0.7  # both carry to digits
    for group in ("patterns", "noise"):  # Figs 1/40: only the CNN off the digit manifold
        assert cnn[group] > 0.7 and fcn[group] < cnn[group] - 0.3
