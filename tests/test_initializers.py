import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import INITIALIZERS, get_initializer
from memjax.models.initializers import fans

SHAPE = (3, 3, 64, 96)  # HWIO: fan_in = 576, fan_out = 864
FAN_IN, FAN_OUT = 576, 864


def _draw(name, shape=SHAPE):
    return np.asarray(get_initializer(name)(jax.random.PRNGKey(0), shape, jnp.float32))


def test_fans_follow_pytorch():
    assert fans(SHAPE) == (FAN_IN, FAN_OUT)
    assert fans((10, 20)) == (10, 20)


@pytest.mark.parametrize(
    "name, bound",
    [
        ("pytorch", 1 / math.sqrt(FAN_IN)),
        ("xavier_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("kaiming_uniform", math.sqrt(6 / FAN_IN)),
    ],
)
def test_uniform_initializers_fill_their_bounds(name, bound):
    w = _draw(name)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # 500k draws reach the edge
    np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.02)


@pytest.mark.parametrize(
    "name, variance",
    [
        ("xavier_normal", 2 / (FAN_IN + FAN_OUT)),
        ("kaiming_normal", 2 / FAN_IN),
        ("ic_default", 1 / (FAN_IN * FAN_OUT)),
    ],
)
def test_normal_initializers_have_their_variance(name, variance):
    w = _draw(name)
    np.testing.assert_allclose(w.var(), variance, rtol=0.02)
    assert abs(w.mean()) < 0.01 * math.sqrt(variance)
    assert np.abs(w).max() > 4 * math.sqrt(variance)  # not truncated


def test_orthogonal_constant_and_zero():
    w = _draw("orthogonal", (3, 3, 4, 36)).reshape(36, 36)
    np.testing.assert_allclose(w.T @ w, np.eye(36), atol=1e-5)
    np.testing.assert_array_equal(_draw("constant:1.8e-3", (2, 2)), np.full((2, 2), 1.8e-3, "f4"))
    np.testing.assert_array_equal(_draw("zero", (2, 2)), np.zeros((2, 2)))


def test_uniform_range():
    w = _draw("uniform:0.1:0.3")
    assert 0.1 <= w.min() < 0.1005 and 0.2995 < w.max() <= 0.3
    with pytest.raises(ValueError, match="LO < HI"):
        get_initializer("uniform:0.3:0.1")
    with pytest.raises(ValueError, match="LO < HI"):
        get_initializer("uniform:0.3")


def test_unknown_initializer_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown kernel_init 'kaiming'"):
        get_initializer("kaiming")
    with pytest.raises(ValueError, match="constant:"):
        get_initializer("constant:abc")
    assert "pytorch" in INITIALIZERS
