"""[MO1] Thm 1 / App A and [MO2] App I.2 through memjax's own training loop, in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral, theory
from memjax.models import SingleLayerFC
from memjax.operator import operator
from memjax.train import TrainConfig, train


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _learning_rate(data):
    """γ·λ_max(S) = 0.5 < 1: the contraction of App A in memjax's loss scale."""
    n, d = data.shape
    return 0.5 / (theory.mse_learning_rate_scale(n, d) * np.linalg.eigvalsh(data.T @ data).max())


def _train_fc(data, lr, snapshots, init_kernel=None):
    model = SingleLayerFC(kernel_init="zero")
    config = TrainConfig(
        "gd", lr, max_steps=max(snapshots), snapshot_steps=snapshots, progress=False
    )
    init = None if init_kernel is None else {"params": {"kernel": jnp.asarray(init_kernel)}}
    params, history = train(jax.random.PRNGKey(0), model, jnp.asarray(data), config, init)
    d = data.shape[1]
    return {
        t: np.asarray(operator(model.apply, jnp.zeros(d), params=p))
        for t, p in history.snapshots.items()
    }


@pytest.mark.parametrize("n", [1, 3])
def test_zero_init_gd_follows_closed_form_and_projects_onto_span(x64, n):
    rng = np.random.default_rng(n)
    data = rng.normal(size=(n, 6))
    lr = _learning_rate(data)
    gamma = lr * theory.mse_learning_rate_scale(*data.shape)
    operators = _train_fc(data, lr, (1, 7, 50, 400))
    for t, a_t in operators.items():
        np.testing.assert_allclose(a_t, theory.linear_gd_operator(data, gamma, t), atol=1e-8)

    a = operators[400]
    np.testing.assert_allclose(a, theory.min_norm_solution(data), atol=1e-8)
    assert spectral.effective_rank(spectral.eigenspectrum(a).magnitudes, 0.5) == n
    assert spectral.distance_to_span(a @ rng.normal(size=6), data)[0] < 1e-8


def test_nonzero_init_keeps_its_off_span_part(x64):
    rng = np.random.default_rng(7)
    data = rng.normal(size=(2, 5))
    a0 = 0.3 * rng.normal(size=(5, 5))
    lr = _learning_rate(data)
    gamma = lr * theory.mse_learning_rate_scale(*data.shape)
    operators = _train_fc(data, lr, (20, 600), init_kernel=a0.T)  # kernel is Aᵀ
    np.testing.assert_allclose(
        operators[20], theory.linear_gd_operator(data, gamma, 20, a0), atol=1e-8
    )
    np.testing.assert_allclose(operators[600], theory.gd_limit_from_init(a0, data), atol=1e-8)
    # Not memorization: the off-span part of the init survives training.
    assert np.abs(operators[600] - theory.min_norm_solution(data)).max() > 0.1


def test_weyl_bound_holds_over_random_inits():
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(200):
        n, d = rng.integers(1, 6), rng.integers(6, 12)
        data = rng.normal(size=(n, d))
        init = rng.normal(size=(d, d)) * rng.uniform(0.01, 2.0)
        gaps.append(theory.weyl_bound_gap(init, data))
    assert max(gaps) < 1e-10
    assert min(gaps) < -1e-3  # the bound is not tight everywhere: the check can tell


def test_operator_of_single_layer_is_kernel_transpose(x64):
    model = SingleLayerFC(kernel_init="xavier_normal")
    x = jnp.ones((2, 3))
    params = model.init(jax.random.PRNGKey(1), x)
    a = operator(model.apply, x, params=params)
    np.testing.assert_allclose(a, params["params"]["kernel"].T, atol=1e-14)
