import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral
from memjax.spectral import krylov_eigs, nearest_example


def test_eigenspectrum_sorts_by_magnitude_with_conjugates_in_order():
    rotation = np.array([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues ±2i
    a = np.zeros((4, 4))
    a[:2, :2], a[2, 2], a[3, 3] = rotation, -3.0, 0.5
    s = spectral.eigenspectrum(a)
    np.testing.assert_allclose(s.magnitudes, [3, 2, 2, 0.5])
    assert s.values[1].imag > 0 > s.values[2].imag
    np.testing.assert_allclose(a @ s.vectors, s.vectors * s.values, atol=1e-12)
    assert spectral.effective_rank(s.magnitudes, 1.0) == 3
    with pytest.raises(FloatingPointError):
        spectral.eigenspectrum(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="square"):
        spectral.eigenspectrum(np.ones((2, 3)))


def test_distance_to_span_of_real_and_complex_vectors():
    x = np.array([[1.0, 0, 0, 0], [1.0, 1.0, 0, 0]])  # span = first two coordinates
    v = np.array([[3.0, -1, 0, 0], [0, 0, 1, 0], [1, 0, 1, 0]]).T
    np.testing.assert_allclose(spectral.distance_to_span(v, x), [0, 1, 1 / np.sqrt(2)], atol=1e-12)
    complex_in_span = np.array([1 + 1j, 2 - 1j, 0, 0])
    assert spectral.distance_to_span(complex_in_span, x)[0] < 1e-12
    assert spectral.distance_to_span(np.array([1, 1j, 1j, 0]), x)[0] == pytest.approx(
        1 / np.sqrt(3)
    )


def test_span_dimension_and_correlations():
    x = np.array([[1.0, 2, 3], [2.0, 4, 6], [0, 1, 0]])
    assert spectral.span_dimension(x) == 2
    a = np.array([[1.0, 2, 3, 4]])
    assert spectral.cosine(a, -a)[0] == pytest.approx(1.0)
    assert spectral.centred_correlation(a, a + 10)[0] == pytest.approx(1.0)
    assert spectral.centred_correlation(a, -a)[0] == pytest.approx(-1.0)
    flat = np.full_like(a, 3.0)  # no variance: 0 by definition, and no NaN warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert spectral.centred_correlation(flat, a)[0] == 0.0


def test_truncated_svd_keeps_top_components():
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    a = (u * [5, 3, 1, 0.1, 0, 0]) @ u.T
    np.testing.assert_allclose(
        spectral.truncated_svd_operator(a, 3), (u[:, :3] * [5, 3, 1]) @ u[:, :3].T, atol=1e-12
    )


def test_nearest_example_names_the_image_and_flags_collapsed_outputs():
    examples = np.eye(3)[:2].reshape(2, 1, 3)
    outputs = np.array([[0.1, -2.0, 0.0], [3.0, 0.1, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 5.0]])
    index, cos = nearest_example(outputs.reshape(4, 1, 3), examples)
    assert index.tolist() == [1, 0, -1, 0]
    assert cos[0, 1] > 0.99 and cos[0, 0] < 0.1 and np.all(cos[2] == 0)
    np.testing.assert_allclose(cos[3], [1 / np.sqrt(27)] * 2)


def test_nearest_example_centred_ignores_a_shared_brightness_offset():
    rng = np.random.default_rng(0)
    examples = 0.5 + 0.1 * rng.normal(size=(3, 1, 4, 4))  # all positive, like images
    outputs = 2.0 * examples[[2, 0]] + 3.0  # scaled and brightened copies
    index, raw = nearest_example(outputs, examples)
    assert raw.min() > 0.9  # raw cosine cannot tell them apart
    index, corr = nearest_example(outputs, examples, centred=True)
    assert index.tolist() == [2, 0]
    np.testing.assert_allclose(corr[[0, 1], [2, 0]], 1.0, atol=1e-12)
    assert np.delete(corr[0], 2).max() < 0.8


class _MatrixProduct:
    """``make_matvec`` for an explicit matrix operand (hashable, as krylov_eigs needs)."""

    def __call__(self, matrix):
        return lambda v: jnp.matmul(matrix, v, precision="highest")

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return isinstance(other, _MatrixProduct)


def _nonsymmetric(d=120, seed=0):
    # Gaussian matrices have many complex conjugate pairs among their top eigenvalues; a few
    # scaled columns spread the top of the spectrum so that 6 converge quickly.
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    a[:, :6] *= np.linspace(4, 2, 6)
    return a


@pytest.mark.parametrize("loop", ["device", "host"])
def test_krylov_eigs_finds_the_top_eigenpairs_with_conjugate_pairs(loop):
    a = _nonsymmetric()
    expected = spectral.eigenspectrum(a).values[:6]
    start = jax.random.normal(jax.random.PRNGKey(0), (120,))
    pairs = krylov_eigs(_MatrixProduct(), jnp.asarray(a, jnp.float32), start, 6,
                        krylov_dim=20, tol=1e-6, loop=loop)  # fmt: skip
    values, vectors = np.asarray(pairs.values), np.asarray(pairs.vectors, np.complex128)
    assert bool(pairs.converged) and np.iscomplexobj(values)
    assert np.sum(np.abs(expected.imag) > 1e-3) >= 2  # the test has conjugate pairs
    np.testing.assert_allclose(values, expected, atol=2e-5)
    residuals = np.linalg.norm(a @ vectors - vectors * values, axis=0)
    np.testing.assert_allclose(residuals, np.asarray(pairs.residuals), atol=2e-5)
    assert residuals.max() < 1e-5 * np.abs(values[0])


def test_krylov_eigs_symmetric_batched_and_through_breakdown():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(3, 80, 80))
    gram = np.einsum("bij,bkj->bik", m, m) / 80
    low_rank = rng.normal(size=(80, 3)) @ rng.normal(size=(3, 80)) / 80  # rank 3 < k
    starts = jax.random.normal(jax.random.PRNGKey(1), (3, 80))
    pairs = krylov_eigs(_MatrixProduct(), jnp.asarray(gram, jnp.float32), starts, 5,
                        krylov_dim=24, symmetric=True, batched=0)  # fmt: skip
    for i in range(3):
        np.testing.assert_allclose(pairs.values[i], np.linalg.eigvalsh(gram[i])[::-1][:5],
                                   rtol=1e-5)  # fmt: skip
    assert np.asarray(pairs.converged).all()
    # The Krylov space of a rank-3 operator is invariant after 3 steps: the solver must go on
    # from fresh directions (no NaN) and find the zero eigenvalues.
    pairs = krylov_eigs(_MatrixProduct(), jnp.asarray(low_rank, jnp.float32), starts[0], 5,
                        krylov_dim=20)  # fmt: skip
    magnitudes = np.abs(np.asarray(pairs.values))
    np.testing.assert_allclose(magnitudes[:3], spectral.eigenspectrum(low_rank).magnitudes[:3],
                               rtol=1e-5)  # fmt: skip
    assert np.isfinite(magnitudes).all() and magnitudes[3:].max() < 1e-6


def test_krylov_eigs_rejects_bad_sizes():
    start = jnp.ones(10).at[0].set(2.0)
    with pytest.raises(ValueError, match="k must be"):
        krylov_eigs(_MatrixProduct(), jnp.eye(10), start, 8, krylov_dim=8)
    with pytest.raises(ValueError, match="krylov_dim must be at most"):
        krylov_eigs(_MatrixProduct(), jnp.eye(10), start, 2, krylov_dim=10)
    with pytest.raises(ValueError, match="loop"):
        krylov_eigs(_MatrixProduct(), jnp.eye(10), start, 2, krylov_dim=6, loop="gpu")


def test_minmax_mse_scales_each_reconstruction_to_the_unit_interval():
    targets = np.array([[0.0, 0.5, 1.0], [1.0, 0.0, 0.0]])
    # any affine image of a target with positive gain scores 0; a constant one scores its MSE
    assert spectral.minmax_mse(3 * targets - 2, targets) == 0.0
    constant = np.ones((2, 3))
    assert spectral.minmax_mse(constant, targets) == pytest.approx(np.mean(targets**2))


def test_median_seed_orders_by_rank_then_by_the_largest_magnitude_beyond_dim():
    def spectrum(*mags):
        return spectral.Spectrum(np.array(mags, complex), np.eye(len(mags), dtype=complex))

    spectra = [
        spectrum(1.0, 0.9, 0.3),  # rank 2 at threshold 0.5; max beyond dim 1: 0.9
        spectrum(1.0, 0.2, 0.1),  # rank 1; 0.2
        spectrum(1.0, 0.4, 0.0),  # rank 1; 0.4
        spectrum(1.0, 1.0, 1.0),  # rank 3; 1.0
    ]
    # ordered: seeds 1, 2, 0, 3; the upper of the two middle ones is seed 0
    assert spectral.median_seed(spectra, dim=1, threshold=0.5) == 0
    assert spectral.median_seed(spectra[1:], dim=1, threshold=0.5) == 1  # the middle of 1, 2, 0
    assert spectral.median_seed(spectra[:1], dim=3, threshold=0.5) == 0  # nothing beyond dim
    assert spectral.median_seed([spectra[1]] * 3, dim=1, threshold=0.5) == 1  # ties: seed order
