"""Run folders: resolved config, metrics, figures and parameters of one experiment run.

A run writes into a hidden temporary folder beside its destination and renames it into place
only when the experiment returns, so a failed run leaves no half-written folder behind.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import json
import shutil
import tempfile
from pathlib import Path

import flax.serialization
import jax
import ml_collections
import numpy as np


def to_jsonable(value):
    """Converts NumPy/JAX scalars and arrays (also complex) and containers to JSON types."""
    if isinstance(value, dict | ml_collections.ConfigDict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, jax.Array | np.ndarray | np.generic):
        return to_jsonable(np.asarray(value).tolist())
    if isinstance(value, complex):
        return {"re": value.real, "im": value.imag}
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # JSON has no NaN/inf
    return value


def as_config(instance) -> ml_collections.ConfigDict:
    """A dataclass (e.g. ``TrainConfig``) as a ConfigDict, so its fields are overridable keys.

    Rebuild it with ``TrainConfig(**config.train.to_dict())``.
    """
    return ml_collections.ConfigDict(dataclasses.asdict(instance))


def write_json(path: Path, value) -> None:
    Path(path).write_text(json.dumps(to_jsonable(value), indent=2) + "\n")


def save_params(path: Path, params) -> None:
    """Parameters as Flax msgpack (``flax.serialization.msgpack_restore`` reads them)."""
    Path(path).write_bytes(flax.serialization.msgpack_serialize(jax.device_get(params)))


def load_params(path: Path):
    return flax.serialization.msgpack_restore(Path(path).read_bytes())


def default_workdir(name: str, root: str | Path = "runs") -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


@contextlib.contextmanager
def run_folder(workdir: str | Path):
    """Yields a temporary folder that becomes ``workdir`` if the block succeeds.

    Raises:
      FileExistsError: ``workdir`` exists and is not empty (runs never overwrite each other).
    """
    workdir = Path(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"workdir {workdir} already exists and is not empty")
    workdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{workdir.name}.tmp-", dir=workdir.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if workdir.exists():
        workdir.rmdir()
    tmp.rename(workdir)


def parse_override(text: str) -> tuple[str, object]:
    """``"train.lr=1e-3"`` → ``("train.lr", 0.001)``; values are Python literals or strings."""
    if "=" not in text:
        raise ValueError(f"config override {text!r} must look like KEY=VALUE")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]):
    """Sets ``KEY=VALUE`` overrides on a config, refusing unknown keys and wrong types."""
    for text in overrides:
        key, value = parse_override(text)
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.get(part) if isinstance(node, ml_collections.ConfigDict) else None
        if not isinstance(node, ml_collections.ConfigDict) or leaf not in node:
            raise KeyError(f"unknown config key {key!r}; known keys: {', '.join(_keys(config))}")
        old = node[leaf]
        if isinstance(old, tuple) and isinstance(value, int | float):
            value = (value,)
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if old is not None and type(value) is not type(old):
            raise TypeError(
                f"config key {key!r} holds {type(old).__name__} {old!r}; "
                f"got {type(value).__name__} {value!r}"
            )
        with node.unlocked():
            node[leaf] = value
    return config


def _keys(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            yield from _keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
