"""Eigen-analysis of a learned operator: is the training set stored in its top eigenvectors?

All functions take NumPy or JAX arrays and compute in float64 (NumPy's LAPACK), whatever the
dtype of the operator, because ranks are read off eigenvalues near a threshold.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Spectrum(NamedTuple):
    """Eigenpairs sorted by decreasing ``|λ|``.

    Attributes:
      values: ``(d,)`` complex eigenvalues.
      vectors: ``(d, d)`` complex unit eigenvectors, ``vectors[:, i]`` for ``values[i]``.
    """

    values: np.ndarray
    vectors: np.ndarray

    @property
    def magnitudes(self) -> np.ndarray:
        return np.abs(self.values)


class SingularTriplets(NamedTuple):
    """The top singular triplets of an operator, sorted by decreasing ``s``.

    Attributes:
      u: ``(d, k)`` left singular vectors, ``u[:, i]`` for ``s[i]``.
      s: ``(k,)`` singular values.
      vt: ``(k, d)`` right singular vectors as rows, so ``A ≈ (u * s) @ vt``.
    """

    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray


def eigenspectrum(matrix) -> Spectrum:
    """Eigenvalues and eigenvectors of a square matrix, sorted by magnitude (largest first).

    Ties in magnitude (complex conjugate pairs) keep the one with positive imaginary part
    first, so the order is deterministic.
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"eigenspectrum needs a square matrix, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise FloatingPointError("the operator has NaN or inf entries")
    values, vectors = np.linalg.eig(a)
    order = np.lexsort((-values.imag, -np.round(np.abs(values), 12)))
    return Spectrum(values[order], vectors[:, order])


def effective_rank(magnitudes, threshold: float) -> int:
    """Number of eigenvalue (or singular value) magnitudes above ``threshold``."""
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    return int(np.sum(np.abs(np.asarray(magnitudes)) > threshold))


def span_basis(examples, tol: float = 1e-10) -> np.ndarray:
    """An orthonormal basis ``(d, r)`` of the span of ``examples`` (``n`` examples of any shape).

    ``r`` is the numerical rank: singular values above ``tol`` times the largest count.
    """
    x = np.asarray(examples, dtype=np.float64).reshape(len(examples), -1).T
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return u[:, :0]
    return u[:, s > tol * s[0]]


def span_dimension(examples, tol: float = 1e-10) -> int:
    """``dim span(X)`` of the examples."""
    return span_basis(examples, tol).shape[1]


def distance_to_span(vectors, examples) -> np.ndarray:
    """Relative distance ``‖v − P v‖ / ‖v‖`` of each column ``v`` to ``span(examples)``.

    Works for complex eigenvectors: the span is taken over the complex numbers, so a vector is
    in it iff its real and imaginary parts both are. 0 means inside the span, 1 orthogonal.

    Args:
      vectors: ``(d, k)`` (or ``(d,)``) vectors.
      examples: ``n`` examples with ``d`` entries each.
    """
    v = np.asarray(vectors)
    v = v[:, None] if v.ndim == 1 else v
    q = span_basis(examples)
    if q.shape[0] != v.shape[0]:
        raise ValueError(f"vectors have {v.shape[0]} entries, examples {q.shape[0]}")
    residual = v - q @ (q.T @ v)
    return np.linalg.norm(residual, axis=0) / np.linalg.norm(v, axis=0)


def eigenvector_images(spectrum: Spectrum, k: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary parts of the top ``k`` eigenvectors as images of ``shape``.

    Returns:
      ``(real, imag)``, each ``(k, *shape)``.
    """
    top = spectrum.vectors[:, :k].T
    return top.real.reshape(k, *shape), top.imag.reshape(k, *shape)


def cosine(a, b) -> np.ndarray:
    """``|cos|`` between the rows of ``a`` and ``b`` flattened per example (broadcasts)."""
    a = np.asarray(a, np.float64).reshape(np.shape(a)[0], -1)
    b = np.asarray(b, np.float64).reshape(np.shape(b)[0], -1)
    num = np.abs(np.sum(a * b, axis=1))
    return num / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def centred_correlation(a, b) -> np.ndarray:
    """Pearson correlation between the rows of ``a`` and ``b`` (each image minus its mean).

    For all-positive natural images raw cosines are near 0.8 for any pair; centring removes
    that offset ([DS] Fig 2–3 comparisons).
    """
    a = np.asarray(a, np.float64).reshape(np.shape(a)[0], -1)
    b = np.asarray(b, np.float64).reshape(np.shape(b)[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def nearest_example(outputs, examples, zero_tol: float = 1e-12, centred: bool = False):
    """Which example each output is closest to in direction, and how close.

    For nonlinear "strong memorization" ([DS] Fig 8, [MO1] Fig 5): an output that is one
    training image has |cos| ≈ 1 to it and ≈ 0 to the others.

    Args:
      outputs: ``(m, ...)`` outputs; examples: ``(n, ...)`` training examples.
      zero_tol: outputs with a smaller norm (after centring) count as collapsed.
      centred: compare by centred correlation (each image minus its mean), as natural images
        need; the returned matrix is then |correlation|.

    Returns:
      ``(index, cos)``: ``(m,)`` index of the example with the largest |cos| (-1 for a
      collapsed output) and the ``(m, n)`` matrix of |cos| (0 for collapsed outputs).
    """
    out = np.asarray(outputs, np.float64).reshape(len(outputs), -1)
    ex = np.asarray(examples, np.float64).reshape(len(examples), -1)
    if centred:
        out = out - out.mean(axis=1, keepdims=True)
        ex = ex - ex.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(out, axis=1)
    collapsed = norms <= zero_tol
    cos = np.abs(out @ ex.T) / (np.where(collapsed, 1.0, norms)[:, None]
                                 * np.linalg.norm(ex, axis=1)[None, :])  # fmt: skip
    cos[collapsed] = 0.0
    return np.where(collapsed, -1, cos.argmax(axis=1)), cos


def truncated_svd_operator(matrix, k: int) -> np.ndarray:
    """The operator with all but its top ``k`` singular components zeroed ([DS] App D Table 1)."""
    u, s, vt = np.linalg.svd(np.asarray(matrix, np.float64))
    return (u[:, :k] * s[:k]) @ vt[:k]
