"""Run folders: resolved config, provenance, metrics, figures and trained models of one run.

A run writes into ``WORKDIR.partial`` beside its destination and renames it into place only when
the experiment returns, so a failed run leaves no half-written folder under the final name.
Trained parameters are saved with their architecture, so one call (:func:`load_model`) reopens
a model and applies it.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import difflib
import importlib
import importlib.metadata
import json
import math
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import flax.serialization
import jax
import ml_collections
import numpy as np

from memjax.checkpoint import atomic_write
from memjax.train import History, run_params


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


MODEL_FORMAT = "memjax.model/1"


def save_model(path: Path, model, params, seeds: bool = False, history=None) -> None:
    """Writes ``params`` with ``model``'s architecture to one Flax msgpack file, atomically.

    Args:
      model: a Flax Linen module of memjax (its dataclass fields are stored, so it is rebuilt
        exactly by :func:`load_model`).
      seeds: ``params`` carry a leading seed axis (as from ``train_seeds``).
      history: the ``memjax.train.History`` of the training, kept so that a resumed run
        reuses the finished model exactly.

    Raises:
      TypeError: a field of the model cannot be stored (only numbers, strings, tuples and
        memjax dataclasses can).
    """
    spec = json.dumps(_encode_module(model))
    leaves = jax.tree.leaves(params)
    record = {
        "format": MODEL_FORMAT,
        "model": spec,
        "num_seeds": int(np.shape(leaves[0])[0]) if seeds and leaves else -1,
        "params": jax.device_get(params),
    }
    if history is not None:
        record["history"] = _encode_history(history)
    atomic_write(Path(path), flax.serialization.msgpack_serialize(record))


@dataclasses.dataclass(eq=False)  # hashed by identity: `saved.apply` can key a jit cache
class SavedModel:
    """A trained model reopened: ``apply(x)`` runs it on one example.

    Attributes:
      model: the rebuilt Flax module.
      params: its parameters, with a leading seed axis if ``num_seeds`` is not None.
      num_seeds: how many seeds the file holds, or None for a single model.
      path: where it was read from.
      history: the ``memjax.train.History`` of its training, where the file kept it.
    """

    model: Any
    params: Any
    num_seeds: int | None
    path: Path
    history: Any = None

    def seed_params(self, seed: int = 0):
        """The parameters of one seed (the only ones for a single model)."""
        if self.num_seeds is None:
            return self.params
        if not 0 <= seed < self.num_seeds:
            raise IndexError(f"{self.path} holds {self.num_seeds} seeds; no seed {seed}")
        return run_params(self.params, seed)

    def apply(self, x, seed: int = 0):
        """The model's output for one example ``x`` (vmap it for a batch)."""
        return self.model.apply(self.seed_params(seed), x)


def load_model(path: str | Path) -> SavedModel:
    """Reopens a model written by :func:`save_model` (a run folder's ``params_*.msgpack``).

    Raises:
      ValueError: the file is truncated, not msgpack, or not a memjax model; the message names
        the file.
    """
    path = Path(path)
    try:
        record = flax.serialization.msgpack_restore(path.read_bytes())
    except FileNotFoundError:
        raise
    except Exception as error:  # msgpack raises several types for corrupt input
        raise ValueError(f"{path} is not a readable memjax model file ({error})") from None
    if not isinstance(record, dict) or record.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a memjax model file (expected format {MODEL_FORMAT})")
    try:
        model = _decode(json.loads(record["model"]))
    except (KeyError, ValueError, TypeError, ImportError, AttributeError) as error:
        raise ValueError(f"{path}: cannot rebuild its model ({error})") from None
    num_seeds = int(record["num_seeds"])
    history = _decode_history(record["history"]) if "history" in record else None
    return SavedModel(model, record["params"], None if num_seeds < 0 else num_seeds, path, history)


def _encode_history(history) -> dict:
    return {
        "losses": np.asarray(history.losses),
        "steps": np.asarray(history.steps),
        "final_loss": np.asarray(history.final_loss),
        "stop_reason": json.dumps(history.stop_reason),
        "snapshots": {str(step): p for step, p in history.snapshots.items()},
    }


def _decode_history(record):
    return History(
        losses=record["losses"],
        steps=record["steps"],
        final_loss=record["final_loss"],
        stop_reason=json.loads(record["stop_reason"]),
        snapshots={int(step): p for step, p in record["snapshots"].items()},
    )


def _encode_module(value):
    """A module or layer spec as JSON: class path and fields, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {
            f.name: _encode(getattr(value, f.name), f"{cls.__name__}.{f.name}")
            for f in dataclasses.fields(value)
            if f.name not in ("parent", "name")  # Flax's bookkeeping fields
        }
        return {"__class__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise TypeError(f"cannot store a model of type {type(value).__name__}; expected a dataclass")


def _encode(value, where):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_module(value)
    raise TypeError(f"model field {where} holds a {type(value).__name__}, which cannot be stored")


def _decode(value):
    if isinstance(value, dict) and "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if isinstance(value, dict) and "__class__" in value:
        module, _, qualname = value["__class__"].partition(":")
        # Only memjax's own classes: a model file must not name arbitrary code to import.
        if module.split(".")[0] != "memjax":
            raise ValueError(f"class {value['__class__']} is not a memjax class")
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        return cls(**{k: _decode(v) for k, v in value["fields"].items()})
    return value


def provenance(name: str, preset: str, config) -> dict:
    """What made a run: command, seed, package versions, git commit, device and precision."""
    versions = {"python": platform.python_version()}
    for package in ("memjax", "jax", "jaxlib", "flax", "optax", "numpy", "scipy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    devices = jax.devices()
    train = config.get("train")
    return {
        "experiment": name,
        "preset": preset,
        "seed": config.get("seed"),
        "command": sys.argv,
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "versions": versions,
        "git": _git_state(),
        "device": {
            "backend": jax.default_backend(),
            "kind": devices[0].device_kind,
            "count": len(devices),
        },
        "precision": {
            "x64": bool(jax.config.jax_enable_x64),
            "default_matmul_precision": jax.config.jax_default_matmul_precision,
            "train": train.get("precision") if train is not None else None,
        },
    }


def _git_state() -> dict | None:
    """The commit of memjax's source checkout and whether it had uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "memjax",
                                "experiments"], capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an installed wheel)
    return {"commit": commit, "dirty": bool(dirty)}


def default_workdir(name: str, root: str | Path = "runs") -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


def partial_folder(workdir: str | Path) -> Path:
    """Where a run writes until it finishes: ``WORKDIR.partial``."""
    workdir = Path(workdir)
    return workdir.with_name(workdir.name + ".partial")


@contextlib.contextmanager
def run_folder(workdir: str | Path, resume: bool = False):
    """Yields ``WORKDIR.partial``, which becomes ``workdir`` if the block succeeds.

    An error removes the partial folder (no half-written output); an interruption (Ctrl-C, or a
    kill that gives Python no chance) leaves it for ``resume``.

    Args:
      resume: continue in an existing partial folder instead of starting a new one.

    Raises:
      FileExistsError: ``workdir`` exists and is not empty (runs never overwrite each other),
        or a partial folder exists and ``resume`` is False.
      FileNotFoundError: ``resume`` is True and there is no partial folder.
    """
    workdir = Path(workdir)
    partial = partial_folder(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"workdir {workdir} already exists and is not empty")
    if resume and not partial.is_dir():
        raise FileNotFoundError(f"nothing to resume: {partial} does not exist")
    if not resume and partial.exists():
        raise FileExistsError(
            f"{partial} holds an interrupted run: resume it with --resume {workdir}, or delete it"
        )
    partial.mkdir(parents=True, exist_ok=True)
    try:
        yield partial
    except KeyboardInterrupt:
        print(f"interrupted: resume with `memjax run --resume {workdir}`", file=sys.stderr)
        raise
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if workdir.exists():
        workdir.rmdir()
    partial.rename(workdir)


def parse_override(text: str) -> tuple[str, object]:
    """``"train.lr=1e-3"`` → ``("train.lr", 0.001)``; values are Python literals or strings."""
    if "=" not in text:
        raise ValueError(f"config override {text!r} must look like KEY=VALUE")
    key, raw = text.split("=", 1)
    if raw.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return key.strip(), float(raw)  # so that the range check can name and refuse them
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
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
            known = list(_keys(config))
            close = difflib.get_close_matches(key, known, n=3)
            shown = close or known
            hint = ("did you mean " if close else "known keys: ") + ", ".join(shown)
            raise KeyError(f"unknown config key {key!r}; {hint}")
        if isinstance(node[leaf], ml_collections.ConfigDict):
            raise TypeError(f"config key {key!r} is a block; set one of its keys ({key}.KEY=VALUE)")
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
        _check_range(key, old, value)
        with node.unlocked():
            node[leaf] = value
    return config


def _check_range(key, old, value):
    """Numbers keep the kind of range their default has: finite stays finite (NaN is never a
    setting), and a non-negative count, size or rate does not turn negative."""
    for old_v, new_v in zip(_numbers(old), _numbers(value), strict=False):
        if isinstance(new_v, float) and not math.isfinite(new_v) and math.isfinite(old_v):
            raise ValueError(f"config key {key!r} must be a finite number, got {new_v!r}")
        if new_v < 0 <= old_v:
            raise ValueError(f"config key {key!r} must be ≥ 0 (default {old!r}), got {value!r}")


def _numbers(value):
    items = value if isinstance(value, tuple) else (value,)
    return [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]


def _keys(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            yield from _keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
