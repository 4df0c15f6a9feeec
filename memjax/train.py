"""Full-batch training of an autoencoder with jitted Optax steps, over one seed or many.

One step (:func:`_step`) computes the loss and gradient of the current parameters, checks the
stop rules on that loss and applies the update only if no rule fired, so a stopped run keeps
exactly the parameters whose loss met the rule. Steps run in chunks of ``steps_per_call``
inside one compiled call (a ``lax.while_loop`` that ends early once every run has stopped or
reached the next snapshot), and a host loop over chunks handles snapshots, the progress bar
and NaN reports. Seeds are a ``jax.vmap`` of the step inside the same loop.

Why chunks and not one scan over the whole run: on XLA:CPU a convolution inside a loop body
runs ~10–18× slower than the same convolution in straight-line code (jax-ml/jax#12868), so
on CPU a step with convolutions that costs more than a host call defaults to one step per
call (:func:`default_steps_per_call` reads XLA's cost analysis, whatever the model class);
other steps run in long loops, where the host round trip would dominate.
``benchmarks/loop_crossover.py`` measures both.

Precision: training runs its matmuls and convolutions in true float32 unless the config opts
into the backend's faster default (``TrainConfig.precision``): JAX's float32 default on
NVIDIA GPUs is TF32 (a 10-bit mantissa), under which four tests failed on a GPU.

Checkpoints (:mod:`memjax.checkpoint`) make a run resumable: the host loop writes the whole
training state every ``every`` steps and, on a later call with the same arguments, continues
from the file, cutting the same chunks as an uninterrupted run so the result is the same.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.std import tqdm  # plain text bars also in notebooks (no ipywidgets needed)

from memjax import checkpoint as checkpointing
from memjax.checkpoint import Checkpoint


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


def make_transform(config: TrainConfig, injectable: bool = False) -> optax.GradientTransformation:
    """The whole update rule of a config: its optimizer, the frozen parameters held fixed and
    the learning-rate decay.

    The decay scales the optimizer's update, so for SGD with momentum it is PyTorch's
    ``MultiStepLR`` (``p -= lr_t · buf``, the momentum buffer carried across decays) and for
    Adam a decayed step size. Frozen parameters get no update and no optimizer state
    (``optax.multi_transform``). A config with neither is the bare optimizer, so its state
    (and a checkpoint of it) keeps the form it always had.
    """
    tx = make_optimizer(config.optimizer, config.learning_rate, injectable)
    if config.frozen:
        tx = optax.multi_transform(
            {"train": tx, "frozen": optax.set_to_zero()},
            functools.partial(_frozen_labels, config.frozen),
        )
    if config.decay_steps:
        boundaries = {int(step): config.decay_factor for step in config.decay_steps}
        schedule = optax.piecewise_constant_schedule(1.0, boundaries)
        tx = optax.chain(tx, optax.scale_by_schedule(schedule))
    return tx


def param_path(path) -> str:
    """A parameter's pytree path as ``"params/Dense_0/kernel"``, the form ``frozen`` matches."""
    return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def _frozen_labels(patterns: tuple[str, ...], params):
    names = [param_path(path) for path, _ in jax.tree_util.tree_leaves_with_path(params)]
    # A typo in a pattern would otherwise train everything without a word.
    unmatched = [p for p in patterns if not any(re.search(p, name) for name in names)]
    if unmatched:
        raise ValueError(
            f"frozen patterns {unmatched} match no parameter; the parameters are {names}"
        )

    def label(path, _):
        name = param_path(path)
        return "frozen" if any(re.search(p, name) for p in patterns) else "train"

    return jax.tree_util.tree_map_with_path(label, params)


# TrainConfig.precision → JAX's matmul/convolution precision for float32 operands. "highest" is
# true float32 on every backend; "tf32" is TensorFloat32 on NVIDIA GPUs (Precision.HIGH: XLA
# allows TF32 up to it; 3 bfloat16 passes on TPUs); "default" is the backend's fastest float32
# (TF32 on GPUs, one bfloat16 pass on TPUs). On the CPU all three are the same float32
# arithmetic. JAX's "bfloat16" precision is Precision.DEFAULT, the same as "default" here, so
# it has no entry: bfloat16 training instead takes bfloat16 data (the parameters follow it).
PRECISIONS = {"highest": "highest", "tf32": "tensorfloat32", "default": "default"}


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
      precision: matmul and convolution precision of the steps and the final loss, a key of
        ``PRECISIONS``: "highest" (true float32, the default: results do not depend on the
        backend's default), or "tf32"/"default" to trade accuracy for speed on GPUs and TPUs.
      loss: a key of ``LOSSES``: "mse" (the reconstruction error of an autoencoder, or of any
        targets given to :func:`train`) or "cross_entropy" (integer class targets; the model
        returns logits).
      decay_steps: update counts at which the learning rate is multiplied by
        ``decay_factor`` ([IC] App A: ×0.2 at 30/60/80 % of training); one optimizer state
        runs through all of them (see :func:`make_transform`).
      decay_factor: the factor applied at each of ``decay_steps``.
      frozen: regular expressions; a parameter whose path (:func:`param_path`, e.g.
        ``"params/Dense_0/kernel"``) matches one of them (``re.search``) keeps its initial
        value ([IC] Fig 12 trains the bottom layer only).
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
    precision: str = "highest"
    loss: str = "mse"
    decay_steps: tuple[int, ...] = ()
    decay_factor: float = 1.0
    frozen: tuple[str, ...] = ()

    def __post_init__(self):
        make_optimizer(self.optimizer, self.learning_rate)  # validates both
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if any(s < 1 for s in self.decay_steps):
            raise ValueError(f"decay_steps must be positive step counts, got {self.decay_steps}")
        if not 0 < self.decay_factor <= 1:
            raise ValueError(f"decay_factor must be in (0, 1], got {self.decay_factor}")
        for pattern in self.frozen:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"frozen pattern {pattern!r} is not a regex: {error}") from None
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
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        object.__setattr__(self, "snapshot_steps", tuple(sorted(set(self.snapshot_steps))))
        object.__setattr__(self, "decay_steps", tuple(sorted(int(s) for s in self.decay_steps)))
        object.__setattr__(self, "frozen", tuple(self.frozen))


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


def mse(apply: Callable, params, data: jax.Array, targets: jax.Array | None = None) -> jax.Array:
    """Mean squared error of ``apply`` on every example against ``targets`` (default: the
    inputs themselves, an autoencoder's reconstruction error, [DS] §2), over all entries."""
    recon = jax.vmap(lambda x: apply(params, x))(data)
    return jnp.mean((recon - (data if targets is None else targets)) ** 2)


def cross_entropy(apply: Callable, params, data: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of the logits ``apply`` gives each example against its
    integer class in ``targets``."""
    logits = jax.vmap(lambda x: apply(params, x))(data)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, targets))


LOSSES: dict[str, Callable[..., jax.Array]] = {"mse": mse, "cross_entropy": cross_entropy}


def _select(flag, new, old):
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)


def _step(state: TrainState, batch, limit, *, apply, tx, config: TrainConfig):
    data, targets = batch
    loss_fn = LOSSES[config.loss]
    loss, grads = jax.value_and_grad(lambda p: loss_fn(apply, p, data, targets))(state.params)
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
    tx = make_transform(config, injectable)
    step = functools.partial(_step, apply=model.apply, tx=tx, config=config)
    if n_seeds is not None:
        step = jax.vmap(step, in_axes=(0, None, None))

    def any_active(state, limit):
        return jnp.any(~state.stopped & (state.step < limit))

    def chunk(state, batch, limit):
        # Inside the traced function, so the jaxpr carries the precision whatever the caller's
        # default_matmul_precision context is.
        with jax.default_matmul_precision(PRECISIONS[config.precision]):
            return steps_of(state, batch, limit)

    def steps_of(state, batch, limit):
        if steps == 1:  # straight-line code: no loop for XLA:CPU to slow down
            state, loss = step(state, batch, limit)
            return state, loss[..., None]

        # A while loop, not a scan: once every run has stopped or reached `limit` (a
        # snapshot, a checkpoint, the budget) the chunk ends, so a 10-step run in a 200-step
        # chunk costs 10 steps, and no skipped iteration copies the state.
        def body(carry):
            i, state, losses = carry
            state, loss = step(state, batch, limit)
            return i + 1, state, losses.at[..., i].set(loss)

        losses = jnp.full(jnp.shape(state.step) + (steps,), jnp.nan, batch[0].dtype)
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
# Steps per compiled call where a loop is not slower: enough that the host round trip per call
# is negligible, few enough for a live progress bar and prompt NaN reports.
LOOP_STEPS = 200


class XlaCost(NamedTuple):
    """What XLA says a program costs.

    Attributes:
      flops: FLOPs by XLA's cost analysis (inf if the backend has none).
      convolutions: convolution ops in the lowered program (StableHLO); for a gradient, those
        of the forward and the backward pass.
    """

    flops: float
    convolutions: int


def xla_cost(fn: Callable, *args) -> XlaCost:
    """FLOPs and convolutions of ``fn(*args)``, from one lowering.

    The FLOPs come from XLA's cost analysis of the lowered program; where the backend gives
    none (the GPU backend can return None), from the program compiled for the host CPU. Only
    shapes count: ``args`` may be arrays or ``jax.ShapeDtypeStruct`` leaves (e.g.
    ``jax.eval_shape`` of an init, which costs no forward pass).
    """
    lowered = jax.jit(fn).lower(*args)
    flops = _count_flops(lowered.cost_analysis())
    if flops is None:
        on_cpu = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
        shapes = jax.tree.map(
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=on_cpu), args
        )
        flops = _count_flops(jax.jit(fn).lower(*shapes).compile().cost_analysis())
    # The cost analysis has no per-op breakdown; the StableHLO text names every op.
    convolutions = lowered.as_text().count("stablehlo.convolution")
    return XlaCost(float("inf") if flops is None else float(flops), convolutions)


def _count_flops(cost) -> float | None:
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    return (cost or {}).get("flops")


def xla_flops(fn: Callable, *args) -> float:
    """FLOPs of ``fn(*args)`` (:func:`xla_cost`); inf if XLA cannot count them."""
    return xla_cost(fn, *args).flops


def step_cost(model: nn.Module, params, data, targets=None, loss: str = "mse") -> XlaCost:
    """:func:`xla_cost` of one gradient of the loss on ``data`` (``params`` may be shapes)."""
    return xla_cost(jax.grad(lambda p: LOSSES[loss](model.apply, p, data, targets)), params)


def step_flops(model: nn.Module, params, data, targets=None, loss: str = "mse") -> float:
    """FLOPs of one gradient of the loss on ``data`` (:func:`xla_flops`)."""
    return step_cost(model, params, data, targets, loss).flops


def default_steps_per_call(model: nn.Module, params, data, targets=None, loss: str = "mse") -> int:
    """Steps per compiled call: 1 for costly steps with convolutions on CPU, else
    ``LOOP_STEPS`` (a ``lax.while_loop``), decided by the step's cost whatever the model class.

    XLA:CPU runs convolutions inside loop bodies ~10–18× slower (jax-ml/jax#12868), which only
    matters once a step costs more than the per-call overhead (``SCAN_FLOP_LIMIT``); steps
    without convolutions and other backends keep the loop. ``params`` may be
    ``jax.ShapeDtypeStruct`` leaves: only shapes count.
    """
    if jax.default_backend() != "cpu":
        return LOOP_STEPS
    cost = step_cost(model, params, data, targets, loss)
    return 1 if cost.convolutions and cost.flops >= SCAN_FLOP_LIMIT else LOOP_STEPS


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


def train(
    key,
    model: nn.Module,
    data,
    config: TrainConfig,
    init_params=None,
    *,
    targets=None,
    checkpoint: Checkpoint | None = None,
):
    """Trains ``model`` to reconstruct ``data`` (or to map it to ``targets``), full batch,
    from one seed.

    Args:
      key: PRNG key for the initialization (``None`` with ``init_params``).
      model: a Flax module acting on one example.
      data: ``(n, *example_shape)`` training examples; their dtype sets the parameters' dtype.
      config: loss, optimizer, schedule, frozen parameters, budget, stop rules and precision.
      init_params: start from these parameters instead of ``model.init(key, ...)``.
      targets: ``(n, ...)`` what the model should output for each example under
        ``config.loss`` (integer classes for "cross_entropy"); default: ``data`` itself.
      checkpoint: save the training state there periodically and resume from the file if it
        exists (see :class:`Checkpoint`).

    Returns:
      ``(params, history)``.

    Raises:
      FloatingPointError: the loss became NaN or inf; the message gives step, loss and config.
      ValueError: the checkpoint file is unreadable or from another training run.
    """
    return _train(
        key, model, data, config, init_params, None, targets=targets, checkpoint=checkpoint
    )


def train_seeds(
    keys,
    model: nn.Module,
    data,
    config: TrainConfig,
    init_params=None,
    learning_rates=None,
    devices=None,
    *,
    targets=None,
    checkpoint: Checkpoint | None = None,
):
    """:func:`train` vmapped over a batch of keys, in one compiled program per chunk.

    Args:
      keys: one key per run, or ``None`` when ``init_params`` gives every run's start.
      init_params: optional starting parameters with a leading axis as long as ``keys``
        (e.g. one initialization per init scale: a sweep of a same-shape hyperparameter).
      targets: as :func:`train`, shared by all runs.
      learning_rates: optional rate per run (replaces ``config.learning_rate``).
      devices: spread the runs over these devices (their number must divide the number of
        runs): the run axis is sharded with ``NamedSharding`` over a 1-D mesh and the same
        compiled chunk runs on every device (GSPMD), the data replicated.
      checkpoint: one file for all runs (see :class:`Checkpoint`).

    Returns ``(params, history)`` whose leaves carry a leading seed axis.
    """
    n_runs = count_runs(keys, init_params)
    return _train(
        keys, model, data, config, init_params, n_runs, learning_rates, devices,
        targets=targets, checkpoint=checkpoint,
    )  # fmt: skip


def count_runs(keys, init_params) -> int:
    """The number of runs: one per key, or else the leading axis of ``init_params``."""
    if keys is not None:
        return len(keys)
    if init_params is None:
        raise ValueError("train_seeds needs keys, or init_params with a leading run axis")
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in jax.tree.leaves(init_params)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"init_params leaves must share one leading run axis, got sizes {sizes}")
    return sizes.pop()


def run_params(params, i: int):
    """The parameters of run ``i`` from a pytree stacked over runs (:func:`train_seeds`'s)."""
    return jax.tree.map(lambda a: a[i], params)


def _shard_runs(state, data, devices):
    """Places the run axis of ``state`` across ``devices``; ``data`` (a pytree: inputs and
    targets) on all of them."""
    devices = list(devices)
    n_runs = np.shape(state.step)[0]
    if n_runs % len(devices):
        raise ValueError(f"{n_runs} runs do not split evenly over {len(devices)} devices")
    mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
    runs_axis = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    return jax.device_put(state, runs_axis), jax.device_put(data, replicated)


def _train(
    key,
    model,
    data,
    config,
    init_params,
    n_seeds,
    learning_rates=None,
    devices=None,
    *,
    targets=None,
    checkpoint=None,
):
    data = jnp.asarray(data)
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"data must be (n, *example_shape) with n ≥ 1, got shape {data.shape}")
    targets = _check_targets(data, targets, config.loss)
    late = [step for step in config.decay_steps if step >= config.max_steps]
    if late:  # e.g. a preset's schedule left behind by a shorter --config.train.max_steps
        warnings.warn(
            f"decay_steps {late} are at or beyond max_steps={config.max_steps} and never apply",
            stacklevel=3,
        )
    if key is None and init_params is None:
        raise ValueError("give a key to initialize the model, or init_params")
    injectable = learning_rates is not None
    tx = make_transform(config, injectable)
    if n_seeds is None:
        state = _init_state(key, model, data, tx, init_params)
    else:  # key None (every run's start given) is an empty pytree to vmap
        state = jax.vmap(lambda k, p: _init_state(k, model, data, tx, p))(key, init_params)
    if injectable:
        rates = jnp.asarray(learning_rates, data.dtype)
        if rates.shape != (n_seeds,) or not bool(jnp.all(rates > 0)):
            raise ValueError(f"learning_rates must be {n_seeds} positive values, got {rates}")
        opt_state = optax.tree_utils.tree_set(state.opt_state, learning_rate=rates)
        state = state._replace(opt_state=opt_state)
    not_reported = np.zeros(np.shape(state.step), bool)
    record = checkpointing.HostRecord([], {}, list(config.snapshot_steps), not_reported)
    batch = (data, targets)  # targets None: the autoencoder's own inputs
    if checkpoint is not None:
        fingerprint = checkpointing.fingerprint(model, config, batch, state, n_seeds)
        if Path(checkpoint.path).exists():
            state, record = checkpointing.read(checkpoint.path, fingerprint, state)
    if devices is not None and len(devices) > 1:
        state, batch = _shard_runs(state, batch, devices)
    one_run = state.params if n_seeds is None else run_params(state.params, 0)
    steps = config.steps_per_call or default_steps_per_call(
        model, one_run, data, targets, config.loss
    )
    # Fields that do not change the compiled step are normalised so they share the cache.
    chunk_config = dataclasses.replace(
        config, snapshot_steps=(), progress=False, max_steps=0, nonfinite="raise"
    )
    chunk = _make_chunk(model, chunk_config, steps, n_seeds, injectable)

    saved = _progress(state)  # the step of the last checkpoint (or of the start)
    bar = tqdm(total=config.max_steps, disable=not config.progress, desc="train", leave=False)
    while True:
        while record.pending and _all_reached(state, record.pending[0]):
            record.snapshots[record.pending.pop(0)] = jax.device_get(state.params)
        done = _progress(state)
        bar.update(done - bar.n)
        finished = bool(np.all(np.asarray(state.stopped))) or done >= config.max_steps
        if checkpoint is not None and done > saved and (finished or done % checkpoint.every == 0):
            checkpointing.write(checkpoint.path, fingerprint, state, record)
            saved = done
        if finished:
            break
        limit = record.pending[0] if record.pending else config.max_steps
        if checkpoint is not None:  # end the chunk at the next checkpoint
            limit = min(limit, (done // checkpoint.every + 1) * checkpoint.every)
        state, chunk_losses = chunk(state, batch, jnp.asarray(limit, jnp.int32))
        record.losses.append(np.asarray(chunk_losses))
        diverged = _nonfinite(state)
        if np.any(diverged & ~record.reported):
            message = _nonfinite_message(state, record.losses, config, diverged & ~record.reported)
            if config.nonfinite == "raise":
                bar.close()
                raise FloatingPointError(message)
            warnings.warn(message + " That seed stops; the others go on.", stacklevel=3)
            record.reported = record.reported | diverged
        last = record.losses[-1][..., -1]
        if not np.all(np.isnan(last)):
            bar.set_postfix(loss=f"{np.nanmin(last):.3e}", refresh=False)
    bar.close()
    history = _history(state, record.losses, record.snapshots, model, batch, config, n_seeds)
    return state.params, history


def _check_targets(data, targets, loss: str):
    """``targets`` as an array checked against ``data`` and ``loss`` (``None`` stays None)."""
    if targets is None:
        if loss != "mse":
            raise ValueError(f"loss {loss!r} needs targets (the autoencoder's own are for mse)")
        return None
    targets = jnp.asarray(targets)
    if targets.shape[:1] != data.shape[:1]:
        raise ValueError(
            f"targets must have one entry per example: data {data.shape}, targets {targets.shape}"
        )
    if loss == "cross_entropy" and not jnp.issubdtype(targets.dtype, jnp.integer):
        raise ValueError(f"cross_entropy targets must be integer classes, got {targets.dtype}")
    if loss == "mse":
        targets = targets.astype(data.dtype)
    return targets


def _progress(state) -> int:
    """Updates taken by the runs still going (a stopped run is never ahead of them)."""
    return int(np.max(np.asarray(state.step)))


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
def _final_loss(model: nn.Module, seeds: bool, precision: str, loss_name: str):
    """The jitted loss of the returned parameters, cached like ``_make_chunk``: a fresh jit
    per run would recompile the forward pass every time (seconds for large nets)."""

    def loss(params, batch):
        with jax.default_matmul_precision(PRECISIONS[precision]):
            return LOSSES[loss_name](model.apply, params, *batch)

    return jax.jit(jax.vmap(loss, in_axes=(0, None)) if seeds else loss)


def _history(state, losses, snapshots, model, batch, config, n_seeds):
    if losses:
        all_losses = np.concatenate(losses, axis=-1)
        # Drop the columns where no seed was active: steps frozen at a snapshot limit.
        per_step = all_losses.reshape(-1, all_losses.shape[-1])
        all_losses = all_losses[..., ~np.all(np.isnan(per_step), axis=0)]
    else:
        all_losses = np.zeros((n_seeds, 0) if n_seeds else (0,))
    final_loss = _final_loss(model, n_seeds is not None, config.precision, config.loss)
    final = final_loss(state.params, batch)
    reasons = np.vectorize(STOP_REASONS.__getitem__, otypes=[object])(np.asarray(state.reason))
    return History(
        losses=all_losses,
        steps=np.asarray(state.step),
        final_loss=np.asarray(final),
        stop_reason=reasons.tolist() if n_seeds else str(reasons),
        snapshots=snapshots,
    )
