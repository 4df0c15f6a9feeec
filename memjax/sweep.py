"""Sweeps: many training runs of one model (seeds, learning rates, init scales) at once.

``sweep`` trains one run per key, either vmapped into one program (``train_seeds``) or one
after another (``train``), and returns the same stacked ``(params, History)`` either way.
Which is faster depends on the backend and the run's size (``benchmarks/sweeps.py`` measures
it on this 2-core CPU): vmapping pays off where a run is too small to keep the processor busy
(8 runs of a 784-64-784 MLP: 1.2× faster; each run's matmuls stay as small as they were, so
vmapping only saves the per-step overhead), but once one run's step saturates the CPU the
batched program is slower than a loop (a 3×512 MLP: 0.69×; a small conv net, whose per-run
convolutions become grouped convolutions: 0.64×). ``strategy="auto"`` therefore vmaps on
accelerators, and on the CPU only below ``VMAP_FLOP_LIMIT`` gradient FLOPs per run.

With several devices (GPUs, or hosts joined by ``jax.distributed.initialize()``), a vmapped
sweep spreads its runs over them: ``devices=jax.devices()`` shards the run axis with a
``NamedSharding`` and every device trains its share in the same compiled program.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import flax.linen as nn
import jax
import numpy as np

from memjax.train import (
    Checkpoint,
    History,
    TrainConfig,
    run_params,
    step_flops,
    train,
    train_seeds,
)

STRATEGIES = ("auto", "vmap", "sequential")
# Gradient FLOPs per run below which a vmapped sweep beats a loop on the CPU
# (benchmarks/sweeps.py, 8 runs): 4.0e6 (784-64-784 MLP) ran 1.2x faster vmapped, 6.2e7 (conv
# D_{16,16}) 0.64x and 4.6e8 (3x512 MLP) 0.69x.
VMAP_FLOP_LIMIT = 2e7


def default_strategy(flops: float, backend: str | None = None) -> str:
    """ "vmap" on accelerators and for runs under ``VMAP_FLOP_LIMIT`` FLOPs on the CPU."""
    backend = backend or jax.default_backend()
    return "vmap" if backend != "cpu" or flops < VMAP_FLOP_LIMIT else "sequential"


def sweep(
    keys,
    model: nn.Module,
    data,
    config: TrainConfig,
    init_params=None,
    learning_rates=None,
    strategy: str = "auto",
    devices=None,
    *,
    checkpoint: Checkpoint | None = None,
):
    """Trains one run per key; returns ``(params, history)`` stacked along a leading run axis.

    Args:
      keys: ``(n, 2)`` PRNG keys, one per run.
      init_params: optional starting parameters per run (leading axis ``n``), e.g. a sweep
        over the init scale.
      learning_rates: optional ``(n,)`` rates, one per run.
      strategy: "vmap", "sequential" or "auto" (:func:`default_strategy` of one run's
        gradient FLOPs).
      devices: for "vmap", spread the runs over these devices (see ``train_seeds``).
      checkpoint: make the sweep resumable: "vmap" writes one file at ``checkpoint.path``,
        "sequential" one per run (``NAME.run{i}.EXT``: finished runs are not trained again).
        A sweep resumes only with the strategy it started with, so give "auto" sweeps that
        may move between backends an explicit strategy.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "auto":
        data = jax.numpy.asarray(data)
        shapes = jax.eval_shape(model.init, keys[0], data[0])  # no forward pass run
        strategy = default_strategy(step_flops(model, shapes, data))
    if strategy == "vmap":
        return train_seeds(
            keys, model, data, config, init_params, learning_rates, devices, checkpoint=checkpoint
        )
    runs = []
    for i, key in enumerate(keys):
        run_config = config
        if learning_rates is not None:
            run_config = dataclasses.replace(config, learning_rate=float(learning_rates[i]))
        start = None if init_params is None else run_params(init_params, i)
        run_checkpoint = None if checkpoint is None else _run_checkpoint(checkpoint, i)
        runs.append(train(key, model, data, run_config, start, checkpoint=run_checkpoint))
    return _stack(runs)


def _run_checkpoint(checkpoint: Checkpoint, run: int) -> Checkpoint:
    """The file of one run of a sequential sweep, beside ``checkpoint.path``."""
    path = Path(checkpoint.path)
    return dataclasses.replace(
        checkpoint, path=path.with_name(f"{path.stem}.run{run}{path.suffix}")
    )


def _stack(runs) -> tuple:
    """Sequential runs as one vmapped-style result: leading run axis, losses NaN-padded."""
    params = jax.tree.map(lambda *leaves: np.stack(leaves), *[p for p, _ in runs])
    histories = [h for _, h in runs]
    length = max(len(h.losses) for h in histories)
    losses = np.full((len(runs), length), np.nan)
    for i, h in enumerate(histories):
        losses[i, : len(h.losses)] = h.losses
    steps = sorted(set().union(*(h.snapshots for h in histories)))
    snapshots = {
        s: jax.tree.map(lambda *leaves: np.stack(leaves), *[h.snapshots[s] for h in histories])
        for s in steps
        if all(s in h.snapshots for h in histories)
    }
    return params, History(
        losses=losses,
        steps=np.array([h.steps for h in histories]),
        final_loss=np.array([h.final_loss for h in histories]),
        stop_reason=[h.stop_reason for h in histories],
        snapshots=snapshots,
    )
