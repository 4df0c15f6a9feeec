"""Eigen-analysis of a learned operator: is the training set stored in its top eigenvectors?

The analysis of a formed operator (spectra, rank, span distances, SVD truncation) takes NumPy
or JAX arrays and computes in float64 (NumPy's LAPACK), whatever the dtype of the operator,
because ranks are read off eigenvalues near a threshold. ``krylov_eigs`` finds the top
eigenpairs of an operator that is never formed, from products alone, in JAX on the device
(true float32, or float64 for float64 inputs); ``memjax.operator`` applies it to networks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
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


def median_seed(spectra: Sequence[Spectrum], dim: int, threshold: float) -> int:
    """Index of the median seed's spectrum, to report one typical seed of several.

    Seeds are ordered by :func:`effective_rank` (``|λ| > threshold``), ties by the largest |λ|
    beyond the first ``dim`` (e.g. off the span of the training set), and the middle one (the
    upper of two for an even count) is returned; equal keys keep the seeds' order.
    """
    keys = [
        (effective_rank(s.magnitudes, threshold), s.magnitudes[dim:].max(initial=0.0))
        for s in spectra
    ]
    return sorted(range(len(keys)), key=keys.__getitem__)[len(keys) // 2]


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
    that offset ([DS] Fig 2–3 comparisons). A constant row (a net that outputs one flat image)
    has no variance to correlate: its correlation is 0 by definition here, not NaN.
    """
    a = np.asarray(a, np.float64).reshape(np.shape(a)[0], -1)
    b = np.asarray(b, np.float64).reshape(np.shape(b)[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    scale = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.sum(a * b, axis=1)
    return np.divide(dots, scale, out=np.zeros(np.broadcast_shapes(dots.shape, scale.shape)),
                     where=scale > 0)  # fmt: skip


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


def minmax_mse(reconstructions, targets) -> float:
    """MSE after min–max scaling each reconstruction to [0, 1] ([DS] Table 1 scores the full
    and the truncated operators' reconstructions of the training images so)."""
    r = np.asarray(reconstructions, np.float64).reshape(len(reconstructions), -1)
    low, high = r.min(axis=1, keepdims=True), r.max(axis=1, keepdims=True)
    scaled = (r - low) / np.where(high > low, high - low, 1.0)
    return float(np.mean((scaled - np.asarray(targets).reshape(len(r), -1)) ** 2))


# ---------------------------------------------------------------------------------------------
# Matrix-free top eigenpairs: thick-restart Arnoldi (Krylov–Schur style), device-resident.
#
# Why not matfree (pnkraemer/matfree 0.6.3, JAX-native Arnoldi/Lanczos/Golub–Kahan)? Its
# `decomp.hessenberg`/`bidiag` run a fixed number of steps with no restart and no convergence
# test (memory and orthogonalisation grow with every step the slowest eigenvalue needs), divide
# by a zero norm on breakdown (the Jacobians of downsampling nets have large null spaces:
# NaNs), and always run inside a `fori_loop`, which cannot avoid the XLA:CPU convolution trap
# (jax-ml/jax#12868). The solver below keeps a Krylov decomposition ``A V_m = V_{m+1} H`` of
# fixed size, restarts it from an orthonormal basis of the wanted Ritz vectors (the invariant
# subspace Krylov–Schur keeps, obtained by QR of the sorted eigenvectors of ``H`` instead of a
# reordered Schur form, which JAX has on CPU only), and is written as a step and a restart on
# fixed shapes, so that either `lax` loops (one XLA program) or a host loop can drive it.

_HIGHEST = jax.lax.Precision.HIGHEST


def _dot(a, b):
    # Orthogonalisation in true float32: JAX's GPU default would be TF32 (10-bit mantissa).
    return jnp.matmul(a, b, precision=_HIGHEST)


class KrylovState(NamedTuple):
    """A Krylov decomposition ``A V[:size] = V[:size + 1] H[:size + 1, :size]`` (rows of V).

    Attributes:
      basis: ``(m + 1, d)`` orthonormal rows; those past ``size`` are zero.
      projected: ``(m + 1, m)`` ``H``: Hessenberg after Arnoldi steps; after a restart the
        kept block is full and row ``size`` couples it to the next basis vector.
      size: ``()`` int32, columns of ``H`` filled.
      matvecs: ``()`` int32, products with ``A`` so far.
      restarts: ``()`` int32.
      converged: ``()`` bool, the wanted Ritz pairs met the tolerance.
      done: ``()`` bool, converged or out of restarts.
      start: ``(d,)`` the unit start vector, shifted for fresh directions after a breakdown.
    """

    basis: jax.Array
    projected: jax.Array
    size: jax.Array
    matvecs: jax.Array
    restarts: jax.Array
    converged: jax.Array
    done: jax.Array
    start: jax.Array


class RitzPairs(NamedTuple):
    """Approximate eigenpairs from :func:`krylov_eigs`, sorted by decreasing ``|θ|``.

    Attributes:
      values: ``(k,)`` complex (real for symmetric operators) Ritz values.
      vectors: ``(d, k)`` unit Ritz vectors, ``vectors[:, i]`` for ``values[i]``.
      residuals: ``(k,)`` ``‖A v − θ v‖`` of each pair.
      converged: ``()`` bool, every residual ≤ ``tol · |θ_1|``.
      matvecs: ``()`` products with ``A`` used.
    """

    values: jax.Array
    vectors: jax.Array
    residuals: jax.Array
    converged: jax.Array
    matvecs: jax.Array


def _krylov_start(start, krylov_dim) -> KrylovState:
    d = start.shape[0]
    start = start / jnp.linalg.norm(start)
    basis = jnp.zeros((krylov_dim + 1, d), start.dtype).at[0].set(start)
    projected = jnp.zeros((krylov_dim + 1, krylov_dim), start.dtype)
    counters = [jnp.zeros((), jnp.int32) for _ in range(3)]  # distinct buffers (donated)
    flags = [jnp.zeros((), bool) for _ in range(2)]
    return KrylovState(basis, projected, *counters, *flags, start)


def _orthogonalise(basis, mask, w):
    """``w`` minus its projection on the masked rows, Gram–Schmidt twice (float32-safe)."""
    total = jnp.zeros(basis.shape[0], w.dtype)
    for _ in range(2):
        coeffs = _dot(basis, w) * mask
        w = w - _dot(coeffs, basis)
        total = total + coeffs
    return w, total


def _arnoldi_step(matvec, state: KrylovState) -> KrylovState:
    """One Arnoldi step (one product with ``A``), or nothing once the basis is full or done."""
    m = state.projected.shape[1]
    active = (state.size < m) & ~state.done
    return jax.lax.cond(
        active, lambda s: _arnoldi_update(s, matvec(s.basis[s.size])), lambda s: s, state
    )


def _arnoldi_update(state: KrylovState, w) -> KrylovState:
    """Appends ``w = A v_j`` (``v_j`` the newest basis vector) to the decomposition."""
    m = state.projected.shape[1]
    j = state.size
    mask = (jnp.arange(m + 1) <= j).astype(w.dtype)
    w, coeffs = _orthogonalise(state.basis, mask, w)
    norm = jnp.linalg.norm(w)
    # A rounding-level remainder means span(V) is invariant under A (null spaces of
    # downsampling nets do this): continue from a fresh direction with coupling 0, which is
    # still a Krylov decomposition, instead of normalising noise. A cyclic shift of the
    # Gaussian start vector serves as a new random direction without a PRNG in the loop body
    # (threefry is slow to compile).
    alive = norm > 64 * jnp.finfo(w.dtype).eps * jnp.linalg.norm(coeffs)
    fresh, _ = _orthogonalise(state.basis, mask, jnp.roll(state.start, state.matvecs + 1))
    fresh = fresh / jnp.linalg.norm(fresh)
    column = coeffs.at[j + 1].set(jnp.where(alive, norm, 0))
    nxt = jnp.where(alive, w / jnp.where(alive, norm, 1), fresh)
    return state._replace(
        basis=state.basis.at[j + 1].set(nxt),
        projected=state.projected.at[:, j].set(column),
        size=j + 1,
        matvecs=state.matvecs + 1,
    )


def _sorted_ritz(h, symmetric):
    """Eigenpairs of the small ``(m, m)`` projected matrix by decreasing ``|θ|``; conjugate
    pairs adjacent, positive imaginary part first (as :func:`eigenspectrum`)."""
    if symmetric:
        theta, y = jnp.linalg.eigh(0.5 * (h + h.T))
        order = jnp.argsort(-jnp.abs(theta))
        return theta[order], y[:, order]
    theta, y = jnp.linalg.eig(h)
    order = jnp.lexsort((-theta.imag, -jnp.abs(theta)))
    return theta[order], y[:, order]


def _check_and_restart(state: KrylovState, k, keep, tol, max_restarts, symmetric):
    """At a full basis: test the top ``k`` Ritz pairs; unless done, thick-restart keeping the
    top ``keep`` (``keep + 1`` if that would split a conjugate pair)."""
    m = state.projected.shape[1]
    h, coupling = state.projected[:m], state.projected[m]
    theta, y = _sorted_ritz(h, symmetric)
    # ‖A V y − θ V y‖ = |coupling · y| for unit y, since A V_m = V_m H + v_m coupling.
    residuals = jnp.abs(_dot(coupling.astype(y.dtype), y))
    scale = jnp.maximum(jnp.abs(theta[0]), jnp.finfo(h.dtype).tiny)
    converged = jnp.all(residuals[:k] <= tol * scale)
    done = converged | (state.restarts >= max_restarts)

    if symmetric:
        size, z = keep, y[:, : keep + 1]
    else:
        split = theta[keep - 1].imag > 0  # its conjugate would be dropped
        size = keep + split.astype(jnp.int32)
        # One real vector per Ritz value: Re y for a real θ or the first of a pair, Im y for the
        # second; together they span the real invariant subspace of the kept values.
        kept = y[:, : keep + 1]
        z = jnp.where(theta[: keep + 1].imag < 0, kept.imag, kept.real)
    q, _ = jnp.linalg.qr(z.astype(h.dtype))
    q = q * (jnp.arange(keep + 1) < size)[None, :]  # a Q column past `size` is not in the subspace
    new_basis = jnp.zeros_like(state.basis).at[: keep + 1].set(_dot(q.T, state.basis[:m]))
    new_basis = new_basis.at[size].set(state.basis[m])
    small = jnp.zeros((keep + 1, m), h.dtype).at[:, : keep + 1].set(_dot(_dot(q.T, h), q))
    new_projected = jnp.zeros_like(state.projected).at[: keep + 1].set(small)
    new_projected = new_projected.at[size, : keep + 1].set(_dot(coupling, q))
    restarted = state._replace(
        basis=new_basis, projected=new_projected, size=size, restarts=state.restarts + 1
    )
    state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state, restarted)
    return state._replace(converged=converged, done=done)


def _ritz_pairs(state: KrylovState, k, symmetric) -> RitzPairs:
    m = state.projected.shape[1]
    theta, y = _sorted_ritz(state.projected[:m], symmetric)
    residuals = jnp.abs(_dot(state.projected[m].astype(y.dtype), y[:, :k]))
    vectors = _dot(state.basis[:m].T.astype(y.dtype), y[:, :k])
    vectors = vectors / jnp.linalg.norm(vectors, axis=0, keepdims=True)
    return RitzPairs(theta[:k], vectors, residuals, state.converged, state.matvecs)


@functools.partial(jax.jit, static_argnames=("make_matvec", "batched", "config"))
def _solve_on_device(make_matvec, operand, start, batched, config):
    """The whole iteration as one XLA program: ``lax`` loops of Arnoldi steps and restarts."""
    k, m, keep, tol, max_restarts, symmetric = config

    def solve(operand, start):
        matvec = _compose(make_matvec(operand))  # linearised once, outside the loop

        def cycle(state):
            # Steps past a full basis do nothing, so the first cycles fill it from size 0 and
            # later ones from the restart size: one loop body, compiled once.
            state = jax.lax.fori_loop(0, m - keep, lambda _, s: _arnoldi_step(matvec, s), state)
            return jax.lax.cond(
                state.size == m,
                lambda s: _check_and_restart(s, k, keep, tol, max_restarts, symmetric),
                lambda s: s,
                state,
            )

        state = jax.lax.while_loop(lambda s: ~s.done, cycle, _krylov_start(start, m))
        return _ritz_pairs(state, k, symmetric)

    return jax.vmap(solve, in_axes=(batched, 0))(operand, start) if batched is not None \
        else solve(operand, start)  # fmt: skip


def _compose(stages):
    """``make_matvec``'s result as one function: a function, or stages applied in order."""
    if callable(stages):
        return stages
    return lambda v: functools.reduce(lambda w, stage: stage(w), stages, v)


@functools.partial(jax.jit, static_argnames=("make_matvec", "stage", "batched"))
def _host_stage(make_matvec, stage, operand, v, batched):
    def apply(operand, v):
        stages = make_matvec(operand)
        return (stages if callable(stages) else stages[stage])(v)

    return jax.vmap(apply, in_axes=(batched, 0))(operand, v) if batched is not None \
        else apply(operand, v)  # fmt: skip


def _host_product(make_matvec, operand, state, batched, stages):
    """``A v_j`` as one jitted program per stage: next to the Arnoldi update, or inside an
    XLA conditional, XLA:CPU ran the vjp of ``D_{64,192}`` up to 2× slower."""
    m = state.projected.shape[-1]
    index = jnp.minimum(state.size, m)
    w = jnp.take_along_axis(state.basis, index[..., None, None], axis=-2)[..., 0, :] \
        if batched is not None else state.basis[index]  # fmt: skip
    for stage in range(stages):
        w = _host_stage(make_matvec, stage, operand, w, batched)
    return w


@functools.partial(jax.jit, static_argnames=("batched",), donate_argnums=(0,))
def _host_update(state, w, batched):
    def update(state, w):
        active = (state.size < state.projected.shape[1]) & ~state.done
        new = _arnoldi_update(state, w)
        return jax.tree.map(lambda a, b: jnp.where(active, a, b), new, state)

    return jax.vmap(update)(state, w) if batched is not None else update(state, w)


@functools.partial(jax.jit, static_argnames=("batched", "config"), donate_argnums=(0,))
def _host_restart(state, batched, config):
    k, _, keep, tol, max_restarts, symmetric = config

    def restart(state):
        return _check_and_restart(state, k, keep, tol, max_restarts, symmetric)

    return jax.vmap(restart)(state) if batched is not None else restart(state)


@functools.partial(jax.jit, static_argnames=("batched", "config"))
def _host_ritz(state, batched, config):
    k, symmetric = config[0], config[5]
    return jax.vmap(_ritz_pairs, in_axes=(0, None, None))(state, k, symmetric) \
        if batched is not None else _ritz_pairs(state, k, symmetric)  # fmt: skip


def _solve_from_host(make_matvec, operand, start, batched, config):
    """The same iteration driven by a Python loop of jitted steps: one compiled call per
    product with ``A``, for XLA:CPU, where a convolution inside a loop body runs several
    times slower than alone (jax-ml/jax#12868); on a CPU the host *is* the device, so the
    per-step round trip costs only the dispatch."""
    m = config[1]
    stages = getattr(make_matvec, "stages", 1)
    start_one = jax.vmap(_krylov_start, in_axes=(0, None)) if batched is not None \
        else _krylov_start  # fmt: skip
    state = start_one(start, m)
    while True:
        # One read of the state per cycle: the steps still to take (fewest size of a batch;
        # problems already full skip their extra steps).
        for _ in range(m - int(jnp.min(state.size))):
            w = _host_product(make_matvec, operand, state, batched, stages)
            state = _host_update(state, w, batched)
        state = _host_restart(state, batched, config)
        if bool(jnp.all(state.done)):
            return _host_ritz(state, batched, config)


def krylov_eigs(
    make_matvec: Callable[[Any], Callable[[jax.Array], jax.Array]],
    operand: Any,
    start: jax.Array,
    k: int,
    *,
    krylov_dim: int,
    keep: int | None = None,
    tol: float = 1e-6,
    max_restarts: int = 100,
    symmetric: bool = False,
    batched: Any = None,
    loop: str = "device",
) -> RitzPairs:
    """The ``k`` largest-magnitude eigenpairs of a matrix-free operator, by thick-restart
    Arnoldi (for symmetric operators this is Lanczos with full reorthogonalisation).

    Each cycle extends a Krylov decomposition to ``krylov_dim`` vectors (one product with
    ``A`` each, classical Gram–Schmidt twice), computes the Ritz pairs of the small projected
    matrix, stops once the top ``k`` residuals ``‖A v − θ v‖`` are ≤ ``tol · |θ_1|``, and
    else restarts from the top ``keep`` Ritz vectors ([Stewart 2001, Krylov–Schur];
    ``scipy.sparse.linalg.eigs``/ARPACK restart implicitly to the same subspace). Memory:
    ``(krylov_dim + 1) · d`` basis entries per problem. Orthogonalisation runs in true float32
    (or the start's dtype); residuals are measured in it, so ``tol`` below ~1e-6 needs
    float64 inputs.

    Args:
      make_matvec: ``make_matvec(operand)`` returns ``v ↦ A v`` on ``(d,)`` vectors, or a
        tuple of ``make_matvec.stages`` functions applied in order (e.g. a jvp then a vjp;
        ``loop="host"`` compiles each alone); hashable (a jit static argument), called once
        per solve (per product with ``loop="host"``), so it can linearise a network once.
      operand: the arrays ``make_matvec`` needs (e.g. parameters and the point).
      start: ``(d,)`` random start vector, ``(B, d)`` with ``batched``; after a breakdown
        its cyclic shifts serve as fresh directions, so it must not be constant.
      k: eigenpairs wanted, ``1 ≤ k < krylov_dim``.
      krylov_dim: basis size ``m``, ``≤ d − 1``.
      keep: Ritz vectors kept at a restart, ``k ≤ keep ≤ m − 2``; the default
        ``k + (m − k) // 2`` took the fewest products on ``D_{64,192}`` (within 20 % of the
        other choices; ``benchmarks/solvers.py``).
      tol: relative residual tolerance; max_restarts: stop there even if not converged
        (``RitzPairs.converged`` says which).
      symmetric: ``A`` is symmetric: real Ritz values from ``eigh``.
      batched: ``None``, or the ``jax.vmap`` ``in_axes`` of ``operand`` to solve ``B``
        problems at once (then ``start`` has a leading ``B`` axis).
      loop: ``"device"`` runs everything as one XLA program (``lax.fori_loop`` and
        ``while_loop``; no host round trip); ``"host"`` calls one jitted step per product.

    Returns:
      :class:`RitzPairs` of JAX arrays (leading ``B`` axis with ``batched``).
    """
    d = start.shape[-1]
    if not 1 <= k < krylov_dim:
        raise ValueError(f"k must be between 1 and krylov_dim - 1 = {krylov_dim - 1}, got {k}")
    if krylov_dim > d - 1:
        raise ValueError(f"krylov_dim must be at most d - 1 = {d - 1}, got {krylov_dim}")
    keep = k + (krylov_dim - k) // 2 if keep is None else keep
    if not k <= keep < krylov_dim - 1:
        raise ValueError(f"keep must be in [k, krylov_dim - 2] = [{k}, {krylov_dim - 2}], "
                         f"got {keep}")  # fmt: skip
    if tol <= 0 or max_restarts < 0:
        raise ValueError(f"tol must be positive and max_restarts ≥ 0, got {tol}, {max_restarts}")
    if loop not in ("device", "host"):
        raise ValueError(f"loop must be 'device' or 'host', got {loop!r}")
    config = (k, krylov_dim, keep, float(tol), max_restarts, symmetric)
    solve = _solve_on_device if loop == "device" else _solve_from_host
    return solve(make_matvec, operand, start, batched, config)
