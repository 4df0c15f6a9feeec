"""The learned linear operator of an autoencoder, by autodiff and by explicit layer matrices.

``operator(f, x0)`` is ``jax.jacfwd(f)(x0)`` on the flattened example: for a linear network it
is exactly the matrix ``A`` with ``f(x) = A x`` ([DS] §4.1), for a nonlinear one the local
Jacobian at ``x0``. ``layer_matrices`` builds the same operator the way [DS] App B does, one
matrix per layer, which also exposes the entries that the architecture forces to zero.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from memjax.models.conv import Conv, ConvAutoencoder, Upsample


def _jacobian(f, x0, chunk_size):
    """Columns ``J e_i`` of the Jacobian of flat ``f`` at flat ``x0``, as a ``(d, d)`` matrix."""
    d = x0.size
    _, jvp = jax.linearize(f, x0)

    def column(i):
        return jvp(jax.nn.one_hot(i, d, dtype=x0.dtype))

    # lax.map with batch_size vmaps the jvp over `chunk_size` basis vectors at a time, so the
    # tangents alive at once are chunk_size copies of each activation, not d copies.
    columns = jax.lax.map(column, jnp.arange(d), batch_size=min(chunk_size, d))
    return columns.T


def _check_chunk(chunk_size):
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")


def operator(apply: Callable, x0: jax.Array, chunk_size: int = 256) -> jax.Array:
    """The ``d × d`` Jacobian of ``apply`` at ``x0`` (the operator ``A`` of a linear net).

    ``jax.linearize`` runs the forward pass once; its jvp is then mapped over the standard
    basis ``chunk_size`` vectors at a time. Memory: the forward residuals once, plus
    ``chunk_size`` tangent copies of every activation (plain ``jax.jacfwd`` holds ``d``), plus
    the ``d × d`` result. Time: ``d`` jvps, each about one forward pass.

    Args:
      apply: a function of one example. Compilation is cached per ``apply`` object; for a Flax
        model prefer :func:`model_operator`, which caches per model across parameters.
      x0: the point, of the example's shape (any point for a linear net).
      chunk_size: basis vectors per vmapped jvp.

    Returns:
      ``J`` of shape ``(d, d)`` with ``J[i, j] = ∂ f(x)_i / ∂ x_j`` in row-major order of the
      example's shape.
    """
    _check_chunk(chunk_size)
    x0 = jnp.asarray(x0)
    return _operator_jit(_FlatApply(apply, x0.shape), x0.ravel(), chunk_size)


_operator_jit = jax.jit(_jacobian, static_argnames=("f", "chunk_size"))


@functools.partial(jax.jit, static_argnames=("model", "chunk_size", "seeds"))
def _model_operator_jit(model, params, x0, chunk_size, seeds):
    def one(p):
        return _jacobian(
            _FlatApply(functools.partial(model.apply, p), x0.shape), x0.ravel(), chunk_size
        )

    return jax.vmap(one)(params) if seeds else one(params)


def model_operator(model, params, x0, chunk_size: int = 256, seeds: bool = False) -> jax.Array:
    """:func:`operator` of ``model.apply(params, ·)`` at ``x0``, compiled once per model.

    Args:
      seeds: ``params`` carry a leading seed axis (as from ``train_seeds``); returns
        ``(n_seeds, d, d)``, one operator per seed, vmapped.
    """
    _check_chunk(chunk_size)
    return _model_operator_jit(model, params, jnp.asarray(x0), chunk_size, seeds)


def top_eigenvalues(
    apply: Callable, x0: jax.Array, k: int = 16, tol: float = 1e-8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest-magnitude eigenpairs of the Jacobian at ``x0``, from jvps alone.

    Implicitly restarted Arnoldi (ARPACK via ``scipy.sparse.linalg.eigs``) on a jitted jvp:
    memory is O(d·ncv) instead of the O(d²) of the dense operator, so it reaches inputs whose
    operator does not fit (3×224×224: 90 GB dense). Each Arnoldi step costs one jvp, about one
    forward pass; ARPACK works in float64 and calls the jvp in the input's dtype.

    Args:
      apply: a function of one example (as for :func:`operator`).
      x0: the point, of the example's shape.
      k: how many eigenvalues; must be < d − 1.
      tol: ARPACK's relative tolerance.
      seed: seed of ARPACK's random start vector, for reproducible results.

    Returns:
      ``(values, vectors)`` sorted by decreasing ``|λ|``: ``(k,)`` complex and ``(d, k)``.
    """
    from scipy.sparse.linalg import LinearOperator, eigs

    x0 = jnp.asarray(x0)
    d = x0.size
    if not 1 <= k < d - 1:
        raise ValueError(f"k must be between 1 and d - 2 = {d - 2}, got {k}")
    flat = _FlatApply(apply, x0.shape)
    _, jvp = jax.linearize(flat, x0.ravel())
    jvp = jax.jit(jvp)

    def matvec(v):
        return np.asarray(jvp(jnp.asarray(np.real(v).ravel(), x0.dtype)), np.float64)

    start = np.random.default_rng(seed).normal(size=d)
    values, vectors = eigs(LinearOperator((d, d), matvec=matvec, dtype=np.float64), k=k,
                           which="LM", tol=tol, v0=start)  # fmt: skip
    order = np.lexsort((-values.imag, -np.round(np.abs(values), 12)))
    return values[order], vectors[:, order]


def top_singular_values(
    apply: Callable, x0: jax.Array, k: int = 16, tol: float = 1e-8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest singular triplets of the Jacobian at ``x0``, from a jvp and a vjp.

    Lanczos bidiagonalization (ARPACK via ``scipy.sparse.linalg.svds``) with ``J v`` from
    ``jax.linearize`` and ``Jᵀ u`` from ``jax.vjp``, both jitted: like :func:`top_eigenvalues`,
    it never forms the d×d operator. Singular values measure how far the map stretches inputs
    (the rank of the learned solution, [DS] App D's SVD truncation) where eigenvalues measure
    which inputs it keeps.

    Returns:
      ``(u, s, vt)`` as ``svds``, sorted by decreasing ``s``: ``(d, k)``, ``(k,)``, ``(k, d)``.
    """
    from scipy.sparse.linalg import LinearOperator, svds

    x0 = jnp.asarray(x0)
    d = x0.size
    if not 1 <= k < d:
        raise ValueError(f"k must be between 1 and d - 1 = {d - 1}, got {k}")
    flat = _FlatApply(apply, x0.shape)
    _, jvp = jax.linearize(flat, x0.ravel())
    _, vjp = jax.vjp(flat, x0.ravel())
    jvp, vjp = jax.jit(jvp), jax.jit(vjp)

    def as_input(v):
        return jnp.asarray(np.asarray(v).ravel(), x0.dtype)

    operator = LinearOperator(
        (d, d),
        matvec=lambda v: np.asarray(jvp(as_input(v)), np.float64),
        rmatvec=lambda u: np.asarray(vjp(as_input(u))[0], np.float64),
        dtype=np.float64,
    )
    start = np.random.default_rng(seed).normal(size=d)
    u, s, vt = svds(operator, k=k, tol=tol, v0=start)
    order = np.argsort(-s)
    return u[:, order], s[order], vt[order]


def spectral_radius(apply: Callable, points, krylov_dim: int = 32, seed: int = 0) -> np.ndarray:
    """The spectral radius of the Jacobian at each of many points, in one vmapped program.

    For attractor tests: a fixed point ``x = f(x)`` attracts nearby inputs when the Jacobian
    there has spectral radius < 1. Each point gets ``krylov_dim`` steps of Arnoldi on its own
    jvp (classical Gram–Schmidt, applied twice), all points at once under ``jax.vmap``; the
    radius is the largest |Ritz value| of the resulting Hessenberg matrices. Exact once
    ``krylov_dim`` reaches d; for well-separated top eigenvalues a few dozen steps suffice
    (tested against the dense spectrum).

    Args:
      apply: a function of one example; points: ``(P, *example_shape)``.

    Returns:
      ``(P,)`` spectral radius estimates (float64).
    """
    points = jnp.asarray(points)
    d = math.prod(points.shape[1:])
    m = min(krylov_dim, d)
    flat = _FlatApply(apply, points.shape[1:])
    starts = jax.random.normal(jax.random.PRNGKey(seed), (len(points), d), points.dtype)
    hessenberg = _arnoldi_batch(flat, points.reshape(len(points), d), starts, m)
    ritz = np.linalg.eigvals(np.asarray(hessenberg, np.float64)[:, :m, :m])
    return np.abs(ritz).max(axis=1)


def _arnoldi_batch(flat, points, starts, m):
    # A Python loop over jitted steps, not a fori_loop: convolutions in loop bodies are ~10×
    # slower on XLA:CPU (jax-ml/jax#12868), and m calls cost nothing next to the jvps.
    basis = jnp.zeros((len(points), m + 1, starts.shape[1]), starts.dtype)
    basis = basis.at[:, 0].set(starts / jnp.linalg.norm(starts, axis=1, keepdims=True))
    h = jnp.zeros((len(points), m + 1, m), starts.dtype)
    for j in range(m):
        basis, h = _arnoldi_step(flat, points, basis, h, j)
    return h


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(2, 3))
def _arnoldi_step(flat, points, basis, h, j):
    def one(x, basis, h):
        w = jax.jvp(flat, (x,), (basis[j],))[1]
        scale = jnp.linalg.norm(w)
        done = (jnp.arange(basis.shape[0]) <= j).astype(w.dtype)  # rows of the basis so far
        for _ in range(2):  # Gram–Schmidt twice keeps the basis orthogonal in float32
            coeffs = (basis @ w) * done
            w = w - coeffs @ basis
            h = h.at[:, j].add(coeffs)
        norm = jnp.linalg.norm(w)
        # What is left at rounding level means the Krylov space is invariant (the Jacobians
        # of downsampling nets have large null spaces): stop there rather than normalise noise.
        alive = norm > 100 * jnp.finfo(w.dtype).eps * scale
        h = h.at[j + 1, j].set(jnp.where(alive, norm, 0))
        basis = basis.at[j + 1].set(jnp.where(alive, w / jnp.where(alive, norm, 1), 0))
        return basis, h

    return jax.vmap(one)(points, basis, h)


class _FlatApply:
    """A hashable flat view of ``apply`` so that jit caches per (apply, shape).

    Its matmuls and convolutions run in true float32 (``"highest"``), and so do their jvps
    and transposes, which inherit the precision: on GPUs JAX's default for float32 is TF32,
    whose 10-bit mantissa puts ~1e-3 relative errors into the operator, too coarse to tell an
    eigenvalue 1 from 0.999. On CPU the two settings are the same arithmetic.
    """

    def __init__(self, apply, shape):
        self.apply, self.shape = apply, tuple(shape)

    def __call__(self, v):
        with jax.default_matmul_precision("highest"):
            return jnp.ravel(self.apply(v.reshape(self.shape)))

    def __hash__(self):
        return hash((self.apply, self.shape))

    def __eq__(self, other):
        return isinstance(other, _FlatApply) and (self.apply, self.shape) == (
            other.apply,
            other.shape,
        )


# ---------------------------------------------------------------------------------------------
# Explicit layer matrices ([DS] App B, Algorithms 1–2), on unpadded channels-first vectors.
# The papers' algorithms act on zero-padded vectors; dropping the padded rows and columns
# gives the same product on the image itself, which is what jacfwd returns.


def conv_matrix(kernel_oihw: np.ndarray, size: int, stride: int = 1, padding: int = 1):
    """The matrix of one zero-padded cross-correlation on ``(I, size, size)`` images.

    Returns an array of shape ``(O·s'·s', I·size·size)`` with ``s'`` the output size, so that
    ``M @ x.ravel() == conv(x).ravel()``. Entries that no kernel weight reaches are zero:
    these are the forced zeros of [MO1] Thm 4.
    """
    kernel_oihw = np.asarray(kernel_oihw)
    n_out, n_in, kh, kw = kernel_oihw.shape
    out = (size + 2 * padding - kh) // stride + 1
    m = np.zeros((n_out, out, out, n_in, size, size), kernel_oihw.dtype)
    for a in range(kh):
        for b in range(kw):
            for r in range(out):
                src_r = r * stride + a - padding
                if not 0 <= src_r < size:
                    continue
                for c in range(out):
                    src_c = c * stride + b - padding
                    if 0 <= src_c < size:
                        m[:, r, c, :, src_r, src_c] += kernel_oihw[:, :, a, b]
    return m.reshape(n_out * out * out, n_in * size * size)


def upsample_matrix(channels: int, size: int, factor: int, dtype=np.float64):
    """The 0/1 matrix of nearest-neighbour upsampling of ``(channels, size, size)`` images."""
    big = size * factor
    rows = np.arange(channels * big * big)
    ch, rem = np.divmod(rows, big * big)
    r, c = np.divmod(rem, big)
    cols = ch * size * size + (r // factor) * size + c // factor
    m = np.zeros((rows.size, channels * size * size), dtype)
    m[rows, cols] = 1
    return m


def layer_matrices(model: ConvAutoencoder, params, input_shape) -> list[np.ndarray]:
    """One matrix per layer of a linear ConvAutoencoder; their product (last first) is ``A``.

    Raises:
      ValueError: the model is not linear, has biases or skip connections (then it has no
        layer-by-layer matrix factorisation of this form).
    """
    if model.activation != "linear" or model.use_bias or model.skip_every:
        raise ValueError("layer_matrices needs a linear ConvAutoencoder without bias and skips")
    channels, size, _ = input_shape
    matrices, conv_index = [], 0
    for layer in model.layers:
        if isinstance(layer, Upsample):
            matrices.append(upsample_matrix(channels, size, layer.factor))
        else:
            assert isinstance(layer, Conv)
            hwio = np.asarray(params["params"][f"conv{conv_index}"]["kernel"], np.float64)
            matrices.append(conv_matrix(hwio.transpose(3, 2, 0, 1), size, layer.stride, layer.pad))
            channels, conv_index = layer.features, conv_index + 1
        size = layer.output_size(size)
    return matrices


def product(matrices: list[np.ndarray]) -> np.ndarray:
    """``M_L ⋯ M_2 M_1`` for matrices listed first layer first."""
    return functools.reduce(lambda acc, m: m @ acc, matrices[1:], matrices[0])
