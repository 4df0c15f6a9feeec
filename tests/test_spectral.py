import numpy as np
import pytest

from memjax import spectral
from memjax.spectral import nearest_example


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
