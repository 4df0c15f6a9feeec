"""[MO1] Thm 2 and its Corollary with a constant learning rate (the paper's proof adapts it)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral, theory
from memjax.models import SingleLayerFC
from memjax.train import TrainConfig, train


@pytest.mark.parametrize(
    "activation, low, high, lr", [("sigmoid", 0.05, 0.45, 50.0), ("tanh", 0.05, 0.9, 1.0)]
)
def test_constant_rate_gd_reaches_the_phi_inverse_min_norm_solution(activation, low, high, lr):
    rng = np.random.default_rng(0)
    data = rng.uniform(low, high, size=(3, 16))
    assert theory.satisfies_assumption_1(data, activation)
    with jax.enable_x64(True):
        model = SingleLayerFC(activation=activation, kernel_init="zero")
        config = TrainConfig("gd", lr, 20000, loss_tol=1e-20, progress=False)
        params, history = train(jax.random.PRNGKey(0), model, jnp.asarray(data), config)
    a = np.asarray(params["params"]["kernel"]).T
    assert history.stop_reason == "loss_tol"

    # Every GD step adds rows in span(X), so a zero-loss limit is the min-norm solution of
    # A x_i = φ⁻¹(x_i): the adaptive rate of the proof is not needed.
    np.testing.assert_allclose(a, theory.nonlinear_min_norm_solution(data, activation), atol=1e-6)
    np.testing.assert_allclose(a @ data.T, theory.INVERSES[activation](data).T, atol=1e-6)
    singular = np.linalg.svd(a, compute_uv=False)
    assert spectral.effective_rank(singular, 1e-6) == spectral.span_dimension(data) == 3
    for x in data:  # training examples are φ-eigenvectors with φ-eigenvalue 1
        lam, residual = theory.phi_eigenvalue(a, x, activation)
        assert abs(lam - 1) < 1e-6 and residual < 1e-6
    outputs = theory.FORWARD[activation](rng.normal(size=(10, 16)) @ a.T)
    assert theory.distance_to_phi_span(outputs, data, activation).max() < 1e-6
    # and a generic vector is not in the φ-span: the check can fail
    assert theory.distance_to_phi_span(rng.uniform(low, high, (1, 16)), data, activation) > 0.1


def test_assumption_1_and_unknown_activation():
    assert not theory.satisfies_assumption_1(np.array([[0.2, 0.7]]), "sigmoid")  # both sides
    assert not theory.satisfies_assumption_1(np.array([[0.0, 0.2]]), "sigmoid")  # not in (0, 1)
    with pytest.raises(ValueError, match="no inverse for activation 'relu'"):
        theory.nonlinear_min_norm_solution(np.ones((1, 2)) / 2, "relu")
