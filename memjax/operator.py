"""The learned linear operator of an autoencoder, by autodiff and by explicit layer matrices.

``operator`` is ``jax.jacfwd`` of the network on the flattened example: for a linear network it
is exactly the matrix ``A`` with ``f(x) = A x`` ([DS] §4.1), for a nonlinear one the local
Jacobian at ``x0``. ``top_eigenvalues``, ``top_singular_values`` and ``spectral_radius`` read
the top of its spectrum from jvps (and vjps) alone, for operators too large to form.
``layer_matrices`` builds the operator the way [DS] App B does, one matrix per layer, which
also exposes the entries that the architecture forces to zero.

One calling convention for every function on a network::

    operator(apply, x0, *, params=None, seeds=False, chunk_size=256)  -> (d, d) | (S, d, d)
    top_eigenvalues(apply, x0, k=16, *, params=None, seeds=False, ...) -> Spectrum
    top_singular_values(apply, x0, k=16, *, params=None, seeds=False, ...) -> SingularTriplets
    spectral_radius(apply, points, *, params=None, krylov_dim=32, ...)  -> (P,)

``apply`` maps one example to one output when ``params`` is None, and is called as
``apply(params, x)`` otherwise. Prefer the second form for a Flax model,
``operator(model.apply, x0, params=params)``: ``apply`` is a static argument of the jitted
programs, and bound ``model.apply`` methods of equal models compare equal, so one compilation
serves every parameter value (a ``functools.partial(model.apply, params)`` is a new function
each time, and compiles each time). ``seeds=True`` means ``params`` carry a leading seed axis
(as from ``train_seeds``) and the result gets one, vmapped. Every network evaluation runs its
matmuls and convolutions in true float32 (``precision="highest"``), also on GPUs, where JAX's
float32 default is TF32 (~1e-3 relative error, too coarse to tell an eigenvalue 1 from 0.999).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from memjax.models.conv import Conv, ConvAutoencoder, Upsample
from memjax.spectral import SingularTriplets, Spectrum


class _Flat:
    """``apply`` on flat vectors, hashable so that jit caches per (apply, shape).

    Bound methods are keyed by ``(function, instance)`` compared by equality, so that the
    ``model.apply`` of two equal Flax modules share one compilation (Python's own method
    equality compares instances by identity).
    """

    def __init__(self, apply: Callable, shape, with_params: bool):
        self.apply, self.shape, self.with_params = apply, tuple(shape), with_params
        owner = getattr(apply, "__self__", None)
        func = getattr(apply, "__func__", None)
        self._key = (func, owner) if func is not None else apply

    def __call__(self, params, v):
        x = v.reshape(self.shape)
        with jax.default_matmul_precision("highest"):
            y = self.apply(params, x) if self.with_params else self.apply(x)
        return jnp.ravel(y)

    def __hash__(self):
        return hash((self._key, self.shape, self.with_params))

    def __eq__(self, other):
        return isinstance(other, _Flat) and (self._key, self.shape, self.with_params) == (
            other._key,
            other.shape,
            other.with_params,
        )


def _prepare(apply, x0, params, seeds) -> tuple[_Flat, jax.Array]:
    if not callable(apply):
        raise ValueError(f"apply must be callable, got {type(apply).__name__}")
    if seeds and params is None:
        raise ValueError("seeds=True needs params with a leading seed axis")
    x0 = jnp.asarray(x0)
    return _Flat(apply, x0.shape, params is not None), x0


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


@functools.partial(jax.jit, static_argnames=("flat", "chunk_size", "seeds"))
def _operator_jit(flat, params, x0, chunk_size, seeds):
    def one(p):
        return _jacobian(functools.partial(flat, p), x0, chunk_size)

    return jax.vmap(one)(params) if seeds else one(params)


def operator(
    apply: Callable,
    x0: jax.Array,
    *,
    params: Any = None,
    seeds: bool = False,
    chunk_size: int = 256,
) -> jax.Array:
    """The ``d × d`` Jacobian of ``apply`` at ``x0`` (the operator ``A`` of a linear net).

    ``jax.linearize`` runs the forward pass once; its jvp is then mapped over the standard
    basis ``chunk_size`` vectors at a time. Memory: the forward residuals once, plus
    ``chunk_size`` tangent copies of every activation (plain ``jax.jacfwd`` holds ``d``), plus
    the ``d × d`` result (times ``S`` with seeds). Time: ``d`` jvps, each about one forward
    pass.

    Args:
      apply: ``apply(x)`` on one example, or ``apply(params, x)`` when ``params`` is given
        (see the module docstring for why the latter compiles once per model).
      x0: the point, of the example's shape (any point for a linear net).
      params: the parameters passed to ``apply``, or None.
      seeds: ``params`` carry a leading seed axis; one operator per seed, vmapped (on CPU,
        vmapped conv weights become grouped convolutions, slower than a loop over seeds).
      chunk_size: basis vectors per vmapped jvp.

    Returns:
      ``J`` of shape ``(d, d)`` (``(S, d, d)`` with seeds) with ``J[i, j] = ∂ f(x)_i / ∂ x_j``
      in row-major order of the example's shape.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    flat, x0 = _prepare(apply, x0, params, seeds)
    return _operator_jit(flat, params, x0.ravel(), chunk_size, seeds)


def _per_seed(solve, params, seeds):
    """``solve(params)``, or stacked over the leading seed axis of ``params``."""
    if not seeds:
        return solve(params)
    n = jax.tree.leaves(params)[0].shape[0]
    results = [solve(jax.tree.map(lambda a, i=i: a[i], params)) for i in range(n)]
    return type(results[0])(*(np.stack(parts) for parts in zip(*results, strict=True)))


def top_eigenvalues(
    apply: Callable,
    x0: jax.Array,
    k: int = 16,
    *,
    params: Any = None,
    seeds: bool = False,
    tol: float = 1e-8,
    seed: int = 0,
) -> Spectrum:
    """The ``k`` largest-magnitude eigenpairs of the Jacobian at ``x0``, from jvps alone.

    Implicitly restarted Arnoldi (ARPACK via ``scipy.sparse.linalg.eigs``) on a jitted jvp:
    memory is O(d·ncv) instead of the O(d²) of the dense operator, so it reaches inputs whose
    operator does not fit (3×224×224: 90 GB dense). Each Arnoldi step costs one jvp, about one
    forward pass; ARPACK works in float64 and calls the jvp in the input's dtype.

    Args:
      apply, x0, params, seeds: as for :func:`operator`.
      k: how many eigenvalues; must be < d − 1.
      tol: ARPACK's relative tolerance.
      seed: seed of ARPACK's random start vector, for reproducible results.

    Returns:
      :class:`memjax.spectral.Spectrum` sorted by decreasing ``|λ|``: ``values`` ``(k,)``
      complex and ``vectors`` ``(d, k)`` (with seeds, a leading ``S`` axis on both).
    """
    from scipy.sparse.linalg import LinearOperator, eigs

    flat, x0 = _prepare(apply, x0, params, seeds)
    d = x0.size
    if not 1 <= k < d - 1:
        raise ValueError(f"k must be between 1 and d - 2 = {d - 2}, got {k}")

    def solve(p):
        _, jvp = jax.linearize(functools.partial(flat, p), x0.ravel())
        jvp = jax.jit(jvp)

        def matvec(v):
            return np.asarray(jvp(jnp.asarray(np.real(v).ravel(), x0.dtype)), np.float64)

        start = np.random.default_rng(seed).normal(size=d)
        values, vectors = eigs(LinearOperator((d, d), matvec=matvec, dtype=np.float64), k=k,
                               which="LM", tol=tol, v0=start)  # fmt: skip
        order = np.lexsort((-values.imag, -np.round(np.abs(values), 12)))
        return Spectrum(values[order], vectors[:, order])

    return _per_seed(solve, params, seeds)


def top_singular_values(
    apply: Callable,
    x0: jax.Array,
    k: int = 16,
    *,
    params: Any = None,
    seeds: bool = False,
    tol: float = 1e-8,
    seed: int = 0,
) -> SingularTriplets:
    """The ``k`` largest singular triplets of the Jacobian at ``x0``, from a jvp and a vjp.

    Lanczos bidiagonalization (ARPACK via ``scipy.sparse.linalg.svds``) with ``J v`` from
    ``jax.linearize`` and ``Jᵀ u`` from ``jax.vjp``, both jitted: like :func:`top_eigenvalues`,
    it never forms the d×d operator. Singular values measure how far the map stretches inputs
    (the rank of the learned solution, [DS] App D's SVD truncation) where eigenvalues measure
    which inputs it keeps.

    Args:
      apply, x0, params, seeds: as for :func:`operator`.
      k: how many singular values; must be < d.
      tol, seed: as for :func:`top_eigenvalues`.

    Returns:
      :class:`memjax.spectral.SingularTriplets` ``(u, s, vt)`` sorted by decreasing ``s``:
      ``(d, k)``, ``(k,)``, ``(k, d)`` (with seeds, a leading ``S`` axis on each).
    """
    from scipy.sparse.linalg import LinearOperator, svds

    flat, x0 = _prepare(apply, x0, params, seeds)
    d = x0.size
    if not 1 <= k < d:
        raise ValueError(f"k must be between 1 and d - 1 = {d - 1}, got {k}")

    def solve(p):
        f = functools.partial(flat, p)
        _, jvp = jax.linearize(f, x0.ravel())
        _, vjp = jax.vjp(f, x0.ravel())
        jvp, vjp = jax.jit(jvp), jax.jit(vjp)

        def as_input(v):
            return jnp.asarray(np.asarray(v).ravel(), x0.dtype)

        linear = LinearOperator(
            (d, d),
            matvec=lambda v: np.asarray(jvp(as_input(v)), np.float64),
            rmatvec=lambda u: np.asarray(vjp(as_input(u))[0], np.float64),
            dtype=np.float64,
        )
        start = np.random.default_rng(seed).normal(size=d)
        u, s, vt = svds(linear, k=k, tol=tol, v0=start)
        order = np.argsort(-s)
        return SingularTriplets(u[:, order], s[order], vt[order])

    return _per_seed(solve, params, seeds)


def spectral_radius(
    apply: Callable, points, *, params: Any = None, krylov_dim: int = 32, seed: int = 0
) -> np.ndarray:
    """The spectral radius of the Jacobian at each of many points, in one vmapped program.

    For attractor tests: a fixed point ``x = f(x)`` attracts nearby inputs when the Jacobian
    there has spectral radius < 1. Each point gets ``krylov_dim`` steps of Arnoldi on its own
    jvp (classical Gram–Schmidt, applied twice), all points at once under ``jax.vmap``; the
    radius is the largest |Ritz value| of the resulting Hessenberg matrices. Exact once
    ``krylov_dim`` reaches d; for well-separated top eigenvalues a few dozen steps suffice
    (tested against the dense spectrum).

    Args:
      apply, params: as for :func:`operator`.
      points: ``(P, *example_shape)``.
      krylov_dim: Arnoldi steps per point.

    Returns:
      ``(P,)`` spectral radius estimates (float64).
    """
    points = jnp.asarray(points)
    if points.ndim < 2:
        raise ValueError(f"points must be (P, *example_shape), got shape {points.shape}")
    flat, _ = _prepare(apply, points[0], params, False)
    d = math.prod(points.shape[1:])
    m = min(krylov_dim, d)
    starts = jax.random.normal(jax.random.PRNGKey(seed), (len(points), d), points.dtype)
    hessenberg = _arnoldi_batch(flat, params, points.reshape(len(points), d), starts, m)
    ritz = np.linalg.eigvals(np.asarray(hessenberg, np.float64)[:, :m, :m])
    return np.abs(ritz).max(axis=1)


def _arnoldi_batch(flat, params, points, starts, m):
    # A Python loop over jitted steps, not a fori_loop: convolutions in loop bodies are ~10×
    # slower on XLA:CPU (jax-ml/jax#12868), and m calls cost nothing next to the jvps.
    basis = jnp.zeros((len(points), m + 1, starts.shape[1]), starts.dtype)
    basis = basis.at[:, 0].set(starts / jnp.linalg.norm(starts, axis=1, keepdims=True))
    h = jnp.zeros((len(points), m + 1, m), starts.dtype)
    for j in range(m):
        basis, h = _arnoldi_step(flat, params, points, basis, h, j)
    return h


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(3, 4))
def _arnoldi_step(flat, params, points, basis, h, j):
    def one(x, basis, h):
        w = jax.jvp(functools.partial(flat, params), (x,), (basis[j],))[1]
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
