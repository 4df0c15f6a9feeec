"""memjax.dynamics against maps whose fixed points, slopes and orbits are known in closed form,
and the 2-layer constructions of [MO2] Thms 3 and 7 (memjax.models.two_layer)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import dynamics
from memjax.data import load_sample
from memjax.data.swiss_roll import swiss_roll
from memjax.models import MLPAutoencoder
from memjax.models.two_layer import (
    RandomFeatureAutoencoder,
    contractive_interpolant,
    fit_readout,
)
from memjax.operator import operator


def smoothstep(x):
    """3x² − 2x³: fixed points 0, ½, 1 with slopes 0, 3/2, 0 (MO2-T2)."""
    return 3 * x**2 - 2 * x**3


def affine(center, matrix):
    return lambda x: center + matrix @ (x - center)


def test_thm2_smoothstep_fixed_points_and_stability():
    with jax.enable_x64(True):
        points = jnp.array([[0.0], [0.5], [1.0]])
        report = dynamics.fixed_points(smoothstep, points)
        np.testing.assert_allclose(report.residual, 0.0, atol=1e-15)
        np.testing.assert_allclose(report.radius, [0.0, 1.5, 0.0], atol=1e-12)
        assert list(report.kind) == ["superattractor", "repeller", "superattractor"]


def test_thm2_smoothstep_orbits_leave_repeller_and_converge_quadratically():
    with jax.enable_x64(True):
        starts = jnp.array([[0.499], [0.501], [0.1]])
        orbit = dynamics.iterate(smoothstep, starts, 200, record_steps=range(6), stop_tol=1e-12)
        limits = dynamics.classify(smoothstep, orbit, jnp.array([[0.0], [1.0]]))
        assert list(limits.label) == [0, 1, 0]  # off the repeller ½ to either side
        assert orbit.converged.all() and not orbit.diverged.any()
        errors = orbit.snapshots[:5, 2, 0]  # distance to the superattractor 0
        # e_{t+1} = 3e_t² − 2e_t³: the error squares each step (faster than geometric).
        np.testing.assert_allclose(errors[1:], 3 * errors[:-1] ** 2 - 2 * errors[:-1] ** 3)
        assert errors[4] < 1e-9


@pytest.mark.parametrize(
    ("matrix", "radius", "attracts"),
    [
        (np.diag([0.5, -0.9]), 0.9, True),
        # The largest *signed* eigenvalue is 0.5, yet |−1.2| > 1: Thm 2 needs the modulus.
        (np.diag([-1.2, 0.5]), 1.2, False),
        (0.9 * np.array([[0.0, -1.0], [1.0, 0.0]]), 0.9, True),  # eigenvalues ±0.9i
    ],
)
def test_linear_maps_radius_and_rate(matrix, radius, attracts):
    with jax.enable_x64(True):
        center = jnp.array([0.3, -0.7])
        f = affine(center, jnp.asarray(matrix))
        report = dynamics.fixed_points(f, center[None])
        np.testing.assert_allclose(report.radius, [radius], rtol=1e-10)
        start = center + jnp.array([0.1, 0.1])
        orbit = dynamics.iterate(f, start[None], 60, record_steps=(0, 20, 40), stop_tol=1e-14)
        gaps = np.linalg.norm(orbit.snapshots[:, 0] - np.asarray(center), axis=1)
        if attracts:
            # Both components shrink by at least the radius per step; the slowest exactly so.
            np.testing.assert_allclose(gaps[2] / gaps[1], radius**20, rtol=1e-6)
        else:
            assert gaps[2] > gaps[1] > gaps[0]


def test_matrix_free_radius_matches_dense():
    """A 60-dimensional map with a known spectrum: 0.95 (top), then ≤ 0.6."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        basis = np.linalg.qr(rng.normal(size=(60, 60)))[0]
        matrix = jnp.asarray(basis @ np.diag(np.r_[0.95, np.linspace(-0.6, 0.6, 59)]) @ basis.T)
        f = lambda x: jnp.tanh(matrix @ x)  # noqa: E731 - J(0) = matrix, 0 a fixed point
        points = jnp.zeros((2, 60))
        dense = dynamics.spectral_radii(f, points, method="dense")
        arnoldi = dynamics.spectral_radii(f, points, method="arnoldi", krylov_dim=20)
        np.testing.assert_allclose(dense, 0.95, rtol=1e-10)
        np.testing.assert_allclose(arnoldi, 0.95, rtol=1e-5)


def test_diverging_and_other_limits_are_named():
    with jax.enable_x64(True):
        train = jnp.array([[1.0]])
        grow = dynamics.iterate(lambda x: 2.0 * x, jnp.array([[1.5]]), 100, max_norm=1e3)
        assert grow.diverged.all() and grow.steps[0] == 9  # 1.5·2^9 = 768, 2^10 → 1536
        assert dynamics.classify(lambda x: 2.0 * x, grow, train).label[0] == dynamics.DIVERGED
        square = dynamics.iterate(lambda x: x**2, jnp.array([[2.0], [0.5]]), 100)
        labels = dynamics.classify(lambda x: x**2, square, train).label
        assert labels[0] == dynamics.DIVERGED  # overflow to inf is caught, not returned
        assert np.isfinite(square.final).all()
        # From 0.5, x² falls to 0, a fixed point that is no training example.
        assert labels[1] == dynamics.OTHER_FIXED_POINT


def test_logistic_two_cycle():
    """x ↦ 3.2 x(1 − x) has an attracting 2-cycle {(r+1 ± √((r−3)(r+1)))/(2r)}."""
    with jax.enable_x64(True):
        r = 3.2
        f = lambda x: r * x * (1 - x)  # noqa: E731
        orbit = dynamics.iterate(f, jnp.array([[0.3], [0.9]]), 2000)
        limits = dynamics.classify(f, orbit, jnp.array([[0.3]]), tol=1e-6)
        assert list(limits.label) == [dynamics.CYCLE] * 2
        assert list(limits.period) == [2, 2]
        cycle = (r + 1 + np.array([-1, 1]) * np.sqrt((r - 3) * (r + 1))) / (2 * r)
        assert np.min(np.abs(orbit.final[0, 0] - cycle)) < 1e-10


def test_recovery_curve_and_basins_of_a_two_attractor_map():
    """x ↦ x − ½(x³ − x) has superattractors ±1 (slope 1 − ½(3x² − 1) = 0) and a repeller 0
    (slope 3/2); on a 2-D grid, applied per coordinate, the basins are the four quadrants."""
    with jax.enable_x64(True):
        g = lambda x: x - 0.5 * (x**3 - x)  # noqa: E731
        train = jnp.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
        starts = jnp.asarray(dynamics.grid_starts((-1.5, -1.5), (1.5, 1.5), 4))
        limits = dynamics.classify(g, dynamics.iterate(g, starts, 100), train)
        quadrant = np.array([[2, 2, 3, 3], [2, 2, 3, 3], [1, 1, 0, 0], [1, 1, 0, 0]])
        np.testing.assert_array_equal(dynamics.basin_map(limits, 4), quadrant)
        summary = dynamics.limit_summary(limits, len(train))
        assert summary["captured"] == 1.0 and summary["reached"] == 4
        recovery = dynamics.recovery_curve(g, starts, train, steps=(0, 1, 20))
        # ±1.5 is off by 0.5 at t = 0; g(1.5) = 0.9375 and g(0.5) = 0.6875 still are not
        # within 1%; by t = 20 every start is on its attractor.
        np.testing.assert_allclose(recovery.probability, [0.0, 0.0, 1.0])
        np.testing.assert_allclose(recovery.captured, [0.0, 0.0, 1.0])


def test_chunked_iteration_matches_one_loop():
    with jax.enable_x64(True):
        starts = jnp.linspace(-1.4, 1.4, 7)[:, None]
        g = lambda x: x - 0.5 * (x**3 - x)  # noqa: E731
        whole = dynamics.iterate(g, starts, 50, record_steps=(3, 7, 50), stop_tol=1e-9)
        single = dynamics.iterate(g, starts, 50, record_steps=(3, 7, 50), stop_tol=1e-9,
                                  steps_per_call=1)  # fmt: skip
        three = dynamics.iterate(g, starts, 50, record_steps=(3, 7, 50), stop_tol=1e-9,
                                 steps_per_call=3)  # fmt: skip
        for other in (single, three):
            np.testing.assert_array_equal(other.final, whole.final)
            np.testing.assert_array_equal(other.steps, whole.steps)
            np.testing.assert_array_equal(other.snapshots, whole.snapshots)


def test_params_are_traced_not_baked_in():
    model = MLPAutoencoder(hidden=(8,))
    x = jnp.ones((3, 2))
    p1 = model.init(jax.random.PRNGKey(0), x[0])
    p2 = model.init(jax.random.PRNGKey(1), x[0])
    for p in (p1, p2):
        orbit = dynamics.iterate(model.apply, x, 3, params=p, stop_tol=1e-30)
        expected = x
        for _ in range(3):
            expected = jax.vmap(functools.partial(model.apply, p))(expected)
        np.testing.assert_allclose(orbit.final, expected, rtol=1e-5)


def test_bad_input_raises():
    f = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match="starts"):
        dynamics.iterate(f, jnp.ones(3), 5)
    with pytest.raises(ValueError, match="num_steps"):
        dynamics.iterate(f, jnp.ones((2, 3)), -1)
    with pytest.raises(ValueError, match="record_steps"):
        dynamics.iterate(f, jnp.ones((2, 3)), 5, record_steps=(6,))
    with pytest.raises(ValueError, match="floating"):
        dynamics.iterate(f, jnp.ones((2, 3), jnp.int32), 5)
    with pytest.raises(ValueError, match="method"):
        dynamics.spectral_radii(f, jnp.ones((2, 3)), method="qr")
    orbit = dynamics.iterate(f, jnp.ones((2, 3)), 1)
    with pytest.raises(ValueError, match="differ"):
        dynamics.classify(f, orbit, jnp.ones((2, 4)))


def test_homogeneous_random_feature_net_has_eigenvalue_one_and_tends_to_projection():
    """[MO2] Thm 3's net is bias-free ReLU: J(x)x = f(x) = x at a fitted point (ρ ≥ 1 at every
    width), and for one example J → x xᵀ/‖x‖² as k grows (MO2-T3, one seed, d = 200: 2.45,
    0.64, 0.20 at k = 10², 10³, 10⁴; this seed: 1.70, 0.67 at 10², 10³)."""
    with jax.enable_x64(True):
        x = jax.random.uniform(jax.random.PRNGKey(0), (1, 200), jnp.float64)
        projection = np.outer(x[0], x[0]) / float(x[0] @ x[0])
        distances = []
        for width in (100, 1000):
            model = RandomFeatureAutoencoder(width)
            params = fit_readout(model.init(jax.random.PRNGKey(1), x[0]), x)
            f = functools.partial(model.apply, params)
            jac = np.asarray(operator(f, x[0]))
            np.testing.assert_allclose(jac @ np.asarray(x[0]), x[0], atol=1e-10)
            distances.append(np.linalg.norm(jac - projection, 2))
        report = dynamics.fixed_points(f, x)
        assert abs(report.radius[0] - 1) < 1e-8 and report.kind[0] == "undecided"
        np.testing.assert_allclose(distances, [1.70, 0.67], atol=0.01)


def test_fit_readout_rejects_too_narrow_nets():
    x = jax.random.uniform(jax.random.PRNGKey(0), (5, 10))
    model = RandomFeatureAutoencoder(3)
    with pytest.raises(ValueError, match="width"):
        fit_readout(model.init(jax.random.PRNGKey(1), x[0]), x)


@pytest.fixture(scope="module")
def digits():
    images, _ = load_sample("mnist")
    return images.astype(np.float64) / 255.0


def test_thm7_construction_memorizes_without_overfitting(digits):
    """MO2-T7: f(x_i) = x_i, J(x_i) = cI, squared error ≤ d(1 − c)²r² on other digits, and
    x_i + noise (per pixel < r) converges back to x_i."""
    slope = 0.5
    with jax.enable_x64(True):
        train, other = jnp.asarray(digits[:5]), jnp.asarray(digits[5:105])
        d = train[0].size
        for radius in (1e-3, 1e-4):
            model, params = contractive_interpolant(train, radius, slope)
            errors = jnp.sum((jax.vmap(functools.partial(model.apply, params))(other) - other) ** 2,
                             axis=(1, 2, 3))  # fmt: skip
            assert 0 < float(errors.max()) <= d * (1 - slope) ** 2 * radius**2
        f = functools.partial(model.apply, params)
        values = [np.unique(digits[:5].reshape(5, -1)[:, j]).size for j in range(d)]
        assert model.hidden == (sum(2 * m + 2 for m in values),) and model.hidden[0] <= d * 12
        np.testing.assert_allclose(jax.vmap(f)(train), train, atol=1e-12)
        np.testing.assert_allclose(operator(f, train[0]), slope * np.eye(d), atol=1e-12)
        noise = jax.random.uniform(jax.random.PRNGKey(0), train.shape, minval=-0.9, maxval=0.9)
        orbit = dynamics.iterate(f, train + radius * noise, 100, stop_tol=1e-13)
        limits = dynamics.classify(f, orbit, train, tol=1e-9, max_period=1)
        assert list(limits.label) == [0, 1, 2, 3, 4]


def test_thm7_rejects_overlapping_windows():
    train = np.array([[0.0, 1.0], [0.1, 1.0]])
    with pytest.raises(ValueError, match="radius"):
        contractive_interpolant(train, radius=0.05)
    with pytest.raises(ValueError, match="slope"):
        contractive_interpolant(train, radius=0.01, slope=1.0)


def test_swiss_roll_shape_range_and_determinism():
    key = jax.random.PRNGKey(0)
    flat = swiss_roll(key, 500)
    assert flat.shape == (500, 2) and float(jnp.abs(flat).max()) <= 1.0
    radius = jnp.linalg.norm(flat, axis=1) * 4.5 * np.pi  # = t on the noiseless spiral
    assert 1.5 * np.pi - 1e-3 <= float(radius.min()) and float(radius.max()) <= 4.5 * np.pi + 1e-3
    np.testing.assert_array_equal(swiss_roll(key, 500), flat)
    roll = swiss_roll(key, 500, dim=3)
    assert roll.shape == (500, 3)
    np.testing.assert_allclose(roll[:, [0, 2]], flat, rtol=1e-6)  # same t from the same key
    with pytest.raises(ValueError, match="dim"):
        swiss_roll(key, 5, dim=4)
