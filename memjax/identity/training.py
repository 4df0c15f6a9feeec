"""[IC]'s networks and training recipe (App A): SGD 0.01, momentum 0.9, ×0.2 at 30/60/80 %.

``memjax.train`` takes a constant learning rate, so the stage-wise schedule is run here as
four consecutive :func:`memjax.train.train` calls, each starting from the last one's
parameters. The momentum buffer restarts at each decay (3 times in a run); a
``TrainConfig`` schedule field would remove that difference from the paper's PyTorch run.
:func:`learning_rate_schedule` is the same schedule as an Optax function, for that field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from memjax.models import ConvAutoencoder, MLPAutoencoder, stride1_stack_layers
from memjax.train import STOP_REASONS, Checkpoint, History, TrainConfig, train, train_seeds

# App A.
LEARNING_RATE = 0.01
MOMENTUM = 0.9
DECAY_FACTOR = 0.2
DECAY_FRACTIONS = (0.3, 0.6, 0.8)
PAPER_STEPS = 2_000_000
FCN_WIDTH = 2048
CNN_CHANNELS = 128
CNN_KERNEL = 5


def ic_cnn(
    depth: int,
    channels: int = CNN_CHANNELS,
    kernel: int = CNN_KERNEL,
    image_channels: int = 1,
    kernel_init: str = "ic_default",
    use_bias: bool = True,
    activation: str = "relu",
) -> ConvAutoencoder:
    """[IC]'s CNN: ``depth`` K × K stride-1 convs with padding (K−1)/2, ``image_channels →
    channels → … → image_channels`` (depth 1: one ``image_channels → image_channels`` conv),
    ReLU after all but the last. Works on any square input size (Figs 6–8).

    Biases, when used, start from U(±1/√fan_in) (``ConvAutoencoder``'s PyTorch default);
    :func:`zero_biases` sets them to 0, the reading the project uses (bias init unstated).
    """
    layers = stride1_stack_layers(depth, channels, image_channels, kernel)
    return ConvAutoencoder(
        layers, activation=activation, use_bias=use_bias, kernel_init=kernel_init
    )


def ic_fcn(
    hidden_layers: int,
    width: int = FCN_WIDTH,
    activation: str = "relu",
    kernel_init: str = "ic_default",
    use_bias: bool = True,
) -> MLPAutoencoder:
    """[IC]'s FCN ``H_k``: ``hidden_layers`` hidden layers of ``width`` (``k + 1`` weight
    layers); ``activation="linear"`` for the linear nets. Biases start at 0."""
    if hidden_layers < 0:
        raise ValueError(f"hidden_layers must be ≥ 0, got {hidden_layers}")
    return MLPAutoencoder(
        (width,) * hidden_layers, activation=activation, use_bias=use_bias, kernel_init=kernel_init
    )


def zero_biases(params):
    """``params`` with every ``bias`` leaf set to 0."""

    def zero(path, leaf):
        return jnp.zeros_like(leaf) if getattr(path[-1], "key", None) == "bias" else leaf

    return jax.tree_util.tree_map_with_path(zero, params)


def init_params(key, model, example, zero_bias: bool = True):
    """``model.init`` on one example (or one init per key, vmapped, for a batch of keys),
    with biases set to 0 if ``zero_bias``."""
    init = lambda k: model.init(k, example)  # noqa: E731
    params = jax.vmap(init)(key) if _is_batch(key) else init(key)
    return zero_biases(params) if zero_bias else params


def _is_batch(key) -> bool:
    key = jnp.asarray(key) if not hasattr(key, "dtype") else key
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    return key.ndim >= (1 if typed else 2)


def stage_boundaries(total_steps: int, fractions: Sequence[float] = DECAY_FRACTIONS) -> tuple:
    """The steps at which the learning rate decays: 600,000 / 1,200,000 / 1,600,000 of
    2,000,000 for the paper's fractions."""
    if (
        total_steps < 0
        or any(not 0 < f < 1 for f in fractions)
        or list(fractions) != sorted(fractions)
    ):
        raise ValueError(
            f"need total_steps ≥ 0 and increasing fractions in (0, 1); got {total_steps}, "
            f"{tuple(fractions)}"
        )
    return tuple(round(f * total_steps) for f in fractions)


def learning_rate_schedule(
    total_steps: int,
    base: float = LEARNING_RATE,
    factor: float = DECAY_FACTOR,
    fractions: Sequence[float] = DECAY_FRACTIONS,
) -> optax.Schedule:
    """App A's stage-wise schedule: ``base``, times ``factor`` at each boundary."""
    boundaries = stage_boundaries(total_steps, fractions)
    return optax.piecewise_constant_schedule(base, {b: factor for b in boundaries})


def train_stagewise(
    key,
    model,
    data,
    config: TrainConfig,
    init=None,
    factor: float = DECAY_FACTOR,
    fractions: Sequence[float] = DECAY_FRACTIONS,
    *,
    checkpoint: Checkpoint | None = None,
):
    """Trains with the learning rate decaying by ``factor`` at ``fractions`` of
    ``config.max_steps`` (App A), one :func:`memjax.train.train` call per stage.

    Args:
      key: one key, or a batch of keys to train one run per key (``train_seeds``).
      config: the optimizer, base learning rate, total steps and stop rules;
        ``snapshot_steps`` count from the start of the whole run.
      init: initial parameters (with a leading run axis for a batch of keys); default
        ``model.init``.
      checkpoint: resumable state, one file per stage (``<stem>_stage<k><suffix>``); a finished
        stage's file returns its result without training (see ``memjax.train.Checkpoint``).

    Returns:
      ``(params, history)`` as :func:`memjax.train.train`, the stages' histories joined.
      A run stopped by a rule (loss_tol, nonfinite) stays stopped in the later stages.
    """
    batch = _is_batch(key)
    edges = (0, *stage_boundaries(config.max_steps, fractions), config.max_steps)
    params, histories, frozen = init, [], None
    for stage, (begin, end) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if end == begin:
            continue
        stage_config = dataclasses.replace(
            config,
            learning_rate=config.learning_rate * factor**stage,
            max_steps=end - begin,
            snapshot_steps=tuple(s - begin for s in config.snapshot_steps if begin < s <= end)
            + ((0,) if begin == 0 and 0 in config.snapshot_steps else ()),
        )
        run = train_seeds if batch else train
        stage_checkpoint = None if checkpoint is None else _stage_checkpoint(checkpoint, stage)
        new_params, history = run(
            key, model, data, stage_config, params, checkpoint=stage_checkpoint
        )
        if frozen is not None:  # runs stopped in an earlier stage keep their parameters
            new_params = _keep_stopped(frozen, new_params, params)
        stopped = np.asarray(history.stop_reason, dtype=object) != STOP_REASONS[0]
        frozen = stopped if frozen is None else frozen | stopped
        params = new_params
        histories.append((begin, history))
    return params, _join(histories, batch)


def _stage_checkpoint(checkpoint: Checkpoint, stage: int) -> Checkpoint:
    path = Path(checkpoint.path)
    return Checkpoint(path.with_name(f"{path.stem}_stage{stage}{path.suffix}"), checkpoint.every)


def stage_checkpoint_paths(checkpoint: Checkpoint, stages: int = 4) -> list[Path]:
    """The files :func:`train_stagewise` writes for ``checkpoint`` (to remove after a run)."""
    return [Path(_stage_checkpoint(checkpoint, k).path) for k in range(stages)]


def train_in_run(
    run, name: str, model, data, *, stagewise: bool, key=None, keys=None, init=None,
    block: str = "train"
):  # fmt: skip
    """Trains through an experiment's :class:`memjax.experiment.Run`: ``run.train`` with the
    block's constant learning rate, or, with ``stagewise``, App A's schedule
    (:func:`train_stagewise`, checkpointed every ``run.checkpoint_every`` steps), its fit
    recorded and parameters saved as ``run.train`` does."""
    if not stagewise:
        return run.train(name, model, data, key=key, keys=keys, init_params=init, block=block)
    checkpoint = None
    if run.checkpoint_every:
        checkpoint = Checkpoint(run.workdir / f"checkpoint_{name}.msgpack", run.checkpoint_every)
    seeds = keys is not None
    params, history = train_stagewise(
        keys if seeds else key, model, data, run.train_config(block), init, checkpoint=checkpoint
    )
    run.record_fit(name, history, block)
    run.save_params(name, model, params, seeds=seeds, history=history)
    for path in stage_checkpoint_paths(checkpoint) if checkpoint else ():
        path.unlink(missing_ok=True)
    return params, history


def _keep_stopped(stopped: np.ndarray, new, old):
    def select(a, b):
        return jnp.where(stopped.reshape(stopped.shape + (1,) * (a.ndim - stopped.ndim)), b, a)

    return jax.tree.map(select, new, old)


def _join(histories, batch: bool) -> History:
    losses = np.concatenate([h.losses for _, h in histories], axis=-1)
    steps = sum(np.asarray(h.steps) for _, h in histories)
    snapshots = {}
    for begin, h in histories:
        snapshots.update({begin + s: p for s, p in h.snapshots.items()})
    reasons = [np.asarray(h.stop_reason, dtype=object) for _, h in histories]
    reason = reasons[0]
    for later in reasons[1:]:  # the first rule that fired in any stage
        reason = np.where(reason == STOP_REASONS[0], later, reason)
    return History(
        losses=losses,
        steps=steps,
        final_loss=histories[-1][1].final_loss,
        stop_reason=reason.tolist() if batch else str(reason),
        snapshots=snapshots,
    )
