import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from memjax.models import (
    Conv,
    ConvAutoencoder,
    MLPAutoencoder,
    SingleLayerFC,
    UNet,
    network_ds,
    stride1_stack_layers,
)
from memjax.train import (
    LOOP_STEPS,
    SCAN_FLOP_LIMIT,
    TrainConfig,
    _final_loss,
    _init_state,
    _make_chunk,
    default_steps_per_call,
    make_optimizer,
    mse,
    run_params,
    step_cost,
    train,
    train_seeds,
    xla_flops,
)

DATA = jax.random.uniform(jax.random.PRNGKey(0), (2, 1, 4, 4))
CONV = ConvAutoencoder((Conv(3), Conv(1)))


def _config(**kwargs):
    return TrainConfig(**{"progress": False, **kwargs})


def test_training_reduces_loss_and_history_is_consistent():
    params, history = train(jax.random.PRNGKey(1), CONV, DATA, _config(max_steps=300))
    assert history.steps == 300 and history.stop_reason == "max_steps"
    assert history.losses.shape == (300,)
    assert history.final_loss < 0.5 * history.losses[0]
    np.testing.assert_allclose(history.final_loss, mse(CONV.apply, params, DATA), rtol=1e-6)


@pytest.mark.parametrize("steps_per_call", [1, 7, 200])
def test_loss_tolerance_stops_at_the_first_step_below_it(steps_per_call):
    config = _config(max_steps=2000, loss_tol=5e-3, steps_per_call=steps_per_call)
    params, history = train(jax.random.PRNGKey(1), CONV, DATA, config)
    assert history.stop_reason == "loss_tol"
    # The returned parameters are the first whose loss met the rule, at any chunk size.
    assert history.final_loss < 5e-3 <= history.losses[-2]
    np.testing.assert_allclose(history.final_loss, history.losses[-1], rtol=1e-6)
    assert history.steps == len(history.losses) - 1


def test_min_decrease_rule_and_disabled_rules():
    _, history = train(
        jax.random.PRNGKey(1), CONV, DATA, _config(max_steps=5000, min_decrease=1e-5)
    )
    assert history.stop_reason == "min_decrease" and history.steps < 5000
    assert history.losses[-2] - history.losses[-1] < 1e-5


def test_min_decrease_over_a_window_compares_losses_that_many_steps_apart():
    config = _config(max_steps=5000, min_decrease=1e-4, decrease_window=50)
    _, history = train(jax.random.PRNGKey(1), CONV, DATA, config)
    assert history.stop_reason == "min_decrease"
    losses = history.losses
    assert history.steps % 50 == 0 and history.steps < 5000
    # the rule fired at the first check whose 50-step decrease was below 1e-4, not earlier
    assert losses[-51] - losses[-1] < 1e-4
    checks = losses[:-1][::50]
    assert np.all(checks[:-1] - checks[1:] >= 1e-4)
    with pytest.raises(ValueError, match="decrease_window"):
        _config(decrease_window=0)


def test_snapshots_hold_the_parameters_of_their_step():
    config = _config(max_steps=30, snapshot_steps=(0, 10, 30), steps_per_call=4)
    params, history = train(jax.random.PRNGKey(2), CONV, DATA, config)
    assert sorted(history.snapshots) == [0, 10, 30]
    _, short = train(jax.random.PRNGKey(2), CONV, DATA, _config(max_steps=10))
    assert history.losses.shape == (30,)
    np.testing.assert_allclose(
        mse(CONV.apply, history.snapshots[10], DATA), short.final_loss, rtol=1e-6
    )
    jax.tree.map(np.testing.assert_array_equal, history.snapshots[30], jax.device_get(params))


def test_init_params_stay_usable_after_training():
    params = CONV.init(jax.random.PRNGKey(0), DATA[0])
    before = jax.tree.map(np.array, params)
    train(None, CONV, DATA, _config(max_steps=3, steps_per_call=1), init_params=params)
    jax.tree.map(np.testing.assert_array_equal, params, before)  # not donated, not changed


def test_nonfinite_loss_stops_with_step_loss_and_config():
    with pytest.raises(
        FloatingPointError, match=r"non-finite at step \d+.*last finite loss.*learning_rate=50.0"
    ):
        train(
            jax.random.PRNGKey(0),
            SingleLayerFC(kernel_init="pytorch"),
            DATA * 10,
            _config(optimizer="gd", learning_rate=50.0, max_steps=500),
        )


def test_a_diverging_seed_can_stop_alone_while_the_others_finish():
    model = ConvAutoencoder(stride1_stack_layers(3, 4))
    data = jax.random.normal(jax.random.PRNGKey(0), (2, 1, 3, 3))
    keys = jax.random.split(jax.random.PRNGKey(1), 6)
    config = _config(optimizer="gd", learning_rate=0.5, max_steps=300, nonfinite="stop")
    with pytest.warns(UserWarning, match="non-finite.*That seed stops"):
        params, history = train_seeds(keys, model, data, config)
    reasons = history.stop_reason
    assert reasons.count("nonfinite") == 4 and reasons.count("max_steps") == 2
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))  # last finite step
    survivors = np.array(reasons) == "max_steps"
    # The survivors ran their whole budget and learned (at this edge-of-stability rate, their
    # trajectories amplify round-off, so they are not compared with single-seed runs).
    assert np.all(history.steps[survivors] == 300)
    assert np.all(history.final_loss[survivors] < 0.5 * history.losses[survivors, 0])
    assert np.all(history.steps[~survivors] < 300)
    with pytest.raises(FloatingPointError, match="seed index 1"):
        train_seeds(keys, model, data, _config(optimizer="gd", learning_rate=0.5, max_steps=300))


def test_seeds_vmapped_equal_separate_runs():
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    config = _config(max_steps=50, loss_tol=1e-2)
    params, history = train_seeds(keys, network_ds(), DATA[:1, :, :2, :2], config)
    for i, key in enumerate(keys):
        one, one_history = train(key, network_ds(), DATA[:1, :, :2, :2], config)
        assert history.steps[i] == one_history.steps
        seed = run_params(params, i)  # run i of the stacked pytree
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), seed, one)


def test_a_jitted_chunk_compiles_once_across_steps_and_runs():
    config = _config(max_steps=20, steps_per_call=1)
    train(jax.random.PRNGKey(0), CONV, DATA, config)
    chunk = _make_chunk(
        CONV, TrainConfig(max_steps=0, progress=False, steps_per_call=1), 1, None, False
    )
    assert chunk._cache_size() == 1
    assert _final_loss(CONV, False, "highest", "mse")._cache_size() == 1
    train(jax.random.PRNGKey(5), CONV, DATA, _config(max_steps=40, steps_per_call=1))
    assert chunk._cache_size() == 1
    assert (
        _final_loss(CONV, False, "highest", "mse")._cache_size() == 1
    )  # the final loss is not recompiled


_FORWARD_PASSES = []


class _CountingAutoencoder(nn.Module):
    """A linear map that reports every forward pass to ``_FORWARD_PASSES``."""

    @nn.compact
    def __call__(self, x):
        jax.debug.callback(lambda: _FORWARD_PASSES.append(1))
        return nn.Dense(x.size, use_bias=False)(x.reshape(-1)).reshape(x.shape)


@pytest.mark.parametrize("n_seeds", [None, 2])
def test_steps_past_the_budget_skip_the_gradient(n_seeds):
    """A 5-step run inside a 50-step chunk evaluates the network for 5 steps, not 50."""
    counts = {}
    for max_steps in (5, 15):
        _FORWARD_PASSES.clear()
        model = _CountingAutoencoder()
        config = _config(max_steps=max_steps, steps_per_call=50)
        if n_seeds is None:
            train(jax.random.PRNGKey(0), model, DATA[:1], config)
        else:
            keys = jax.random.split(jax.random.PRNGKey(0), n_seeds)
            train_seeds(keys, model, DATA[:1], config)
        counts[max_steps] = len(_FORWARD_PASSES)
    assert counts[15] - counts[5] == 10  # a vmapped callback fires once for all seeds


def test_bad_training_input_names_the_parameter():
    with pytest.raises(ValueError, match="unknown optimizer 'sgdd'"):
        make_optimizer("sgdd", 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="snapshot_steps"):
        TrainConfig(max_steps=5, snapshot_steps=(10,))
    with pytest.raises(ValueError, match="data must be"):
        train(jax.random.PRNGKey(0), CONV, jnp.ones((0, 1, 4, 4)), _config())


@pytest.mark.parametrize("lowered_cost", ["xla", None])
def test_xla_flops_counts_a_matmul_also_without_the_backends_cost_model(lowered_cost, monkeypatch):
    # The GPU backend's lowered cost analysis can be None: the count then comes from a compile
    # for the host CPU.
    if lowered_cost is None:
        monkeypatch.setattr(jax.stages.Lowered, "cost_analysis", lambda self: None)
    a = jnp.ones((16, 24))
    assert xla_flops(lambda a, b: a @ b, a, a.T) == 2 * 16 * 24 * 16
    shapes = jax.ShapeDtypeStruct((16, 24), jnp.float32), jax.ShapeDtypeStruct((24, 8), jnp.float32)
    assert xla_flops(lambda a, b: a @ b, *shapes) == 2 * 16 * 24 * 8  # shapes suffice


def _precisions(fn, *args) -> set:
    """The precision of every matmul and convolution in ``fn``'s jaxpr."""
    jaxpr = str(jax.make_jaxpr(fn)(*args))
    assert "conv_general_dilated" in jaxpr or "dot_general" in jaxpr
    return set(re.findall(r"precision=\(?([\w.]+)", jaxpr))


@pytest.mark.parametrize(
    "precision, expected",
    [
        ("highest", "Precision.HIGHEST"),
        ("tf32", "Precision.HIGH"),
        ("default", "Precision.DEFAULT"),
    ],
)
@pytest.mark.parametrize("model", [CONV, MLPAutoencoder(hidden=(8,))], ids=["conv", "dense"])
def test_steps_and_final_loss_run_at_the_configured_precision(precision, expected, model):
    # On GPUs JAX's float32 default is TF32; training is true float32 unless the config opts
    # in, whatever default_matmul_precision the caller has set around it.
    config = TrainConfig(max_steps=0, progress=False, precision=precision)
    tx = make_optimizer(config.optimizer, config.learning_rate)
    state = jax.eval_shape(
        lambda key: _init_state(key, model, DATA, tx, None), jax.random.PRNGKey(0)
    )
    limit = jnp.asarray(5, jnp.int32)
    for steps in (1, 5):
        chunk = _make_chunk(model, config, steps, None, False)
        with jax.default_matmul_precision("bfloat16"):
            assert _precisions(chunk, state, (DATA, None), limit) == {expected}
    with jax.default_matmul_precision("bfloat16"):
        final_loss = _final_loss(model, False, precision, "mse")
        assert _precisions(final_loss, state.params, (DATA, None)) == {expected}
    with pytest.raises(ValueError, match="precision must be one of highest, tf32, default"):
        TrainConfig(precision="fp8")


def test_steps_per_call_follow_the_steps_cost_not_the_model_class():
    # A U-Net's convolutions inside a loop run slowly on XLA:CPU: it gets one step per call
    # there, while a costlier fully connected step keeps the loop, and so does a conv net
    # whose step costs less than a call.
    if jax.default_backend() != "cpu":
        pytest.skip("the conv-in-loop trap (one step per call) is XLA:CPU's")
    cases = [  # model, data, convolutions, costlier than SCAN_FLOP_LIMIT, steps per call
        (UNet(features=(8, 16, 32)), jnp.ones((1, 3, 32, 32)), True, True, 1),
        (MLPAutoencoder(hidden=(512, 512)), jnp.ones((16, 1, 16, 16)), False, True, LOOP_STEPS),
        (CONV, DATA, True, False, LOOP_STEPS),
    ]
    for model, data, convolutions, costly, steps in cases:
        params = jax.eval_shape(model.init, jax.random.PRNGKey(0), data[0])  # shapes suffice
        cost = step_cost(model, params, data)
        assert (cost.convolutions > 0, cost.flops > SCAN_FLOP_LIMIT) == (convolutions, costly)
        assert default_steps_per_call(model, params, data) == steps
