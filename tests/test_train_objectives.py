"""What a training run optimises beyond the plain autoencoder: targets and losses, a stage-wise
learning-rate decay, frozen parameters, and runs started from given parameters only."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn

from memjax.models import MLPAutoencoder
from memjax.train import (
    TrainConfig,
    cross_entropy,
    make_transform,
    param_path,
    train,
    train_seeds,
)

X = jax.random.normal(jax.random.PRNGKey(0), (6, 5))
LINEAR = MLPAutoencoder(hidden=(4,), activation="linear", use_bias=False)


def _config(**kwargs):
    return TrainConfig(**{"progress": False, **kwargs})


class Classifier(nn.Module):
    classes: int = 3

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.classes)(nn.relu(nn.Dense(16)(x)))


def _momentum_reference(params, grad_fn, lr, steps, decay_steps, factor):
    """PyTorch's SGD(momentum=0.9) under MultiStepLR, written out: buf = 0.9 buf + g,
    p -= lr_t buf, lr_t = lr · factor^(number of decay steps ≤ t)."""
    buf = jax.tree.map(jnp.zeros_like, params)
    for t in range(steps):
        rate = lr * factor ** sum(t >= s for s in decay_steps)
        grads = grad_fn(params)
        buf = jax.tree.map(lambda b, g: 0.9 * b + g, buf, grads)
        params = jax.tree.map(lambda p, b, rate=rate: p - rate * b, params, buf)
    return params


def test_decay_steps_are_multistep_decay_with_one_momentum_buffer():
    init = LINEAR.init(jax.random.PRNGKey(1), X[0])
    config = _config(optimizer="momentum", learning_rate=0.05, max_steps=9,
                     decay_steps=(3, 6), decay_factor=0.2)  # fmt: skip
    params, _ = train(None, LINEAR, X, config, init_params=init)

    def loss(p):
        return jnp.mean((jax.vmap(lambda x: LINEAR.apply(p, x))(X) - X) ** 2)

    expected = _momentum_reference(init, jax.grad(loss), 0.05, 9, (3, 6), 0.2)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7),
                 params, expected)  # fmt: skip
    # restarting the buffer at each decay (three separate runs) gives other parameters
    restarted = init
    for rate, steps in ((0.05, 3), (0.01, 3), (0.002, 3)):
        stage = _config(optimizer="momentum", learning_rate=rate, max_steps=steps)
        restarted, _ = train(None, LINEAR, X, stage, init_params=restarted)
    gap = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), params, restarted)
    assert max(jax.tree.leaves(gap)) > 1e-4


def test_decay_steps_past_the_budget_are_reported():
    init = LINEAR.init(jax.random.PRNGKey(1), X[0])
    config = _config(max_steps=5, decay_steps=(3, 600), decay_factor=0.2)
    with pytest.warns(UserWarning, match=r"decay_steps \[600\] are at or beyond max_steps=5"):
        train(None, LINEAR, X, config, init_params=init)


def test_a_config_without_decay_or_frozen_is_the_bare_optimizer():
    config = _config(optimizer="adam", learning_rate=1e-3)
    init = LINEAR.init(jax.random.PRNGKey(1), X[0])
    assert jax.tree.structure(make_transform(config).init(init)) == jax.tree.structure(
        optax.adam(1e-3).init(init)
    )


@pytest.mark.parametrize("bad, match", [
    ({"decay_steps": (0,)}, "decay_steps"),
    ({"decay_factor": 0.0}, "decay_factor"),
    ({"decay_factor": 1.5}, "decay_factor"),
    ({"frozen": ("Dense_[",)}, "not a regex"),
    ({"loss": "hinge"}, "loss must be one of mse, cross_entropy"),
])  # fmt: skip
def test_bad_objective_settings_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        _config(**bad)


def test_frozen_parameters_keep_their_initial_values_and_the_rest_train():
    init = LINEAR.init(jax.random.PRNGKey(1), X[0])
    paths = [param_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(init)]
    assert paths == ["params/dense0/kernel", "params/dense1/kernel"]
    config = _config(learning_rate=1e-2, max_steps=50, frozen=("dense0/",))
    params, history = train(None, LINEAR, X, config, init_params=init)
    np.testing.assert_array_equal(params["params"]["dense0"]["kernel"],
                                  init["params"]["dense0"]["kernel"])  # fmt: skip
    moved = params["params"]["dense1"]["kernel"] - init["params"]["dense1"]["kernel"]
    assert float(jnp.max(jnp.abs(moved))) > 1e-3
    assert history.losses[-1] < history.losses[0]
    with pytest.raises(
        ValueError, match=r"match no parameter; the parameters are \['params/dense0"
    ):
        train(None, LINEAR, X, _config(frozen=("Dense_0",)), init_params=init)


def test_per_run_learning_rates_reach_an_optimizer_wrapped_in_decay_and_frozen():
    keys = jax.random.split(jax.random.PRNGKey(2), 2)
    config = _config(optimizer="gd", learning_rate=1.0, max_steps=1, frozen=("dense0/",),
                     decay_steps=(5,), decay_factor=0.5)  # fmt: skip
    init = jax.vmap(lambda k: LINEAR.init(k, X[0]))(jnp.stack([keys[0], keys[0]]))
    with pytest.warns(UserWarning, match="never apply"):  # the decay only wraps the optimizer
        params, _ = train_seeds(None, LINEAR, X, config, init_params=init,
                                learning_rates=[0.1, 0.2])  # fmt: skip
    step = params["params"]["dense1"]["kernel"] - init["params"]["dense1"]["kernel"]
    np.testing.assert_allclose(step[1], 2 * step[0], rtol=1e-5, atol=1e-7)  # gd: Δ ∝ rate
    assert float(jnp.max(jnp.abs(step[0]))) > 1e-3
    np.testing.assert_array_equal(params["params"]["dense0"]["kernel"],
                                  init["params"]["dense0"]["kernel"])  # fmt: skip


def test_mse_to_targets_learns_a_map_other_than_the_identity():
    model = MLPAutoencoder(hidden=(), activation="linear", use_bias=False)
    config = _config(learning_rate=0.05, max_steps=2000)
    params, history = train(jax.random.PRNGKey(3), model, X, config, targets=-2.0 * X)
    np.testing.assert_allclose(model.apply(params, X[0]), -2.0 * X[0], atol=1e-3)
    assert history.final_loss < 1e-6


def test_cross_entropy_fits_separable_classes():
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    centers = 4.0 * jax.random.normal(keys[0], (3, 5))
    labels = jnp.arange(30) % 3
    inputs = centers[labels] + 0.3 * jax.random.normal(keys[1], (30, 5))
    config = _config(loss="cross_entropy", learning_rate=1e-2, max_steps=300)
    params, history = train(keys[2], Classifier(), inputs, config, targets=labels)
    logits = Classifier().apply(params, inputs)
    assert float(jnp.mean(jnp.argmax(logits, -1) == labels)) == 1.0
    np.testing.assert_allclose(
        history.final_loss,
        optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(),
        rtol=1e-5,
    )
    assert history.final_loss < 0.05 < history.losses[0]
    assert float(cross_entropy(Classifier().apply, params, inputs, labels)) == pytest.approx(
        float(history.final_loss), rel=1e-5
    )


def test_targets_are_checked_against_the_data_and_the_loss():
    model = Classifier()
    with pytest.raises(ValueError, match="needs targets"):
        train(jax.random.PRNGKey(0), model, X, _config(loss="cross_entropy"))
    with pytest.raises(ValueError, match="integer classes"):
        train(jax.random.PRNGKey(0), model, X, _config(loss="cross_entropy"), targets=X[:, 0])
    with pytest.raises(ValueError, match="one entry per example"):
        train(jax.random.PRNGKey(0), LINEAR, X, _config(), targets=X[:3])


def test_runs_started_from_given_parameters_need_no_keys():
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    init = jax.vmap(lambda k: LINEAR.init(k, X[0]))(keys)
    config = _config(max_steps=20)
    with_keys, _ = train_seeds(keys, LINEAR, X, config, init_params=init)
    without, history = train_seeds(None, LINEAR, X, config, init_params=init)
    jax.tree.map(np.testing.assert_array_equal, with_keys, without)
    assert history.final_loss.shape == (3,)
    with pytest.raises(ValueError, match="needs keys, or init_params"):
        train_seeds(None, LINEAR, X, config)
    with pytest.raises(ValueError, match="a key to initialize"):
        train(None, LINEAR, X, config)
