"""[MO1] Thm 1 / App A through memjax's own training loop, against the closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral
from memjax.models import SingleLayerFC
from memjax.operator import model_operator
from memjax.train import TrainConfig, train


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _closed_form(data, lr, t):
    """A_t = I − (I − γS)^t with S = Σ x xᵀ and γ = 2·lr/(n·d) for the mean-squared loss."""
    n, d = data.shape
    s = data.T @ data
    gamma = 2 * lr / (n * d)
    return np.eye(d) - np.linalg.matrix_power(np.eye(d) - gamma * s, t)


@pytest.mark.parametrize("n", [1, 3])
def test_zero_init_gd_follows_closed_form_and_projects_onto_span(x64, n):
    rng = np.random.default_rng(n)
    d = 6
    data = rng.normal(size=(n, d))
    # γ·λ_max(S) = 0.5 < 1: the contraction of App A, with γ = 2·lr/(n·d).
    lr = 0.5 * n * d / (2 * np.linalg.eigvalsh(data.T @ data).max())
    snapshots = (1, 7, 50, 400)
    config = TrainConfig("gd", lr, max_steps=400, snapshot_steps=snapshots, progress=False)
    model = SingleLayerFC(kernel_init="zero")
    params, history = train(jax.random.PRNGKey(0), model, jnp.asarray(data), config)

    for t in snapshots:
        a_t = np.asarray(model_operator(model, history.snapshots[t], jnp.zeros(d)))
        np.testing.assert_allclose(a_t, _closed_form(data, lr, t), rtol=0, atol=1e-8)

    a = np.asarray(model_operator(model, params, jnp.zeros(d)))
    q = spectral.span_basis(data)
    np.testing.assert_allclose(a, q @ q.T, atol=1e-8)  # the projection onto span(X)
    mags = spectral.eigenspectrum(a).magnitudes
    assert spectral.effective_rank(mags, 0.5) == n
    assert spectral.distance_to_span(a @ rng.normal(size=d), data)[0] < 1e-8


def test_operator_of_single_layer_is_kernel_transpose(x64):
    model = SingleLayerFC(kernel_init="xavier_normal")
    x = jnp.ones((2, 3))
    params = model.init(jax.random.PRNGKey(1), x)
    a = model_operator(model, params, x)
    np.testing.assert_allclose(a, params["params"]["kernel"].T, atol=1e-14)
