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
