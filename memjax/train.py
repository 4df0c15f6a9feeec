"""Full-batch training of an autoencoder with jitted Optax steps, over one seed or many.

One step (:func:`_step`) computes the loss and gradient of the current parameters, checks the
stop rules on that loss and applies the update only if no rule fired, so a stopped run keeps
exactly the parameters whose loss met the rule. Steps run in chunks of ``steps_per_call``
inside one compiled call (a ``lax.while_loop`` that ends early once every run has stopped or
reached the next snapshot), and a host loop over chunks handles snapshots, the progress bar
and NaN reports. Seeds are a ``jax.vmap`` of the step inside the same loop.

Why chunks and not one scan over the whole run: on XLA:CPU a convolution inside a loop body
runs ~10–18× slower than the same convolution in straight-line code (jax-ml/jax#12868), so
conv nets on CPU default to one step per call; fully connected nets use long loops, where the
host round trip would dominate. ``benchmarks/loop_crossover.py`` measures both.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from memjax.models.conv import ConvAutoencoder
from memjax.models.deep import DeepConvStack


def _momentum(learning_rate):
    return optax.sgd(learning_rate, momentum=0.9)


OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "gd": optax.sgd,
    "momentum": _momentum,
    "adam": optax.adam,
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
    "adamax": optax.adamax,
}


def make_optimizer(
    name: str, learning_rate: float, injectable: bool = False
) -> optax.GradientTransformation:
    """An Optax optimizer by name: gd, momentum (0.9), adam, adagrad, rmsprop, adamax.

    ``injectable`` keeps the learning rate in the optimizer state
    (``optax.inject_hyperparams``), so a vmapped sweep can give each run its own rate.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if injectable:
        return optax.inject_hyperparams(OPTIMIZERS[name])(learning_rate=learning_rate)
    return OPTIMIZERS[name](learning_rate)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train; every field is a plain value so it can come from an ml_collections config.

    Attributes:
      optimizer: a key of ``OPTIMIZERS``.
      learning_rate: the optimizer's step size.
      max_steps: the step budget.
      loss_tol: stop once the loss is below this (0 disables).
      min_decrease: stop once the loss decreases by less than this over ``decrease_window``
        steps (0 disables); [DS] §5 trains "until the loss decreased by less than 1e-4".
      decrease_window: steps between the checks of ``min_decrease`` (1: every step). Read per
        step, [DS]'s rule stops Adam 1e-4 after a few steps (its steps are tiny), so a window
        is the workable reading of it.
      snapshot_steps: steps at which to keep a copy of the parameters (0 = initial); once a
        stop rule has fired, later snapshots hold the final parameters.
      steps_per_call: steps per compiled call; 0 picks by :func:`default_steps_per_call`.
      progress: show a tqdm bar.
      nonfinite: what a NaN/inf loss does: "raise" a FloatingPointError, or "stop" that seed
        only (its parameters stay at the last step with a finite loss, a warning names it and
        ``History.stop_reason`` says "nonfinite"), so one diverging seed of a sweep does not
        discard the others.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    max_steps: int = 1000
    loss_tol: float = 0.0
    min_decrease: float = 0.0
    decrease_window: int = 1
    snapshot_steps: tuple[int, ...] = ()
    steps_per_call: int = 0
    progress: bool = True
    nonfinite: str = "raise"

    def __post_init__(self):
        make_optimizer(self.optimizer, self.learning_rate)  # validates both
        if self.max_steps < 0:
            raise ValueError(f"max_steps must be non-negative, got {self.max_steps}")
        if self.decrease_window < 1:
            raise ValueError(f"decrease_window must be ≥ 1, got {self.decrease_window}")
        if self.steps_per_call < 0:
            raise ValueError(f"steps_per_call must be non-negative, got {self.steps_per_call}")
        bad = [s for s in self.snapshot_steps if not 0 <= s <= self.max_steps]
        if bad:
            raise ValueError(f"snapshot_steps {bad} are outside [0, max_steps={self.max_steps}]")
        if self.nonfinite not in ("raise", "stop"):
            raise ValueError(f"nonfinite must be 'raise' or 'stop', got {self.nonfinite!r}")
        object.__setattr__(self, "snapshot_steps", tuple(sorted(set(self.snapshot_steps))))


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    step: jax.Array  # updates applied so far
    window_loss: jax.Array  # loss at the last min_decrease check (inf at the start)
    stopped: jax.Array  # a stop rule fired or the loss was not finite
    reason: jax.Array  # index into STOP_REASONS: 0 running or budget, 3 loss NaN/inf at `step`


STOP_REASONS = ("max_steps", "loss_tol", "min_decrease", "nonfinite")


class History(NamedTuple):
    """What a run did. Arrays have a leading seed axis when trained over several seeds.

    Attributes:
      losses: ``(T,)`` loss of the parameters at steps ``0..T-1``; NaN after a run stopped.
      steps: updates applied.
      final_loss: loss of the returned parameters.
      stop_reason: an entry of ``STOP_REASONS``.
      snapshots: ``{step: params}`` for each requested snapshot step.
    """

    losses: np.ndarray
    steps: np.ndarray
    final_loss: np.ndarray
    stop_reason: Any
    snapshots: dict


def mse(apply: Callable, params, data: jax.Array) -> jax.Array:
    """Mean squared reconstruction error over all examples and entries ([DS] §2)."""
    recon = jax.vmap(lambda x: apply(params, x))(data)
    return jnp.mean((recon - data) ** 2)


def _select(flag, new, old):
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)


def _step(state: TrainState, data, limit, *, apply, tx, config: TrainConfig):
    loss, grads = jax.value_and_grad(lambda p: mse(apply, p, data))(state.params)
    active = ~state.stopped & (state.step < limit)
    nonfinite = ~jnp.isfinite(loss)
    # Each rule is off at 0; a disabled decrease rule must not fire when Adam's loss rises.
    below_tol = loss < config.loss_tol
    check = state.step % config.decrease_window == 0
    small_decrease = (
        (config.min_decrease > 0) & check & ((state.window_loss - loss) < config.min_decrease)
    )
    stop_now = active & (nonfinite | below_tol | small_decrease)
    update = active & ~stop_now
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    reason = jnp.select([nonfinite, below_tol, small_decrease], [3, 1, 2], 0)
    new_state = TrainState(
        params=_select(update, params, state.params),
        opt_state=_select(update, opt_state, state.opt_state),
        step=state.step + update.astype(state.step.dtype),
        window_loss=jnp.where(update & check, loss, state.window_loss),
        stopped=state.stopped | stop_now,
        reason=jnp.where(stop_now, reason, state.reason),
    )
    return new_state, jnp.where(active, loss, jnp.nan)


@functools.lru_cache(maxsize=64)
def _make_chunk(
    model: nn.Module, config: TrainConfig, steps: int, n_seeds: int | None, injectable: bool
):
    """The compiled chunk of ``steps`` steps, cached so repeated runs do not recompile."""
    tx = make_optimizer(config.optimizer, config.learning_rate, injectable)
    step = functools.partial(_step, apply=model.apply, tx=tx, config=config)
    if n_seeds is not None:
        step = jax.vmap(step, in_axes=(0, None, None))

    def any_active(state, limit):
        return jnp.any(~state.stopped & (state.step < limit))

    def chunk(state, data, limit):
        if steps == 1:  # straight-line code: no loop for XLA:CPU to slow down
            state, loss = step(state, data, limit)
            return state, loss[..., None]

        # A while loop, not a scan: once every run has stopped or reached `limit` (a
        # snapshot, the budget) the chunk ends, so a 10-step run in a 200-step chunk costs 10
        # steps, and no skipped iteration copies the state.
        def body(carry):
            i, state, losses = carry
            state, loss = step(state, data, limit)
            return i + 1, state, losses.at[..., i].set(loss)

        losses = jnp.full(jnp.shape(state.step) + (steps,), jnp.nan, data.dtype)
        _, state, losses = jax.lax.while_loop(
            lambda carry: (carry[0] < steps) & any_active(carry[1], limit),
            body,
            (jnp.zeros((), jnp.int32), state, losses),
        )
        return state, losses

    return jax.jit(chunk, donate_argnums=0)


# Gradient FLOPs per step below which a loop of steps beats one call per step for conv
# nets on CPU: benchmarks/loop_crossover.py measured the crossover between 4e6 (scan 0.7×
# the time) and 1.5e7 (scan 2×) on the project's 2-core CPU.
SCAN_FLOP_LIMIT = 5e6


def xla_flops(fn: Callable, *args) -> float:
    """FLOPs of ``fn(*args)`` by XLA's cost analysis of the lowered program; where the backend
    gives none (the GPU backend can return None), of the program compiled for the host CPU.
    inf if neither knows."""

    def count(cost):
        cost = cost[0] if isinstance(cost, list | tuple) else cost
        return (cost or {}).get("flops")

    flops = count(jax.jit(fn).lower(*args).cost_analysis())
    if flops is None:
        cpu = jax.devices("cpu")[0]
        with jax.default_device(cpu):
            compiled = jax.jit(fn).lower(*jax.device_put(args, cpu)).compile()
        flops = count(compiled.cost_analysis())
    return float("inf") if flops is None else float(flops)


def step_flops(model: nn.Module, params, data) -> float:
    """FLOPs of one gradient of the loss on ``data`` (:func:`xla_flops`)."""
    return xla_flops(jax.grad(lambda p: mse(model.apply, p, data)), params)


def default_steps_per_call(model: nn.Module, state: TrainState, data) -> int:
    """Steps per compiled call: 1 for costly conv steps on CPU, else 200 (a ``lax.while_loop``).

    XLA:CPU runs convolutions inside loop bodies ~10–18× slower (jax-ml/jax#12868), which only
    matters once a step costs more than the per-call overhead; the step's FLOPs come from
    XLA's cost analysis.
    """
    if not isinstance(model, ConvAutoencoder | DeepConvStack) or jax.default_backend() != "cpu":
        return 200
    return 200 if step_flops(model, state.params, data) < SCAN_FLOP_LIMIT else 1


def _init_state(key, model, data, tx, init_params):
    params = model.init(key, data[0]) if init_params is None else init_params
    # A copy: the chunk donates the state's buffers, which must not be the caller's arrays.
    params = jax.tree.map(lambda p: jnp.array(p, dtype=data.dtype, copy=True), params)
    return TrainState(
        params=params,
        opt_state=tx.init(params),
        step=jnp.zeros((), jnp.int32),
        window_loss=jnp.asarray(jnp.inf, data.dtype),
        stopped=jnp.zeros((), bool),
        reason=jnp.zeros((), jnp.int32),
    )


def train(key, model: nn.Module, data, config: TrainConfig, init_params=None):
    """Trains ``model`` to reconstruct ``data`` (full batch, MSE) from one seed.

    Args:
      key: PRNG key for the initialization.
      model: a Flax module acting on one example.
      data: ``(n, *example_shape)`` training examples; their dtype sets the parameters' dtype.
      config: optimizer, budget and stop rules.
      init_params: start from these parameters instead of ``model.init(key, ...)``.

    Returns:
      ``(params, history)``.

    Raises:
      FloatingPointError: the loss became NaN or inf; the message gives step, loss and config.
    """
    return _train(key, model, data, config, init_params, n_seeds=None)


def train_seeds(
    keys,
    model: nn.Module,
    data,
    config: TrainConfig,
    init_params=None,
    learning_rates=None,
    devices=None,
):
    """:func:`train` vmapped over a batch of keys, in one compiled program per chunk.

    Args:
      init_params: optional starting parameters with a leading axis as long as ``keys``
        (e.g. one initialization per init scale: a sweep of a same-shape hyperparameter).
      learning_rates: optional rate per run (replaces ``config.learning_rate``).
      devices: spread the runs over these devices (their number must divide the number of
        runs): the run axis is sharded with ``NamedSharding`` over a 1-D mesh and the same
        compiled chunk runs on every device (GSPMD), the data replicated.

    Returns ``(params, history)`` whose leaves carry a leading seed axis.
    """
    return _train(keys, model, data, config, init_params, len(keys), learning_rates, devices)


def _shard_runs(state, data, devices):
    """Places the run axis of ``state`` across ``devices``; ``data`` on all of them."""
    devices = list(devices)
    n_runs = np.shape(state.step)[0]
    if n_runs % len(devices):
        raise ValueError(f"{n_runs} runs do not split evenly over {len(devices)} devices")
    mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
    runs_axis = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    return jax.device_put(state, runs_axis), jax.device_put(data, replicated)


def _train(key, model, data, config, init_params, n_seeds, learning_rates=None, devices=None):
    data = jnp.asarray(data)
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"data must be (n, *example_shape) with n ≥ 1, got shape {data.shape}")
    injectable = learning_rates is not None
    tx = make_optimizer(config.optimizer, config.learning_rate, injectable)
    if n_seeds is None:
        state = _init_state(key, model, data, tx, init_params)
    else:
        state = jax.vmap(lambda k, p: _init_state(k, model, data, tx, p))(key, init_params)
    if injectable:
        rates = jnp.asarray(learning_rates, data.dtype)
        if rates.shape != (n_seeds,) or not bool(jnp.all(rates > 0)):
            raise ValueError(f"learning_rates must be {n_seeds} positive values, got {rates}")
        state.opt_state.hyperparams["learning_rate"] = rates
    if devices is not None and len(devices) > 1:
        state, data = _shard_runs(state, data, devices)
    one_state = state if n_seeds is None else jax.tree.map(lambda a: a[0], state)
    steps = config.steps_per_call or default_steps_per_call(model, one_state, data)
    # Fields that do not change the compiled step are normalised so they share the cache.
    chunk_config = dataclasses.replace(
        config, snapshot_steps=(), progress=False, max_steps=0, nonfinite="raise"
    )
    chunk = _make_chunk(model, chunk_config, steps, n_seeds, injectable)

    losses, snapshots = [], {}
    pending = list(config.snapshot_steps)
    reported = np.zeros(np.shape(state.step), bool)  # seeds whose divergence was reported
    bar = tqdm(total=config.max_steps, disable=not config.progress, desc="train", leave=False)
    while True:
        while pending and _all_reached(state, pending[0]):
            snapshots[pending.pop(0)] = jax.device_get(state.params)
        done = int(np.max(np.asarray(state.step)))
        bar.update(done - bar.n)
        if bool(np.all(np.asarray(state.stopped))) or done >= config.max_steps:
            break
        limit = pending[0] if pending else config.max_steps
        state, chunk_losses = chunk(state, data, jnp.asarray(limit, jnp.int32))
        losses.append(np.asarray(chunk_losses))
        diverged = _nonfinite(state)
        if np.any(diverged & ~reported):
            message = _nonfinite_message(state, losses, config, diverged & ~reported)
            if config.nonfinite == "raise":
                bar.close()
                raise FloatingPointError(message)
            warnings.warn(message + " That seed stops; the others go on.", stacklevel=3)
            reported = reported | diverged
        last = losses[-1][..., -1]
        if not np.all(np.isnan(last)):
            bar.set_postfix(loss=f"{np.nanmin(last):.3e}", refresh=False)
    bar.close()
    return state.params, _history(state, losses, snapshots, model, data, n_seeds)


def _all_reached(state, step):
    """Every seed has taken ``step`` updates or stopped before."""
    return bool(np.all((np.asarray(state.step) >= step) | np.asarray(state.stopped)))


def _nonfinite(state) -> np.ndarray:
    return np.asarray(state.reason) == STOP_REASONS.index("nonfinite")


def _nonfinite_message(state, losses, config, which):
    all_losses = np.concatenate(losses, axis=-1)
    steps = np.asarray(state.step)
    bad = np.nonzero(which.ravel())[0]
    seed = int(bad[0])
    row = all_losses.reshape(-1, all_losses.shape[-1])[seed]
    finite = row[np.isfinite(row)]
    last = f"{finite[-1]:.4e}" if finite.size else "none"
    return (
        f"loss became non-finite at step {int(steps.ravel()[seed])}"
        f"{f' (seed index {seed})' if steps.ndim else ''}; last finite loss {last}. "
        f"Lower the learning rate or change the initialization. config: {config}"
    )


@functools.lru_cache(maxsize=64)
def _final_loss(model: nn.Module, seeds: bool):
    """The jitted loss of the returned parameters, cached like ``_make_chunk``: a fresh jit
    per run would recompile the forward pass every time (seconds for large nets)."""
    loss = functools.partial(mse, model.apply)
    return jax.jit(jax.vmap(loss, in_axes=(0, None)) if seeds else loss)


def _history(state, losses, snapshots, model, data, n_seeds):
    if losses:
        all_losses = np.concatenate(losses, axis=-1)
        # Drop the columns where no seed was active: steps frozen at a snapshot limit.
        per_step = all_losses.reshape(-1, all_losses.shape[-1])
        all_losses = all_losses[..., ~np.all(np.isnan(per_step), axis=0)]
    else:
        all_losses = np.zeros((n_seeds, 0) if n_seeds else (0,))
    final = _final_loss(model, n_seeds is not None)(state.params, data)
    reasons = np.vectorize(STOP_REASONS.__getitem__, otypes=[object])(np.asarray(state.reason))
    return History(
        losses=all_losses,
        steps=np.asarray(state.step),
        final_loss=np.asarray(final),
        stop_reason=reasons.tolist() if n_seeds else str(reasons),
        snapshots=snapshots,
    )
