"""Translations of ``(C, H, W)`` images and the memorization of a training set up to them.

[DS] §5 / Fig 6 read "rank ≈ k with the training images as top eigenvectors" off the operator
``A = ∂f/∂x`` of a downsampling net ``D_{a,b}``. Its three stride-2 convs and ×8 nearest
upsampling make ``D`` commute with translations by 8 pixels: with circular padding exactly
(each stride-``s`` conv maps a circular shift by ``s·m`` to a shift by ``m``, a ×``f`` upsampling
maps a shift by ``m`` to one by ``f·m``), with zero padding away from the border. If ``A x = x``
and ``A S = S A`` then ``A (S x) = S A x = S x``: every such shift of a fitted image is a fixed
point too, so the eigenvalue-1 space holds the *shift orbit* of ``x`` (``(H/8)·(W/8)`` images:
16 on 32×32, 64 on 64×64), not ``x`` alone. This module gives the shifts (as functions and as
matrices), the commutator ``‖A S − S A‖ / ‖A‖`` (dense and matrix-free), the orbit, and the
distance of eigenvectors to ``span(X ∪ shifts of X)`` beside the plain ``span(X)``.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

from memjax.models.conv import Conv, Layer, Upsample
from memjax.spectral import distance_to_span, span_dimension


def _check_shape(shape) -> tuple[int, int, int]:
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be a positive (C, H, W), got {shape}")
    return shape


def shift(image, dy: int, dx: int):
    """``image`` translated circularly by ``dy`` rows down and ``dx`` columns right.

    Args:
      image: ``(..., H, W)`` array (numpy or JAX); the last two axes are shifted.

    Returns:
      The same type and shape: ``out[..., (i + dy) % H, (j + dx) % W] = image[..., i, j]``.
    """
    if np.ndim(image) < 2:
        raise ValueError(f"image needs two spatial axes, got shape {np.shape(image)}")
    roll = jnp.roll if isinstance(image, jax.Array) else np.roll
    return roll(image, (dy, dx), axis=(-2, -1))


def shift_matrix(shape, dy: int, dx: int, dtype=np.float64) -> np.ndarray:
    """The permutation matrix ``S`` with ``S vec(x) = vec(shift(x, dy, dx))``.

    ``vec`` is the row-major flattening of a ``(C, H, W)`` image (memjax.operator's order).
    Memory ``d²`` for ``d = C·H·W``: meant for small images; use :func:`shift` otherwise.
    """
    shape = _check_shape(shape)
    d = int(np.prod(shape))
    source = np.arange(d).reshape(shape)
    target = shift(source, dy, dx).ravel()  # target[p] = index of the pixel that lands on p
    matrix = np.zeros((d, d), dtype)
    matrix[np.arange(d), target] = 1.0
    return matrix


def commutator(matrix, shape, dy: int, dx: int) -> float:
    """``‖A S − S A‖_F / ‖A‖_F`` for a dense ``(d, d)`` operator ``A`` and the shift ``S``.

    0 means ``A`` commutes with the translation. Computed with index permutations, so no
    ``d × d`` shift matrix is formed.
    """
    shape = _check_shape(shape)
    a = np.asarray(matrix)
    d = int(np.prod(shape))
    if a.shape != (d, d):
        raise ValueError(f"matrix must be ({d}, {d}) for images of shape {shape}, got {a.shape}")
    norm = np.linalg.norm(a)
    if norm == 0:
        raise ValueError("the operator is zero; the relative commutator is undefined")
    perm = shift(np.arange(d).reshape(shape), dy, dx).ravel()
    # (S A)[p] = A[perm[p]]; (A S)[:, q] = A[:, inverse(perm)[q]], i.e. (A S)[:, perm] = A.
    s_a = a[perm]
    a_s = np.empty_like(a)
    a_s[:, perm] = a
    return float(np.linalg.norm(a_s - s_a) / norm)


def _function(apply: Callable, params):
    return apply if params is None else (lambda x: apply(params, x))


def commutator_matrix_free(
    apply: Callable,
    x0,
    dy: int,
    dx: int,
    *,
    key: jax.Array,
    probes: int = 8,
    params=None,
) -> float:
    """Estimate of ``‖A S − S A‖_F / ‖A‖_F`` for the Jacobian ``A`` of ``apply`` at ``x0``.

    Hutchinson's identity ``E‖M v‖² = ‖M‖_F²`` for Gaussian ``v``: the ratio of
    ``Σ‖(A S − S A) v‖²`` to ``Σ‖A v‖²`` over ``probes`` directions, each product a jvp of
    the network (cost: ``2·probes`` jvps, memory of one forward pass per probe). Exact for a
    commuting ``A`` (the numerator is 0 up to rounding); relative error ~``1/√probes``
    otherwise. For a nonlinear net the Jacobian at ``x0`` commutes with ``S`` only if ``x0`` is
    shift-invariant: use :func:`equivariance_error` for the network itself.

    Args:
      apply: ``apply(x)`` on one ``(C, H, W)`` image, or ``apply(params, x)`` with ``params``.
      x0: ``(C, H, W)`` point of linearisation.
      key: PRNG key for the probe directions.
    """
    if probes < 1:
        raise ValueError(f"probes must be positive, got {probes}")
    x0 = jnp.asarray(x0)
    _check_shape(x0.shape)
    f = _function(apply, params)
    v = jax.random.normal(key, (probes, *x0.shape), x0.dtype)

    @jax.jit
    def sums(x0, v):
        _, jvp = jax.linearize(f, x0)

        def one(v):
            a_v = jvp(v)
            return jnp.sum((jvp(shift(v, dy, dx)) - shift(a_v, dy, dx)) ** 2), jnp.sum(a_v**2)

        return jax.lax.map(one, v)

    with jax.default_matmul_precision("highest"):
        num, den = sums(x0, v)
    if float(jnp.sum(den)) == 0:
        raise ValueError("the operator is zero on the probes; the relative commutator is undefined")
    return float(jnp.sqrt(jnp.sum(num) / jnp.sum(den)))


def equivariance_error(apply: Callable, x, dy: int, dx: int, *, params=None) -> float:
    """``‖f(S x) − S f(x)‖ / ‖f(x)‖``: 0 when the (nonlinear) network commutes with ``S`` at x."""
    x = jnp.asarray(x)
    _check_shape(x.shape)
    f = _function(apply, params)
    with jax.default_matmul_precision("highest"):
        fx, fsx = f(x), f(shift(x, dy, dx))
    return float(jnp.linalg.norm(fsx - shift(fx, dy, dx)) / jnp.linalg.norm(fx))


def shift_covariance(vectors, shape, dy: int, dx: int) -> np.ndarray:
    """``|v^H S v| / ‖v‖²`` per (complex) column ``v``: 1 iff ``S v = χ v`` for a phase ``χ``.

    An operator that commutes with ``S`` has eigenvectors (for simple eigenvalues) that ``S``
    only multiplies by a character ``χ`` (``χ⁴ = 1`` for 8-pixel shifts of 32×32 images): they
    are Fourier modes of the shift group, e.g. 8-periodic images for ``χ = 1``. Values near 0
    mean the eigenvector moves to something orthogonal under the shift.

    Args:
      vectors: ``(d, k)`` (or ``(d,)``) vectors, ``d = C·H·W`` in row-major ``(C, H, W)`` order.
    """
    shape = _check_shape(shape)
    v = np.asarray(vectors)
    v = v[:, None] if v.ndim == 1 else v
    if v.shape[0] != int(np.prod(shape)):
        raise ValueError(f"vectors have {v.shape[0]} entries, images of shape {shape} have "
                         f"{int(np.prod(shape))}")  # fmt: skip
    images = v.T.reshape(-1, *shape)
    shifted = shift(images, dy, dx).reshape(len(images), -1).T
    return np.abs(np.sum(np.conj(v) * shifted, axis=0)) / np.sum(np.abs(v) ** 2, axis=0)


def equivariant_shift(layers: tuple[Layer, ...], size: int) -> int | None:
    """Smallest ``t`` such that the layer sequence commutes with circular shifts by ``t``.

    A stride-``s`` circular conv maps a shift by ``s·m`` to a shift by ``m`` (it needs ``s``
    to divide the shift arriving at it); a ×``f`` nearest upsampling maps ``m`` to ``f·m``.
    ``D_{a,b}`` gives 8 (three stride-2 convs). None if some conv is not circularly padded:
    zero or reflect padding break the symmetry at the border.

    Args:
      layers: the :class:`~memjax.models.conv.ConvAutoencoder` layer specs.
      size: the input height (= width); shifts are taken modulo it.
    """
    if any(isinstance(layer, Conv) and layer.padding_mode != "circular" for layer in layers):
        return None
    for t in range(1, size + 1):
        current, ok = Fraction(t), True
        for layer in layers:
            if isinstance(layer, Upsample):
                current *= layer.factor
            elif current.denominator != 1 or current.numerator % layer.stride:
                ok = False
                break
            else:
                current /= layer.stride
        if ok and current.denominator == 1:
            return t
    return size  # the trivial shift by the full size


def orbit_size(shape, stride: int) -> int:
    """Number of distinct shifts by multiples of ``stride``: ``(H / stride)·(W / stride)``."""
    _, height, width = _check_shape(shape)
    if stride < 1 or height % stride or width % stride:
        raise ValueError(f"stride must divide the image size {height}×{width}, got {stride}")
    return (height // stride) * (width // stride)


def shift_orbit(examples, stride: int) -> np.ndarray:
    """Every example shifted by every ``(stride·i, stride·j)``: ``(n·orbit_size, C, H, W)``.

    Ordered example-major (the ``orbit_size`` shifts of example 0 first, the unshifted one
    leading each block).

    Args:
      examples: ``(n, C, H, W)`` images.
    """
    x = np.asarray(examples)
    if x.ndim != 4:
        raise ValueError(f"examples must be (n, C, H, W), got shape {x.shape}")
    _, _, height, width = x.shape
    orbit_size(x.shape[1:], stride)
    shifts = [(dy, dx) for dy in range(0, height, stride) for dx in range(0, width, stride)]
    return np.stack([shift(image, dy, dx) for image in x for dy, dx in shifts])


def orbit_dimension(examples, stride: int) -> int:
    """``dim span(shift orbit of X)``: the eigenvalue-1 multiplicity that exact fits predict.

    A net that commutes with the stride shifts and fits every example exactly has each of
    them as a fixed point, so eigenvalue 1 has at least this multiplicity.
    """
    return span_dimension(shift_orbit(examples, stride))


def orbit_distances(vectors, examples, stride: int) -> dict[str, np.ndarray]:
    """Distance of each (complex) column of ``vectors`` to ``span(X)`` and to the orbit span.

    ``"span"`` is :func:`memjax.spectral.distance_to_span` of the examples, ``"orbit"`` of
    their :func:`shift_orbit`: a small orbit distance with a large span distance means the
    eigenvector stores the training images up to translation.

    Args:
      vectors: ``(d, k)`` vectors (eigenvectors as columns).
      examples: ``(n, C, H, W)`` images with ``C·H·W = d``.
    """
    return {
        "span": distance_to_span(vectors, examples),
        "orbit": distance_to_span(vectors, shift_orbit(examples, stride)),
    }
