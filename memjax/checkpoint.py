"""Resumable training state: the :class:`Checkpoint` setting, the file format and durable writes.

:func:`memjax.train.train` writes the whole training state (parameters, optimizer state, stop
rules, loss history, snapshots) every ``Checkpoint.every`` steps and, called again with the
same arguments, continues from the file; :func:`atomic_write` is the one way memjax writes a
file that a crash must never leave half-written (checkpoints and saved models alike).

Flax msgpack rather than orbax: a training state here is a few small arrays written from one
host between chunks, so one self-contained file, written synchronously and renamed into place,
is all that is needed; orbax's directories, async writes and multi-host coordination would add
failure modes (half-finished directories, a background thread racing a SIGKILL) and a
dependency surface without a use. A sharded state is gathered to the host first, which limits
this to states that fit one host.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from pathlib import Path

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Where and how often :func:`train` saves its resumable state.

    Every ``every`` steps (and once more when the run ends) the whole training state is
    written to ``path``: parameters, optimizer state, step counters, stop-rule state, the loss
    history, the snapshots taken and the ones still due, and which seeds were reported
    non-finite. A later call with the same model, config, data and initial parameters finds
    the file and continues from it; the host loop ends a compiled chunk at every multiple of
    ``every``, in the first run and in the resumed one alike, so an interrupted and resumed
    run computes exactly the steps of an uninterrupted one (bitwise-equal results on the
    CPU), recomputing at most ``every`` steps. A finished run's file returns its result
    without training. Each write costs one host copy of the state and the snapshots.

    Attributes:
      path: the checkpoint file (its folder is created).
      every: steps between writes.
    """

    path: str | os.PathLike
    every: int

    def __post_init__(self):
        if not isinstance(self.every, int | np.integer) or self.every < 1:
            raise ValueError(
                f"Checkpoint.every must be a positive number of steps, got {self.every!r}"
            )


@dataclasses.dataclass
class HostRecord:
    """What the host loop keeps beside the device state (all of it goes into a checkpoint).

    Attributes:
      losses: loss columns of the chunks so far, each ``(..., steps_per_call)``.
      snapshots: ``{step: params}`` on the host.
      pending: snapshot steps not reached yet, ascending.
      reported: per seed, whether its divergence was already reported.
    """

    losses: list
    snapshots: dict
    pending: list
    reported: np.ndarray


CHECKPOINT_FORMAT = "memjax.train checkpoint v1"


def _digest(tree) -> str:
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(jax.device_get(tree)):
        leaf = np.asarray(leaf)
        digest.update(f"{leaf.dtype}{leaf.shape}".encode())
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def _array_fingerprint(a) -> dict:
    return {"shape": list(a.shape), "dtype": str(a.dtype), "sha256": _digest(a)}


def fingerprint(model, config, batch, state, n_seeds) -> dict:
    """What must match for a checkpoint to continue this run. The initial state covers the
    keys, ``init_params`` and per-run learning rates; ``progress`` only changes the display."""
    fields = dataclasses.asdict(config)
    del fields["progress"]
    data, targets = batch
    return {
        # Flax's repr lists every attribute; object addresses would differ between processes.
        "model": re.sub(r" at 0x[0-9a-fA-F]+", "", repr(model)),
        "config": json.loads(json.dumps(fields)),
        "data": _array_fingerprint(data),
        "targets": None if targets is None else _array_fingerprint(targets),
        "initial state (key, init_params, learning_rates)": _digest(state),
        "seeds": n_seeds,
    }


def write(path, fingerprint: dict, state, record: HostRecord) -> None:
    losses = np.concatenate(record.losses, axis=-1) if record.losses else np.zeros((0,))
    to_dict = flax.serialization.to_state_dict
    payload = {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": json.dumps(fingerprint, sort_keys=True),
        "state": to_dict(jax.device_get(state)),
        "losses": losses,
        "snapshots": {str(step): to_dict(params) for step, params in record.snapshots.items()},
        "pending": np.asarray(record.pending, np.int64),
        "reported": record.reported,
    }
    atomic_write(Path(path), flax.serialization.msgpack_serialize(payload))


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a reader (or a crash) never sees a partial file:
    a temporary file in the same folder, flushed to disk, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    with open(part, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:  # make the rename itself durable
        os.fsync(folder)
    finally:
        os.close(folder)


def read(path, fingerprint: dict, template):
    """The state and host record saved at ``path``, checked against this run."""
    try:
        payload = flax.serialization.msgpack_restore(Path(path).read_bytes())
        is_ours = isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT
    except Exception as error:  # msgpack raises several types for corrupt input
        raise ValueError(
            f"checkpoint {path} is unreadable (corrupt or truncated): {error}"
        ) from None
    if not is_ours:
        raise ValueError(f"{path} is not a memjax.train checkpoint ({CHECKPOINT_FORMAT})")
    saved = json.loads(payload["fingerprint"])
    different = [name for name in fingerprint if saved.get(name) != fingerprint[name]]
    if different:
        raise ValueError(
            f"checkpoint {path} belongs to another training run (different "
            f"{', '.join(different)}); delete the file or choose another path"
        )
    state = _restore_like(template, payload["state"], path)
    host = jax.device_get(template.params)
    losses = payload["losses"]
    record = HostRecord(
        losses=[losses] if losses.shape[-1] else [],
        snapshots={
            int(step): _restore_like(host, params, path)
            for step, params in payload["snapshots"].items()
        },
        pending=[int(step) for step in payload["pending"]],
        reported=np.asarray(payload["reported"], bool),
    )
    log.info("resuming from %s at step %d", path, int(np.max(np.asarray(state.step))))
    return state, record


def _restore_like(template, saved: dict, path):
    """``saved`` in the structure of ``template``, leaves of the same kind (host or device)."""
    try:
        restored = flax.serialization.from_state_dict(template, saved)
        pairs = zip(jax.tree.leaves(template), jax.tree.leaves(restored), strict=True)
        same = all(np.shape(a) == np.shape(b) and a.dtype == np.asarray(b).dtype for a, b in pairs)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"checkpoint {path} does not hold this run's state: {error}") from None
    if not same:
        raise ValueError(f"checkpoint {path} holds arrays of other shapes or dtypes")
    as_template = jnp.asarray if isinstance(jax.tree.leaves(template)[0], jax.Array) else np.asarray
    return jax.tree.map(as_template, restored)
