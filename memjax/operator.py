"""The learned linear operator of an autoencoder, by autodiff and by explicit layer matrices.

``operator`` is ``jax.jacfwd`` of the network on the flattened example: for a linear network it
is exactly the matrix ``A`` with ``f(x) = A x`` ([DS] §4.1), for a nonlinear one the local
Jacobian at ``x0``. ``top_eigenvalues``, ``top_singular_values`` and ``spectral_radius`` read
the top of its spectrum from jvps (and vjps) alone, for operators too large to form.
``layer_matrices`` builds the operator the way [DS] App B does, one matrix per layer, which
also exposes the entries that the architecture forces to zero.

One calling convention for every function on a network::

    operator(apply, x0, *, params=None, seeds=False, chunk_size=256)  -> (d, d) | (S, d, d)
    seed_spectra(apply, x0, *, params, mask=None)                     -> [Spectrum] per seed
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

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

import jax
import jax.numpy as jnp
import numpy as np

from memjax.models.conv import Conv, ConvAutoencoder, Upsample
from memjax.spectral import (
    RitzPairs,
    SingularTriplets,
    Spectrum,
    _compose,
    eigenspectrum,
    krylov_eigs,
)
from memjax.train import SCAN_FLOP_LIMIT, run_params


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
        self._key = (func, owner) if func is not None and _hashable(owner) else apply

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


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:  # e.g. a dataclass with eq=True: its methods keep identity semantics
        return False
    return True


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


def seed_spectra(apply: Callable, x0: jax.Array, *, params: Any, mask=None) -> list[Spectrum]:
    """The dense eigenspectrum of each seed's operator, for seeds trained together.

    :func:`operator` with ``seeds=True`` (one vmapped program), then
    :func:`memjax.spectral.eigenspectrum` of each ``(d, d)`` matrix on the host. ``mask``
    (``(S,)`` booleans, e.g. ``Run.fits[name].mask``) keeps only the seeds where it is True: an
    untrained net's spectrum says nothing about memorization. Memory: ``S`` dense operators.

    Returns:
      One :class:`memjax.spectral.Spectrum` per kept seed, in seed order.
    """
    operators = np.asarray(operator(apply, x0, params=params, seeds=True))
    if mask is not None:
        operators = operators[np.asarray(mask, bool)]
    return [eigenspectrum(a) for a in operators]


@dataclasses.dataclass(frozen=True)
class _JacobianProduct:
    """``make_matvec`` for :func:`memjax.spectral.krylov_eigs`: ``v ↦ J v`` or, for singular
    values, ``v ↦ Jᵀ J v``, with ``J`` the Jacobian of ``flat(params, ·)`` at ``x``.

    ``jax.linearize``/``jax.vjp`` run the forward pass once per call and keep its residuals:
    once per solve in the device loop. The host loop calls it once per product, where a
    nonlinear net pays its forward pass again (a linear net's is dead code: XLA drops it).
    For ``JᵀJ`` it returns the two stages (jvp, vjp), which the host loop compiles apart.
    """

    flat: _Flat
    gram: bool

    @property
    def stages(self) -> int:
        return 2 if self.gram else 1

    def __call__(self, operand):
        params, x = operand
        f = functools.partial(self.flat, params)
        _, jvp = jax.linearize(f, x)
        if not self.gram:
            return jvp
        _, vjp = jax.vjp(f, x)
        return jvp, lambda u: vjp(u)[0]


def _choose_loop(loop: str, product: _JacobianProduct, operand) -> str:
    """``"host"`` for costly products with convolutions on XLA:CPU, else ``"device"``.

    XLA:CPU runs convolutions inside loop bodies several times slower (jax-ml/jax#12868; for
    ``D_{64,192}``'s vjp 5×, its jvp 1.2×, see ``benchmarks/solvers.py``), which matters once
    a product costs more than a dispatch: the same threshold as :func:`memjax.train` uses.
    Other backends have no such trap, and there the device loop saves a host round trip per
    product.
    """
    if loop not in ("auto", "device", "host"):
        raise ValueError(f"loop must be 'auto', 'device' or 'host', got {loop!r}")
    if loop != "auto":
        return loop
    if jax.default_backend() != "cpu":
        return "device"
    leaves, tree = jax.tree.flatten(operand)
    signature = tuple((np.shape(leaf), jnp.result_type(leaf)) for leaf in leaves)
    return "host" if _costly_with_convolutions(product, tree, signature) else "device"


@functools.lru_cache(maxsize=256)
def _costly_with_convolutions(product, tree, signature) -> bool:
    """The product has convolutions and costs ≥ ``SCAN_FLOP_LIMIT`` FLOPs (XLA's count)."""
    operand = jax.tree.unflatten(tree, [jax.ShapeDtypeStruct(*s) for s in signature])
    vector = jax.ShapeDtypeStruct(*signature[-1])  # the point, last in (params, x)
    lowered = jax.jit(lambda o, v: _compose(product(o))(v)).lower(operand, vector)
    convolutions = lowered.as_text().count("stablehlo.convolution")
    cost = lowered.cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    return bool(convolutions) and (cost or {}).get("flops", math.inf) >= SCAN_FLOP_LIMIT


def _krylov(
    product,
    operand,
    batched,
    k,
    krylov_dim,
    tol,
    max_restarts,
    key,
    loop,
    symmetric,
    stacklevel=3,
) -> RitzPairs:
    """Runs :func:`memjax.spectral.krylov_eigs` on ``product`` at one problem, or at ``B``
    with ``batched = (params_axis, x_axis)`` (``(0, None)``: seeds, ``(None, 0)``: points)."""
    params, x = operand
    params_axis, x_axis = (None, None) if batched is None else batched
    one = (
        params if params_axis is None else run_params(params, 0),
        x if x_axis is None else x[0],
    )
    d = one[1].shape[0]
    krylov_dim = min(max(2 * k + 1, 20) if krylov_dim is None else krylov_dim, d - 1)
    key = jax.random.PRNGKey(0) if key is None else key
    size = None
    if batched is not None:
        size = len(x) if x_axis is not None else jax.tree.leaves(params)[0].shape[0]
    starts = jax.random.normal(key, (d,) if size is None else (size, d), x.dtype)
    loop = _choose_loop(loop, product, one)
    pairs = krylov_eigs(product, operand, starts, k, krylov_dim=krylov_dim, tol=tol,
                        max_restarts=max_restarts, symmetric=symmetric, batched=batched,
                        loop=loop)  # fmt: skip
    converged = np.asarray(pairs.converged)
    if not converged.all():
        warnings.warn(
            f"{np.size(converged) - converged.sum()} of {np.size(converged)} Krylov solves "
            f"did not reach tol={tol} in {max_restarts} restarts (largest residual "
            f"{float(np.max(pairs.residuals)):.1e}); raise max_restarts or krylov_dim",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    return pairs


def _check_k(k, d, kind):
    if not 1 <= k < d - 1:
        raise ValueError(f"k must be between 1 and d - 2 = {d - 2} {kind}, got {k}")


class KrylovOptions(TypedDict, total=False):
    """The keyword options of :func:`top_eigenvalues` and :func:`top_singular_values`: the
    calling convention (``params``, ``seeds``, as for :func:`operator`) and the Krylov solver's
    settings (``krylov_dim``, ``tol``, ``max_restarts``, ``key``, ``loop``, documented at
    :func:`top_eigenvalues`; defaults ``None``, ``1e-6``, ``100``, ``PRNGKey(0)``, ``"auto"``)."""

    params: Any
    seeds: bool
    krylov_dim: int | None
    tol: float
    max_restarts: int
    key: jax.Array | None
    loop: str


def top_eigenvalues(
    apply: Callable, x0: jax.Array, k: int = 16, **options: Unpack[KrylovOptions]
) -> Spectrum:
    """The ``k`` largest-magnitude eigenpairs of the Jacobian at ``x0``, from jvps alone.

    Thick-restart Arnoldi (:func:`memjax.spectral.krylov_eigs`) on the jvp, one product per
    step, about one forward pass each: memory O(d · krylov_dim) instead of the O(d²) of the
    dense operator, so it reaches inputs whose operator does not fit (3×224×224: 90 GB dense).
    On accelerators the whole iteration is one XLA program; on a CPU, nets with costly
    convolutions run one jitted step per product (``loop``).

    Args:
      apply, x0, params, seeds: as for :func:`operator` (with seeds, one solve per seed,
        vmapped).
      k: how many eigenvalues; ``1 ≤ k ≤ d − 2``.
      krylov_dim: Krylov basis size, default ``max(2k + 1, 20)`` (ARPACK's default), at most
        ``d − 1``.
      tol: stop when every wanted ``‖J v − λ v‖ ≤ tol · |λ_1|`` (a RuntimeWarning if
        ``max_restarts`` restarts did not get there). Float32 products reach ~1e-6.
      key: PRNG key of the start vector (default ``PRNGKey(0)``: reproducible).
      loop: ``"auto"``, ``"device"`` (``lax`` loops) or ``"host"`` (a jitted step per product).

    Returns:
      :class:`memjax.spectral.Spectrum` sorted by decreasing ``|λ|`` (conjugate pairs with
      positive imaginary part first), NumPy: ``values`` ``(k,)`` complex, ``vectors``
      ``(d, k)`` complex unit vectors (with seeds, a leading ``S`` axis on both).
    """
    _, _, pairs = _top_pairs(apply, x0, k, symmetric=False, **options)
    values = np.asarray(pairs.values).astype(np.complex128)
    return Spectrum(values, np.asarray(pairs.vectors).astype(np.complex128))


def _top_pairs(apply, x0, k, *, symmetric, params=None, seeds=False, krylov_dim=None, tol=1e-6,
               max_restarts=100, key=None, loop="auto"):  # fmt: skip
    """The Krylov solve behind :func:`top_eigenvalues` (``J``) and, with ``symmetric``,
    :func:`top_singular_values` (``JᵀJ``): ``(flat apply, x0, RitzPairs)``."""
    flat, x0 = _prepare(apply, x0, params, seeds)
    d = x0.size
    _check_k(k, d, "(top_singular_values)" if symmetric else "(top_eigenvalues)")
    one = params if not seeds else run_params(params, 0)
    if not symmetric and (out := jax.eval_shape(flat, one, x0.ravel())).shape != (d,):
        raise ValueError(f"eigenvalues need a square Jacobian: apply maps {d} inputs to "
                         f"{out.shape[0]} outputs (use top_singular_values)")  # fmt: skip
    pairs = _krylov(_JacobianProduct(flat, gram=symmetric), (params, x0.ravel()),
                    (0, None) if seeds else None, k, krylov_dim, tol, max_restarts, key, loop,
                    symmetric=symmetric, stacklevel=4)  # fmt: skip
    return flat, x0, pairs


@functools.partial(jax.jit, static_argnames=("flat", "seeds"))
def _images(flat, params, x, vectors, seeds):
    """``J v`` for each column ``v`` of ``vectors`` (``(d, k)``; with seeds ``(S, d, k)``)."""

    def one(params, vectors):
        jvp = jax.linearize(functools.partial(flat, params), x)[1]
        return jax.vmap(jvp, in_axes=1, out_axes=1)(vectors)

    return jax.vmap(one)(params, vectors) if seeds else one(params, vectors)


def top_singular_values(
    apply: Callable, x0: jax.Array, k: int = 16, **options: Unpack[KrylovOptions]
) -> SingularTriplets:
    """The ``k`` largest singular triplets of the Jacobian at ``x0``, from a jvp and a vjp.

    The same thick-restart solver as :func:`top_eigenvalues`, on the symmetric ``JᵀJ``
    (a jvp then a vjp per step): Lanczos with full reorthogonalisation, whose right vectors
    span the same Krylov space as Golub–Kahan bidiagonalisation of ``J``. ``σ_i = ‖J v_i‖``
    from the converged ``v_i`` (not ``√θ_i``), which keeps small σ accurate although ``JᵀJ``
    squares the spread. Singular values measure how far the map stretches inputs (the rank of
    the learned solution, [DS] App D's SVD truncation) where eigenvalues measure which inputs
    it keeps.

    Args:
      apply, x0, params, seeds, krylov_dim, key, loop: as for :func:`top_eigenvalues`.
      k: how many singular values; ``1 ≤ k ≤ d − 2`` (``d`` inputs).
      tol: stop when every wanted ``‖JᵀJ v − σ² v‖ ≤ tol · σ_1²``.

    Returns:
      :class:`memjax.spectral.SingularTriplets` ``(u, s, vt)`` sorted by decreasing ``s``,
      NumPy: ``(d_out, k)``, ``(k,)``, ``(k, d)`` (with seeds, a leading ``S`` axis on each).
      A column of ``u`` is zero where ``s`` is exactly 0.
    """
    flat, x0, pairs = _top_pairs(apply, x0, k, symmetric=True, **options)
    params, seeds = options.get("params"), options.get("seeds", False)
    images = np.asarray(_images(flat, params, x0.ravel(), pairs.vectors, seeds), np.float64)
    s = np.linalg.norm(images, axis=-2)
    # Sorting by the refined σ fixes the rare swap of two nearly equal Ritz values.
    order = np.argsort(-s, axis=-1)
    s = np.take_along_axis(s, order, axis=-1)
    u = np.take_along_axis(images / np.where(s > 0, s, 1)[..., None, :], order[..., None, :], -1)
    v = np.take_along_axis(np.asarray(pairs.vectors, np.float64), order[..., None, :], -1)
    return SingularTriplets(u, s, np.swapaxes(v, -1, -2))


def spectral_radius(
    apply: Callable,
    points,
    *,
    params: Any = None,
    krylov_dim: int = 32,
    tol: float = 1e-6,
    max_restarts: int = 100,
    key: jax.Array | None = None,
    loop: str = "auto",
) -> np.ndarray:
    """The spectral radius of the Jacobian at each of many points, all points in one solve.

    For attractor tests: a fixed point ``x = f(x)`` attracts nearby inputs when the Jacobian
    there has spectral radius < 1. The solver of :func:`top_eigenvalues` with ``k = 1``,
    vmapped over the points (memory ``P · (krylov_dim + 1) · d``), restarted until every
    point's top Ritz pair has converged.

    Args:
      apply, params: as for :func:`operator`.
      points: ``(P, *example_shape)``.
      krylov_dim: Krylov basis size per point (at most ``d − 1``).
      tol, max_restarts, key, loop: as for :func:`top_eigenvalues`.

    Returns:
      ``(P,)`` spectral radii (float64).
    """
    points = jnp.asarray(points)
    if points.ndim < 2 or len(points) == 0:
        raise ValueError(f"points must be (P, *example_shape) with P ≥ 1, got {points.shape}")
    flat, _ = _prepare(apply, points[0], params, False)
    d = math.prod(points.shape[1:])
    if d < 3:
        raise ValueError(f"spectral_radius needs inputs of size ≥ 3, got {d}: use operator")
    pairs = _krylov(_JacobianProduct(flat, gram=False), (params, points.reshape(len(points), d)),
                    (None, 0), 1, krylov_dim, tol, max_restarts, key, loop,
                    symmetric=False)  # fmt: skip
    return np.abs(np.asarray(pairs.values)[:, 0]).astype(np.float64)


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
        layer-by-layer matrix factorisation of this form), or pads other than with zeros.
    """
    if model.activation != "linear" or model.use_bias or model.skip_every:
        raise ValueError("layer_matrices needs a linear ConvAutoencoder without bias and skips")
    if any(isinstance(layer, Conv) and layer.padding_mode != "zeros" for layer in model.layers):
        # Its conv matrices are zero-padded; a circular/reflect net would get the wrong operator.
        raise ValueError("layer_matrices builds zero-padded conv matrices; use operator() for "
                         "padding_mode 'circular' or 'reflect'")  # fmt: skip
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
