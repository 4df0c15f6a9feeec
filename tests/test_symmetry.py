"""memjax.symmetry: shifts, commutators of D_{a,b}, shift orbits."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import Conv, ConvAutoencoder, downsampling_layers
from memjax.operator import operator
from memjax.spectral import distance_to_span
from memjax.symmetry import (
    commutator,
    commutator_matrix_free,
    equivariance_error,
    equivariant_shift,
    orbit_dimension,
    orbit_distances,
    orbit_size,
    shift,
    shift_covariance,
    shift_matrix,
    shift_orbit,
)


def with_padding(layers, mode):
    return tuple(
        dataclasses.replace(layer, padding_mode=mode) if isinstance(layer, Conv) else layer
        for layer in layers
    )


@pytest.fixture(scope="module")
def small_d():
    """Linear D_{4,4} on 1×16×16 images (latent 2×2), dense operators per padding."""
    image = jnp.zeros((1, 16, 16))
    operators = {}
    for mode in ("zeros", "circular"):
        model = ConvAutoencoder(with_padding(downsampling_layers(4, 4, channels=1), mode))
        params = model.init(jax.random.PRNGKey(0), image)
        operators[mode] = np.asarray(operator(model.apply, image, params=params))
    return operators


def test_shift_matrix_is_the_shift():
    x = np.random.default_rng(0).normal(size=(2, 4, 6))
    s = shift_matrix(x.shape, 1, -2)
    np.testing.assert_array_equal(s @ x.ravel(), shift(x, 1, -2).ravel())
    np.testing.assert_array_equal(s.T @ s, np.eye(x.size))
    assert shift(x, 1, 2)[0, 1, 2] == x[0, 0, 0]


def test_commutator_of_dense_matrices():
    shape = (1, 4, 4)
    s = shift_matrix(shape, 0, 1)
    assert commutator(s @ s, shape, 0, 1) == 0.0  # shifts commute
    a = np.diag(np.arange(1.0, 17.0))
    expected = np.linalg.norm(a @ s - s @ a) / np.linalg.norm(a)
    assert commutator(a, shape, 0, 1) == pytest.approx(expected)
    assert expected > 0.1


def test_circular_d_commutes_with_8_pixel_shifts_only(small_d):
    a = small_d["circular"]
    shape = (1, 16, 16)
    for dy, dx in [(8, 0), (0, 8), (8, 8)]:
        assert commutator(a, shape, dy, dx) < 1e-6  # float32 rounding
    for dy, dx in [(3, 0), (0, 3), (4, 4), (2, 0)]:
        assert commutator(a, shape, dy, dx) > 0.1
    # zero padding: the border breaks it, but far less than a 3-pixel shift does
    zero = small_d["zeros"]
    assert 1e-3 < commutator(zero, shape, 8, 0) < commutator(zero, shape, 3, 0)


def test_matrix_free_commutator_agrees_with_dense(small_d):
    for mode, (dy, dx) in [("circular", (8, 0)), ("zeros", (8, 0)), ("circular", (3, 0))]:
        model = ConvAutoencoder(with_padding(downsampling_layers(4, 4, channels=1), mode))
        x0 = jnp.zeros((1, 16, 16))
        params = model.init(jax.random.PRNGKey(0), x0)
        estimate = commutator_matrix_free(
            model.apply, x0, dy, dx, key=jax.random.PRNGKey(1), probes=64, params=params
        )
        dense = commutator(small_d[mode], (1, 16, 16), dy, dx)
        if dense < 1e-6:
            assert estimate < 1e-6
        else:
            assert estimate == pytest.approx(dense, rel=0.25)


def test_nonlinear_circular_d_is_equivariant_at_8_pixels():
    model = ConvAutoencoder(
        with_padding(downsampling_layers(4, 4, channels=1), "circular"), activation="leaky_relu"
    )
    x = jax.random.normal(jax.random.PRNGKey(2), (1, 16, 16))
    params = model.init(jax.random.PRNGKey(3), x)
    assert equivariance_error(model.apply, x, 8, 8, params=params) < 1e-6
    assert equivariance_error(model.apply, x, 3, 0, params=params) > 0.1


def test_equivariant_shift_of_layer_sequences():
    d = downsampling_layers(4, 4)
    assert equivariant_shift(with_padding(d, "circular"), 32) == 8
    assert equivariant_shift(d, 32) is None
    assert equivariant_shift(with_padding(d, "reflect"), 32) is None
    stride1 = tuple(Conv(4, padding_mode="circular") for _ in range(3))
    assert equivariant_shift(stride1, 32) == 1


def test_orbit_of_a_32_pixel_image():
    x = np.random.default_rng(1).normal(size=(1, 3, 32, 32))
    assert orbit_size(x.shape[1:], 8) == 16
    assert orbit_size((3, 64, 64), 8) == 64
    orbit = shift_orbit(x, 8)
    assert orbit.shape == (16, 3, 32, 32)
    np.testing.assert_array_equal(orbit[0], x[0])
    np.testing.assert_array_equal(orbit[5], shift(x[0], 8, 8))
    assert orbit_dimension(x, 8) == 16  # a generic image: 16 independent shifts
    assert orbit_dimension(np.ones((1, 3, 32, 32)), 8) == 1  # a constant one: 1
    with pytest.raises(ValueError, match="stride"):
        orbit_size((3, 32, 32), 5)


def test_orbit_distance_of_a_shifted_training_image_is_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 32, 32))
    shifted = np.stack([shift(x[0], 8, 16).ravel(), shift(x[1], 24, 0).ravel()], axis=1)
    complex_mix = (shifted[:, 0] + 1j * shifted[:, 1])[:, None]
    vectors = np.concatenate([shifted, complex_mix, rng.normal(size=(x[0].size, 1))], axis=1)
    d = orbit_distances(vectors, x, 8)
    np.testing.assert_allclose(d["orbit"][:3], 0.0, atol=1e-10)
    assert np.all(d["span"][:3] > 0.9)  # shifts of noise are nearly orthogonal to X
    assert d["orbit"][3] > 0.9  # a random vector is far from a 32-dimensional span
    np.testing.assert_allclose(d["span"], distance_to_span(vectors, x))
    # a 3-pixel shift is not in the 8-pixel orbit
    assert orbit_distances(shift(x[0], 3, 0).ravel(), x, 8)["orbit"][0] > 0.9


def test_shift_covariance_of_fourier_modes_and_of_noise():
    shape = (1, 8, 8)
    rows = np.arange(8)[:, None] * np.ones((1, 8))
    mode = np.exp(2j * np.pi * rows / 8)[None]  # S(dy=2) multiplies it by e^{iπ/2}
    periodic = np.tile(np.random.default_rng(3).normal(size=(1, 2, 8)), (1, 4, 1))
    noise = np.random.default_rng(4).normal(size=shape)
    vectors = np.stack([mode.ravel(), periodic.ravel(), noise.ravel()], axis=1)
    c = shift_covariance(vectors, shape, 2, 0)
    np.testing.assert_allclose(c[:2], 1.0, atol=1e-12)
    assert c[2] < 0.5


def test_circular_d_eigenvectors_are_shift_covariant(small_d):
    values, vectors = np.linalg.eig(small_d["circular"])
    order = np.argsort(-np.abs(values))[:6]
    assert np.min(np.abs(np.diff(values[order]))) > 1e-4  # simple: each in one character space
    covariance = shift_covariance(vectors[:, order], (1, 16, 16), 8, 0)
    np.testing.assert_allclose(covariance, 1.0, atol=1e-3)
    zero_values, zero_vectors = np.linalg.eig(small_d["zeros"])
    zero_top = zero_vectors[:, np.argsort(-np.abs(zero_values))[:6]]
    assert np.median(shift_covariance(zero_top, (1, 16, 16), 8, 0)) < 0.99
