"""Autoencoders as discrete dynamical systems ``x_{t+1} = f(x_t)`` ([MO2] §3).

A trained autoencoder ``f`` fits its training examples, so they are fixed points; [MO2] asks
whether they attract. This module

* iterates ``f`` from many starts at once (:func:`iterate`: vmapped and jitted, every start
  stops once it converges or diverges, optional snapshots of the orbit),
* names each limit (:func:`classify`): training example ``i``, another fixed point, a cycle of
  period ``p``, divergence, or unresolved within the budget,
* tests the training examples themselves (:func:`fixed_points`): residual ``‖f(x_i) − x_i‖`` and
  the spectral radius of the Jacobian there, [MO2] Thm 2's first-order test (``ρ < 1`` attractor,
  ``ρ > 1`` repeller, ``ρ ≈ 0`` superattractor),
* measures [MO2]'s recovery probability against iterations (:func:`recovery_curve`) and basins
  of attraction on 2-D grids (:func:`grid_starts`, :func:`basin_map`).

Conventions (``shared/claims/MO2.md`` §3): distances are relative, a start *converged to*
``x_i`` when ``‖x_T − x_i‖ ≤ τ‖x_i‖`` and ``‖f(x_T) − x_T‖ ≤ τ‖x_T‖``. A bias-free ReLU/LeakyReLU
net is positively homogeneous, ``J_f(x) x = f(x)``, so at a fitted ``x_i`` the Jacobian has the
eigenvalue 1 exactly and ``x_i`` is never a strict attractor (every ``c·x_i`` is a fixed point
too); the FC dynamics need biases.

Every map is evaluated with matmuls and convolutions in true float32 (``"highest"``): on GPUs
JAX's float32 default is TF32, whose ~1e-3 relative error per step, accumulated over hundreds of
iterations of a weak contraction (``ρ = 0.99`` amplifies a per-step error 100×), would decide
the outcome.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from memjax.operator import operator, spectral_radius

# Limit labels of :func:`classify`; labels ≥ 0 are training-example indices.
OTHER_FIXED_POINT = -1
CYCLE = -2
DIVERGED = -3
UNRESOLVED = -4
LIMIT_NAMES = {
    OTHER_FIXED_POINT: "other_fixed_point",
    CYCLE: "cycle",
    DIVERGED: "diverged",
    UNRESOLVED: "unresolved",
}
# steps_per_call meaning "the whole budget in one call": the loop ends at the (traced) budget,
# so one compiled program serves every budget.
WHOLE_RUN = 2**30
# Dense eigenvalues of the Jacobian up to this input size; matrix-free Arnoldi above it.
DENSE_MAX_DIM = 256


class Orbit(NamedTuple):
    """Where :func:`iterate` left each start. Leading axis: the ``S`` starts.

    Attributes:
      final: ``(S, *shape)`` the last iterate (for a diverged start, the last one below the
        norm limit).
      steps: ``(S,)`` iterations applied: for a converged start, the iterations to converge.
      converged: ``(S,)`` ``‖f(x) − x‖ ≤ stop_tol·‖x‖`` was reached.
      diverged: ``(S,)`` an iterate was non-finite or above ``max_norm``.
      snapshots: ``(R, S, *shape)`` the iterates at ``record_steps`` (a start that stopped
        earlier shows its final point), or ``None``.
      record_steps: ``(R,)`` the iteration counts of ``snapshots``.
    """

    final: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    diverged: np.ndarray
    snapshots: np.ndarray | None
    record_steps: np.ndarray


class _State(NamedTuple):
    x: jax.Array  # (S, d) current iterates
    steps: jax.Array  # (S,) iterations applied
    converged: jax.Array  # (S,)
    diverged: jax.Array  # (S,)
    t: jax.Array  # () loop iterations so far (all starts)
    next_record: jax.Array  # () index of the next snapshot to take
    snapshots: jax.Array  # (R, S, d)


class _FlatMap:
    """``f`` on flat ``(d,)`` vectors, batched over starts; hashable so jit caches per map.

    With ``takes_params`` the map is ``apply(params, x)`` and ``params`` are a traced argument,
    so iterating a new set of weights of the same model reuses the compiled program.
    """

    def __init__(self, apply: Callable, shape: tuple[int, ...], takes_params: bool):
        self.apply, self.shape, self.takes_params = apply, tuple(shape), takes_params

    def one(self, params, v):
        x = v.reshape(self.shape)
        with jax.default_matmul_precision("highest"):
            y = self.apply(params, x) if self.takes_params else self.apply(x)
        return jnp.ravel(y)

    def __call__(self, params, vs):
        return jax.vmap(self.one, in_axes=(None, 0))(params, vs)

    def _key(self):
        return (self.apply, self.shape, self.takes_params)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, _FlatMap) and self._key() == other._key()


def _relative(diff, ref):
    tiny = jnp.finfo(ref.dtype).tiny
    return jnp.linalg.norm(diff, axis=-1) / jnp.maximum(jnp.linalg.norm(ref, axis=-1), tiny)


def _step(fmap, params, state: _State, record_steps, stop_tol, max_norm):
    """One iteration of every active start; records the state first if ``t`` is due."""
    n_records = record_steps.shape[0]
    due = jnp.zeros((), bool)
    snapshots = state.snapshots
    if n_records:  # static: with nothing to record, no snapshot code is traced
        due = (state.next_record < n_records) & (
            record_steps[jnp.minimum(state.next_record, n_records - 1)] == state.t
        )
        snapshots = jax.lax.cond(
            due, lambda s: s.at[state.next_record].set(state.x), lambda s: s, snapshots
        )
    y = fmap(params, state.x)
    active = ~(state.converged | state.diverged)
    norm_y = jnp.linalg.norm(y, axis=-1)
    bad = active & ~(jnp.all(jnp.isfinite(y), axis=-1) & (norm_y <= max_norm))
    done = active & ~bad & (_relative(y - state.x, state.x) <= stop_tol)
    move = active & ~bad & ~done
    return _State(
        x=jnp.where(move[:, None], y, state.x),
        steps=state.steps + move.astype(state.steps.dtype),
        converged=state.converged | done,
        diverged=state.diverged | bad,
        t=state.t + 1,
        next_record=state.next_record + due.astype(state.next_record.dtype),
        snapshots=snapshots,
    )


@functools.partial(jax.jit, static_argnames=("fmap", "steps_per_call"), donate_argnums=2)
def _advance(fmap, params, state, limit, record_steps, stop_tol, max_norm, steps_per_call):
    """Up to ``steps_per_call`` iterations, ending early once ``limit`` is reached or no start
    is active. ``steps_per_call == 1`` is straight-line code (no loop for XLA:CPU to slow)."""
    step = functools.partial(
        _step, fmap, params, record_steps=record_steps, stop_tol=stop_tol, max_norm=max_norm
    )
    if steps_per_call == 1:
        return step(state)

    def keep_going(carry):
        i, s = carry
        return (i < steps_per_call) & (s.t < limit) & jnp.any(~(s.converged | s.diverged))

    return jax.lax.while_loop(keep_going, lambda c: (c[0] + 1, step(c[1])), (0, state))[1]


def _check_points(name: str, points, min_ndim: int = 2) -> jax.Array:
    points = jnp.asarray(points)
    if points.ndim < min_ndim or points.shape[0] < 1:
        raise ValueError(
            f"{name} must be (count, *example_shape) with count ≥ 1, got {points.shape}"
        )
    if not jnp.issubdtype(points.dtype, jnp.floating):
        raise ValueError(f"{name} must be floating point, got {points.dtype}")
    return points


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def iterate(
    apply: Callable,
    starts,
    num_steps: int,
    *,
    params: Any = None,
    stop_tol: float = 1e-6,
    max_norm: float = 1e6,
    record_steps: Sequence[int] = (),
    steps_per_call: int = 0,
) -> Orbit:
    """Iterates ``x_{t+1} = f(x_t)`` from every start at once ([MO2] §3.1).

    All starts advance together, vmapped in one jitted program; a start stops once it has
    converged (``‖f(x) − x‖ ≤ stop_tol·‖x‖``: it sits on a fixed point, and further iterations
    would not move it) or diverged (a non-finite iterate, or one of norm above ``max_norm``),
    and the loop ends when no start is active or after ``num_steps`` iterations. The batch
    keeps its shape, so every iteration costs ``S`` forward passes until the last start stops.
    Memory: the starts, one batched forward pass, and ``R·S·d`` for the snapshots. The
    convergence test is relative: an orbit falling into the origin counts as converged only
    once it underflows (the relative step of ``x ↦ cx`` is ``1 − c`` at any scale).

    Args:
      apply: the map on one example, ``apply(x)``, or ``apply(params, x)`` when ``params`` is
        given (then a new ``params`` of the same model reuses the compiled loop).
      starts: ``(S, *example_shape)`` initial points.
      num_steps: the iteration budget ``T`` (≥ 0).
      params: passed to ``apply`` as its first argument, unless None.
      stop_tol: relative step size below which a start counts as converged.
      max_norm: iterates above this norm count as diverged.
      record_steps: iteration counts ``t`` (0 = the starts) at which to keep ``x_t``.
      steps_per_call: iterations per compiled call; 0: the whole budget in one call. Unlike
        training (``memjax.train``), iterating conv nets needs no host loop on the CPU: the
        forward pass does not hit jax-ml/jax#12868 here. Measured on the 2-core CPU, one loop
        vs one call per iteration, 3×32×32 images, LeakyReLU: ``D_{8,8}`` ×4 starts 0.33× the
        time, ``D_{64,64}`` ×20 0.81×, ``ND_{32,32}`` ×10 0.95×, ``ND_{128,128}`` ×2 0.90×,
        Network D ×10 0.89×; ``D_{16,16}`` ×20 1.19×.

    Returns:
      an :class:`Orbit` (numpy arrays).
    """
    starts = _check_points("starts", starts)
    if num_steps < 0:
        raise ValueError(f"num_steps must be non-negative, got {num_steps}")
    _check_positive("stop_tol", stop_tol)
    _check_positive("max_norm", max_norm)
    if steps_per_call < 0:
        raise ValueError(f"steps_per_call must be non-negative, got {steps_per_call}")
    record = np.asarray(sorted(set(int(t) for t in record_steps)), np.int32)
    if record.size and not 0 <= record[0] <= record[-1] <= num_steps:
        raise ValueError(f"record_steps must lie in [0, num_steps={num_steps}], got {record}")
    shape = starts.shape[1:]
    x = starts.reshape(len(starts), -1)
    fmap = _FlatMap(apply, shape, params is not None)
    steps_per_call = steps_per_call or WHOLE_RUN
    state = _State(
        x=jnp.array(x, copy=True),  # donated to the loop: must not be the caller's array
        steps=jnp.zeros(len(x), jnp.int32),
        converged=jnp.zeros(len(x), bool),
        diverged=jnp.zeros(len(x), bool),
        t=jnp.zeros((), jnp.int32),
        next_record=jnp.zeros((), jnp.int32),
        snapshots=jnp.zeros((record.size, *x.shape), x.dtype),
    )
    limit = jnp.asarray(num_steps, jnp.int32)
    tol, cap = jnp.asarray(stop_tol, x.dtype), jnp.asarray(max_norm, x.dtype)
    while int(state.t) < num_steps and not bool(jnp.all(state.converged | state.diverged)):
        state = _advance(fmap, params, state, limit, jnp.asarray(record), tol, cap, steps_per_call)
    # Snapshots not yet taken (the loop ended early, or t = num_steps) hold the final points.
    pending = np.arange(record.size) >= int(state.next_record)
    snapshots = np.where(pending[:, None, None], np.asarray(state.x)[None], state.snapshots)
    return Orbit(
        final=np.asarray(state.x).reshape(starts.shape),
        steps=np.asarray(state.steps),
        converged=np.asarray(state.converged),
        diverged=np.asarray(state.diverged),
        snapshots=snapshots.reshape(record.size, *starts.shape) if record.size else None,
        record_steps=record,
    )


class Limits(NamedTuple):
    """What each start's final point is (:func:`classify`). Leading axis: the ``S`` starts.

    Attributes:
      label: ``(S,)`` the training example's index (≥ 0) or ``OTHER_FIXED_POINT``, ``CYCLE``,
        ``DIVERGED``, ``UNRESOLVED``.
      nearest: ``(S,)`` index of the nearest training example.
      distance: ``(S,)`` ``‖x_T − x_nearest‖ / ‖x_nearest‖``.
      residual: ``(S,)`` ``‖f(x_T) − x_T‖ / ‖x_T‖``.
      period: ``(S,)`` the smallest ``p ≤ max_period`` with ``‖f^p(x_T) − x_T‖ ≤ tol·‖x_T‖``
        (1: a fixed point), 0 if none.
    """

    label: np.ndarray
    nearest: np.ndarray
    distance: np.ndarray
    residual: np.ndarray
    period: np.ndarray


@functools.partial(jax.jit, static_argnums=0)
def _apply_batch(fmap, params, x):
    return fmap(params, x)


def nearest_training(points, train) -> tuple[np.ndarray, np.ndarray]:
    """The nearest training example of each point and the distance relative to its norm.

    Args:
      points: ``(S, *shape)``; train: ``(n, *shape)``.

    Returns:
      ``(index (S,), ‖p − x_index‖ / ‖x_index‖ (S,))``, computed in float64.
    """
    p = np.asarray(points, np.float64).reshape(len(points), -1)
    x = np.asarray(train, np.float64).reshape(len(train), -1)
    if p.shape[1] != x.shape[1]:
        raise ValueError(f"points of size {p.shape[1]} do not match training size {x.shape[1]}")
    # The expansion ‖p‖² + ‖x‖² − 2pᵀx picks the nearest example cheaply but cancels to
    # ~1e-8 relative in float64; the distance to it is then taken directly.
    squared = (p**2).sum(1)[:, None] + (x**2).sum(1)[None, :] - 2 * p @ x.T
    index = np.argmin(squared, axis=1)
    distance = np.linalg.norm(p - x[index], axis=1)
    with np.errstate(divide="ignore", over="ignore"):  # a zero example: inf unless hit
        return index, distance / np.maximum(np.linalg.norm(x[index], axis=1), np.finfo(float).tiny)


def classify(
    apply: Callable,
    orbit: Orbit,
    train,
    *,
    params: Any = None,
    tol: float = 1e-2,
    max_period: int = 16,
) -> Limits:
    """Names the limit of each start of an :class:`Orbit`.

    A final point within ``tol`` (relative) of training example ``i`` and with residual
    ``‖f(x_T) − x_T‖ ≤ tol‖x_T‖`` has converged to ``x_i`` (label ``i``); other points with that
    residual are ``OTHER_FIXED_POINT``; a point that returns within ``tol`` after ``p ≥ 2``
    iterations (and not after fewer) is on a ``CYCLE`` of period ``p``; starts that
    :func:`iterate` saw diverge are ``DIVERGED``; the rest are ``UNRESOLVED`` (still moving
    after the budget, or on a longer or chaotic orbit).

    Args:
      apply, params: the map, as for :func:`iterate`.
      orbit: the result of :func:`iterate`.
      train: ``(n, *shape)`` training examples.
      tol: the relative tolerance τ.
      max_period: the longest cycle looked for (costs this many batched forward passes).
    """
    _check_positive("tol", tol)
    if max_period < 1:
        raise ValueError(f"max_period must be ≥ 1, got {max_period}")
    train = _check_points("train", train)
    final = jnp.asarray(orbit.final)
    if final.shape[1:] != train.shape[1:]:
        raise ValueError(f"orbit points {final.shape[1:]} and train {train.shape[1:]} differ")
    x = final.reshape(len(final), -1)
    fmap = _FlatMap(apply, final.shape[1:], params is not None)
    returns, y = [], x
    for _ in range(max_period):  # a host loop: convolutions in loop bodies are slow on CPU
        y = _apply_batch(fmap, params, y)
        returns.append(np.asarray(_relative(y - x, x)))
    returns = np.nan_to_num(np.stack(returns), nan=np.inf)  # (max_period, S)
    returned = returns <= tol
    period = np.where(returned.any(0), returned.argmax(0) + 1, 0)
    nearest, distance = nearest_training(final, train)
    label = np.full(len(x), UNRESOLVED)
    label[period >= 2] = CYCLE
    label[period == 1] = OTHER_FIXED_POINT
    on_example = (period == 1) & (distance <= tol)
    label[on_example] = nearest[on_example]
    label[np.asarray(orbit.diverged)] = DIVERGED
    return Limits(label, nearest, distance, returns[0], period)


def limit_summary(limits: Limits, n_train: int) -> dict[str, float]:
    """Shares of starts per kind of limit and how many training examples were reached.

    ``captured`` (the share of starts ending on a training example) and ``reached`` (how many
    examples some start ends on) can move apart: a few large basins capture many starts.
    """
    label = np.asarray(limits.label)
    reached = np.unique(label[label >= 0])
    summary = {
        "captured": float(np.mean(label >= 0)),
        "reached": int(reached.size),
        "reached_share": reached.size / n_train,
    }
    for code, name in LIMIT_NAMES.items():
        summary[name] = float(np.mean(label == code))
    return summary


def spectral_radii(
    apply: Callable,
    points,
    *,
    params: Any = None,
    method: str = "auto",
    krylov_dim: int = 32,
) -> np.ndarray:
    """The spectral radius ``ρ(J_f(x))`` (largest eigenvalue modulus) at each point.

    Args:
      apply, params: the map, as for :func:`iterate` (and ``memjax.operator``: with
        ``params``, one compilation serves every parameter value of a model).
      points: ``(P, *shape)``.
      method: "dense" (vmapped Jacobians, ``memjax.operator.operator``, then every eigenvalue
        in float64: memory ``P·d²``, time ``P·d³``), "arnoldi" (matrix-free, a Krylov basis of
        ``krylov_dim`` per point, ``memjax.operator.spectral_radius``: memory
        ``P·d·krylov_dim``), or "auto": dense up to ``DENSE_MAX_DIM`` inputs or where the
        Krylov basis would span the whole space (``d ≤ krylov_dim + 1``).

    Returns:
      ``(P,)`` float64.
    """
    points = _check_points("points", points)
    if method not in ("auto", "dense", "arnoldi"):
        raise ValueError(f"method must be 'auto', 'dense' or 'arnoldi', got {method!r}")
    d = math.prod(points.shape[1:])
    if method == "arnoldi" or (method == "auto" and d > max(DENSE_MAX_DIM, krylov_dim + 1)):
        radius = spectral_radius(apply, points, params=params, krylov_dim=krylov_dim)
        return np.asarray(radius, np.float64)
    jacobian = functools.partial(operator, apply, params=params)
    jacobians = np.asarray(jax.vmap(jacobian)(points), np.float64)
    return np.abs(np.linalg.eigvals(jacobians)).max(axis=-1)


class FixedPoints(NamedTuple):
    """[MO2] Thm 2's test at each training example (:func:`fixed_points`).

    Attributes:
      residual: ``(n,)`` ``‖f(x_i) − x_i‖ / ‖x_i‖``.
      radius: ``(n,)`` spectral radius of the Jacobian at ``x_i``.
      kind: ``(n,)`` "superattractor", "attractor", "repeller", "undecided" (``|ρ − 1| ≤
        margin``, where first order cannot tell) or "not_fixed" (residual above ``tol``).
    """

    residual: np.ndarray
    radius: np.ndarray
    kind: np.ndarray


def stability(radius, margin: float = 1e-3, super_radius: float = 0.1) -> np.ndarray:
    """[MO2] Thm 2: ``ρ < 1`` attracts, ``ρ > 1`` repels; ``ρ ≤ super_radius`` is taken as a
    superattractor (§3.3: ``ρ = 0`` contracts faster than any geometric rate)."""
    radius = np.asarray(radius)
    return np.select(
        [radius <= super_radius, radius < 1 - margin, radius > 1 + margin],
        ["superattractor", "attractor", "repeller"],
        "undecided",
    )


def fixed_points(
    apply: Callable,
    train,
    *,
    params: Any = None,
    tol: float = 1e-2,
    margin: float = 1e-3,
    super_radius: float = 0.1,
    method: str = "auto",
    krylov_dim: int = 32,
) -> FixedPoints:
    """Are the training examples fixed points, and do they attract? ([MO2] Thm 2, §3.3)

    Args:
      apply, params: the map, as for :func:`iterate`.
      train: ``(n, *shape)`` the training examples.
      tol: residual (relative) above which an example is "not_fixed".
      margin, super_radius: see :func:`stability`.
      method, krylov_dim: see :func:`spectral_radii`.
    """
    train = _check_points("train", train)
    x = train.reshape(len(train), -1)
    fx = _apply_batch(_FlatMap(apply, train.shape[1:], params is not None), params, x)
    residual = np.asarray(_relative(fx - x, x), np.float64)
    radius = spectral_radii(apply, train, params=params, method=method, krylov_dim=krylov_dim)
    kind = np.where(residual <= tol, stability(radius, margin, super_radius), "not_fixed")
    return FixedPoints(residual, radius, kind)


class Recovery(NamedTuple):
    """Recovery against iterations ([MO2] §3.3, :func:`recovery_curve`).

    Attributes:
      steps: ``(T,)`` the iteration counts ``t``.
      probability: ``(T,)`` ``P(t)``: the share of training examples ``x_i`` with some start
        ``x_0`` such that ``‖f^t(x_0) − x_i‖ ≤ τ‖x_i‖``.
      captured: ``(T,)`` ``C(t)``: the share of starts within ``τ`` of some training example.
      recovered: ``(T, n)`` which examples are recovered at each ``t``.
    """

    steps: np.ndarray
    probability: np.ndarray
    captured: np.ndarray
    recovered: np.ndarray


def recovery_curve(
    apply: Callable,
    starts,
    train,
    steps: Sequence[int],
    *,
    params: Any = None,
    tol: float = 1e-2,
    stop_tol: float = 1e-6,
    max_norm: float = 1e6,
) -> Recovery:
    """[MO2]'s recovery probability ``P(t) = Pr_{x ~ p̂_X}[∃ x_0 ∈ S: f^t(x_0) ≈ x]`` at each ``t``.

    The paper's formula was lost in extraction; this is the reading of
    ``shared/claims/MO2.md`` (MO2-F4), with ``≈`` meaning within ``tol`` relative to ``‖x‖``.
    One :func:`iterate` run up to ``max(steps)`` records the iterates at ``steps``.
    """
    train = _check_points("train", train)
    steps = sorted(set(int(t) for t in steps))
    if not steps:
        raise ValueError("steps must name at least one iteration count")
    orbit = iterate(
        apply,
        starts,
        steps[-1],
        params=params,
        stop_tol=stop_tol,
        max_norm=max_norm,
        record_steps=steps,
    )
    recovered = np.zeros((len(steps), len(train)), bool)
    captured = np.zeros(len(steps))
    for k, snapshot in enumerate(orbit.snapshots):
        index, distance = nearest_training(snapshot, train)
        hit = distance <= tol
        recovered[k, index[hit]] = True
        captured[k] = hit.mean()
    return Recovery(np.asarray(steps), recovered.mean(axis=1), captured, recovered)


def grid_starts(low: Sequence[float], high: Sequence[float], resolution: int) -> np.ndarray:
    """A ``resolution × resolution`` grid on the box ``[low, high]`` of the plane, as
    ``(resolution², 2)`` starts in row-major order (rows along the second coordinate), so that
    ``labels.reshape(resolution, resolution)`` is an image with ``origin="lower"``."""
    if resolution < 1 or len(low) != 2 or len(high) != 2:
        raise ValueError(f"need 2-D low/high and resolution ≥ 1, got {low}, {high}, {resolution}")
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def basin_map(limits: Limits, resolution: int) -> np.ndarray:
    """The limit labels of :func:`grid_starts` starts as a ``(resolution, resolution)`` image:
    which training example (or which kind of limit) each grid point falls into."""
    label = np.asarray(limits.label)
    if label.size != resolution**2:
        raise ValueError(f"{label.size} labels do not fill a {resolution}² grid")
    return label.reshape(resolution, resolution)
