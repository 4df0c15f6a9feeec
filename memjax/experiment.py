"""Experiments as declarations; the runner does everything else, once.

An experiment module declares what it reproduces and does the science::

    def get_config(preset: str) -> ml_collections.ConfigDict: ...   # seed, model, data, train
    def science(run: Run) -> dict: ...                               # metrics of its own

    EXPERIMENT = Experiment(
        name="ds-point-map", paper="DS", figure="[DS] Fig 2-3: ...",
        get_config=get_config, science=science, keys=("train", "probes"),
    )

and the runner owns the mechanics every experiment shares: the root seed split into the named
keys, the run folder and its provenance, training through :meth:`Run.train` (which saves every
trained model's parameters with its architecture and records whether it fitted), the paper's
numbers beside ours (:meth:`Run.compare`), figures, printed tables and the closing summary.

A number measured on a model that did not fit is reported as such and never counted as a
reproduction: each :meth:`Run.compare` names the trained models it depends on.

The library never imports experiments: they are found through the ``memjax.experiments``
entry point group (see :func:`registry`), so any installed package can add its own.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import importlib.metadata
import importlib.resources
import json
import math
import pkgutil
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np

from memjax import runs
from memjax.train import Checkpoint, TrainConfig, count_runs, train, train_seeds

# The papers memjax reproduces, in the order `memjax list` shows them.
PAPERS = {
    "DS": "Downsampling leads to image memorization in convolutional autoencoders",
    "MO1": "Memorization in overparameterized autoencoders (v1)",
    "MO2": "Memorization in overparameterized autoencoders (v2): attractors",
    "IC": "Identity crisis: memorization and generalization under extreme overparameterization",
    "INV": "Towards understanding the invertibility of convolutional neural networks",
}
PRESETS = ("quick", "paper")
CHECKPOINT_EVERY = 1000  # steps between checkpoints of a training inside a run (0: none)
ENTRY_POINT_GROUP = "memjax.experiments"
# Keys of metrics.json that the runner writes; an experiment's own metrics may not use them.
RUNNER_KEYS = (
    "experiment", "paper", "figure", "preset", "wall_time_s", "cpu_time_s", "fits",
    "comparisons", "summary", "figures", "params",
)  # fmt: skip
FIT_KEY = "fit_loss"  # in a train block: the loss below which a trained model counts as fitted


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One paper figure or table, declared.

    Attributes:
      name: what ``memjax run`` takes, lower-case words joined by ``-`` (``ds-point-map``).
      paper: a key of :data:`PAPERS`.
      figure: what it reproduces, e.g. ``"[DS] Fig 2-3: Network D vs ND"``.
      get_config: ``preset -> ConfigDict`` for each of :data:`PRESETS`; it holds an integer
        ``seed`` and, if the experiment trains, a ``train`` block of :class:`TrainConfig`
        fields plus ``fit_loss``.
      science: ``Run -> dict | None``; the returned metrics go into ``metrics.json``.
      keys: names of the PRNG keys the science uses, split from ``seed`` (see
        :func:`named_keys`): one key for one purpose, never reused.
    """

    name: str
    paper: str
    figure: str
    get_config: Callable[[str], ml_collections.ConfigDict]
    science: Callable[[Run], dict | None]
    keys: tuple[str, ...] = ()

    def __post_init__(self):
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.name):
            raise ValueError(f"experiment name {self.name!r} must be lower-case words joined by -")
        if self.paper not in PAPERS:
            raise ValueError(f"{self.name}: paper {self.paper!r} is not one of {list(PAPERS)}")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"{self.name}: key names {self.keys} repeat")


def named_keys(seed: int, names: Sequence[str]) -> dict[str, jax.Array]:
    """The root key ``PRNGKey(seed)`` split into one key per name, in order.

    One name gets the root key itself and ``n > 1`` names get ``jax.random.split(root, n)``,
    so an experiment that used ``PRNGKey(seed)`` for its only purpose, or split it once into
    ``n`` keys, keeps exactly its numbers.
    """
    root = jax.random.PRNGKey(seed)
    if len(names) == 1:
        return {names[0]: root}
    return dict(zip(names, jax.random.split(root, len(names)), strict=True))


# ---------------------------------------------------------------------------------------------
# Registry


@functools.cache
def registry() -> dict[str, Experiment]:
    """Every installed experiment by name, found through the ``memjax.experiments`` entry points.

    Each entry point names a package; every module in it (recursively) that defines
    ``EXPERIMENT`` contributes it. Two experiments with one name are an error. A module that
    fails to import does not hide the others: it is listed by :func:`broken_modules` (and by
    ``memjax list``), and the test suite requires that list to be empty.
    """
    found: dict[str, tuple[Experiment, str]] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        for module in _modules(entry.value):
            experiment = getattr(module, "EXPERIMENT", None)
            if experiment is None:
                continue
            if not isinstance(experiment, Experiment):
                raise TypeError(f"{module.__name__}.EXPERIMENT is not a memjax Experiment")
            if experiment.name in found:
                raise ValueError(
                    f"experiment {experiment.name!r} is declared twice: in "
                    f"{found[experiment.name][1]} and {module.__name__}"
                )
            found[experiment.name] = (experiment, module.__name__)
    order = list(PAPERS)
    names = sorted(found, key=lambda n: (order.index(found[n][0].paper), n))
    return {name: found[name][0] for name in names}


_BROKEN: dict[str, str] = {}


def broken_modules() -> dict[str, str]:
    """Experiment modules that failed to import, with the error (after :func:`registry`)."""
    registry()
    return dict(_BROKEN)


def _modules(package_name: str):
    package = importlib.import_module(package_name)
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        try:
            yield importlib.import_module(info.name)
        except Exception as error:  # noqa: BLE001 - reported, see broken_modules
            _BROKEN[info.name] = f"{type(error).__name__}: {error}"


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name suggests the closest ones."""
    experiments = registry()
    if name not in experiments:
        close = difflib.get_close_matches(name, experiments, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `memjax list` names them all"
        if _BROKEN:
            hint += f" (modules that failed to import: {', '.join(_BROKEN)})"
        raise ValueError(f"unknown experiment {name!r}{hint}")
    return experiments[name]


@functools.cache
def quick_runtimes() -> dict[str, float]:
    """Measured CPU seconds (all threads) of each experiment's quick preset, from the
    ``quick_results.json`` that an entry-point package may ship (``scripts/quick_results.py``
    writes memjax's)."""
    runtimes = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        path = importlib.resources.files(entry.value) / "quick_results.json"
        if path.is_file():
            for name, result in json.loads(path.read_text())["experiments"].items():
                if "cpu_time_s" in result:
                    runtimes[name] = result["cpu_time_s"]
    return runtimes


# ---------------------------------------------------------------------------------------------
# Configs


def prepare_config(name: str, preset: str = "quick", overrides: Sequence[str] = ()):
    """The experiment's config for ``preset`` with ``KEY=VALUE`` overrides, checked and locked.

    Raises:
      ValueError, KeyError, TypeError: an unknown preset or key, a value of the wrong type, a
        non-finite or negative number where the default is finite / non-negative, or a train
        block that :class:`TrainConfig` refuses; each message names the key.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    config = get(name).get_config(preset)
    config = runs.apply_overrides(config, list(overrides))
    check_config(config)
    config.lock()
    return config


def check_config(config: ml_collections.ConfigDict) -> None:
    """Checks what every experiment's config shares: the seed and the train blocks."""
    if not isinstance(config.get("seed"), int):
        raise ValueError("the config must hold an integer `seed`")
    for block, value in config.items():
        if block == "train" or block.startswith("train_"):
            if not isinstance(value, ml_collections.ConfigDict) or FIT_KEY not in value:
                raise ValueError(f"config block {block!r} must hold TrainConfig fields, {FIT_KEY}")
            try:
                _train_config(value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"config {block}: {error}") from None


def _train_config(block: ml_collections.ConfigDict, **changes) -> TrainConfig:
    fields = {k: v for k, v in block.items() if k != FIT_KEY}
    return TrainConfig(**(fields | changes))


# ---------------------------------------------------------------------------------------------
# Fits and comparisons


@dataclasses.dataclass
class Fit:
    """Whether one trained model (or each seed of it) reached its experiment's fit threshold.

    ``status`` per seed: ``"fit"`` (finite loss ≤ threshold), ``"unfit"`` (finite, above),
    or ``"nonfinite"`` (the loss became NaN/inf).
    """

    name: str
    threshold: float
    final_loss: list[float]
    steps: list[int]
    stop_reason: list[str]
    status: list[str]

    @classmethod
    def from_history(cls, name, history, threshold) -> Fit:
        losses = np.atleast_1d(np.asarray(history.final_loss, np.float64))
        reasons = np.atleast_1d(np.asarray(history.stop_reason, dtype=object)).tolist()
        status = [
            "nonfinite" if reason == "nonfinite" or not np.isfinite(loss)
            else "fit" if loss <= threshold else "unfit"
            for loss, reason in zip(losses, reasons, strict=True)
        ]  # fmt: skip
        return cls(name, float(threshold), losses.tolist(),
                   np.atleast_1d(np.asarray(history.steps)).tolist(), reasons, status)  # fmt: skip

    @property
    def mask(self) -> np.ndarray:
        """``(n_seeds,)`` True where the seed fitted."""
        return np.array([s == "fit" for s in self.status])

    @property
    def summary(self) -> str:
        fitted = int(self.mask.sum())
        text = f"{self.name}: {fitted}/{len(self.status)} fitted (loss ≤ {self.threshold:.0e})"
        if fitted < len(self.status):
            finite = [loss for loss in self.final_loss if math.isfinite(loss)]
            bad = sorted({s for s in self.status if s != "fit"})
            worst = f"largest finite final loss {max(finite):.2e}" if finite else "no finite loss"
            text += f" — {', '.join(bad)}; {worst}"
        return text


KINDS = ("close", "below", "above", "report")
STATUSES = ("reproduced", "not reproduced", "unfit", "no criterion", "not measured")


@dataclasses.dataclass
class Comparison:
    """One of the paper's numbers beside ours.

    ``kind``: ``"close"`` (reproduced when ``|ours − paper| ≤ tol``), ``"below"`` / ``"above"``
    (``ours`` on the paper's side of a bound, ``paper``), or ``"report"`` (shown side by side,
    no criterion, e.g. where the paper gives only a picture).
    """

    label: str
    ours: Any
    paper: Any
    kind: str
    tol: float | None
    fits: tuple[str, ...]
    require: str
    note: str
    status: str = ""


def _status(c: Comparison, fits: Mapping[str, Fit]) -> str:
    for name in c.fits:
        mask = fits[name].mask
        if not (mask.all() if c.require == "all" else mask.any()):
            return "unfit"
    if c.ours is None or (isinstance(c.ours, float) and math.isnan(c.ours)):
        return "not measured"
    if c.kind == "report" or c.paper is None:
        return "no criterion"
    ours, paper = np.asarray(c.ours, np.float64), np.asarray(c.paper, np.float64)
    if c.kind == "close":
        ok = np.all(np.abs(ours - paper) <= c.tol)
    elif c.kind == "below":
        ok = np.all(ours < paper)
    else:
        ok = np.all(ours > paper)
    return "reproduced" if bool(ok) else "not reproduced"


# ---------------------------------------------------------------------------------------------
# The run


class Run:
    """What an experiment's science gets: its config, keys and folder, and the runner's tools.

    Attributes:
      config: the resolved, locked config.
      preset: ``"quick"`` or ``"paper"``.
      keys: the named PRNG keys of the experiment's declaration.
      workdir: the run folder (figures and parameters go here).
    """

    def __init__(
        self,
        experiment: Experiment,
        config,
        preset: str,
        workdir: Path,
        resume: bool = False,
        checkpoint_every: int = CHECKPOINT_EVERY,
    ):
        self.experiment = experiment
        self.resume = resume
        self.checkpoint_every = checkpoint_every
        self.config = config
        self.preset = preset
        self.workdir = Path(workdir)
        self.keys = named_keys(config.seed, experiment.keys)
        self.fits: dict[str, Fit] = {}
        self.comparisons: list[Comparison] = []
        self.figures: list[str] = []
        self.params: list[str] = []

    # -- training -------------------------------------------------------------------------------

    def train_config(self, block: str = "train", **changes) -> TrainConfig:
        """The :class:`TrainConfig` of a train block, with field ``changes``."""
        return _train_config(self.config[block], **changes)

    def train(
        self,
        name: str,
        model,
        data,
        *,
        key=None,
        keys=None,
        block: str = "train",
        init_params=None,
        learning_rates=None,
        seeds: bool = False,
        targets=None,
        **changes,
    ):
        """Trains ``model`` on ``data``, saves its parameters as ``params_{name}.msgpack`` and
        records its fit against the block's ``fit_loss``.

        Args:
          name: names the model in the run folder, the fit records and comparisons.
          key: one seed (``memjax.train.train``), or
          keys: ``(n_seeds, 2)`` keys, all seeds vmapped (``memjax.train.train_seeds``);
            ``init_params`` then carries the seed axis too.
          init_params: the starting parameters; with neither key nor keys, they are the whole
            start (``seeds=True``: they carry a leading run axis, one vmapped run each).
          targets: what the model should output for each example (the block's ``loss``
            decides how it is scored); default: ``data``, an autoencoder.
          block: the config's train block; ``changes`` override its fields for this model.

        Returns:
          ``(params, history)`` as ``memjax.train``.
        """
        if key is not None and keys is not None:
            raise ValueError(f"train {name!r}: give one of key= or keys=, not both")
        if key is None and keys is None and init_params is None:
            raise ValueError(f"train {name!r}: give key=, keys= or init_params=")
        if name in self.fits:
            raise ValueError(f"a model called {name!r} was already trained in this run")
        config = self.train_config(block, **changes)
        seeds = seeds or keys is not None or learning_rates is not None
        path = self.workdir / f"params_{name}.msgpack"
        if self.resume and path.is_file():  # trained before the interruption: reuse it exactly
            saved = runs.load_model(path)
            print(f"train {name}: reused from the interrupted run", flush=True)
            self.record_fit(name, saved.history, block)
            self.params.append(path.name)
            return saved.params, saved.history
        shape = "×".join(map(str, np.shape(data)))
        count = f", {count_runs(keys, init_params)} runs" if seeds else ""
        checkpoint = None
        if self.checkpoint_every:
            # Survives an interruption; superseded by the params file once training ends.
            checkpoint = Checkpoint(self.workdir / f"checkpoint_{name}.msgpack",
                                    self.checkpoint_every)  # fmt: skip
        again = " (continuing from its checkpoint)" if self._resumable(checkpoint) else ""
        print(f"train {name}: {type(model).__name__} on {shape}{count}{again}", flush=True)
        if seeds:
            params, history = train_seeds(keys, model, data, config, init_params=init_params,
                                          learning_rates=learning_rates, targets=targets,
                                          checkpoint=checkpoint)  # fmt: skip
        else:
            params, history = train(key, model, data, config, init_params=init_params,
                                    targets=targets, checkpoint=checkpoint)  # fmt: skip
        self.record_fit(name, history, block)
        self.save_params(name, model, params, seeds=seeds, history=history)
        if checkpoint is not None:
            Path(checkpoint.path).unlink(missing_ok=True)
        return params, history

    def _resumable(self, checkpoint) -> bool:
        return self.resume and checkpoint is not None and Path(checkpoint.path).is_file()

    def record_fit(self, name: str, history, block: str = "train", threshold=None) -> Fit:
        """Records a fit by hand (for training that does not go through :meth:`train`)."""
        threshold = self.config[block][FIT_KEY] if threshold is None else threshold
        fit = Fit.from_history(name, history, threshold)
        self.fits[name] = fit
        print(f"  {fit.summary}", flush=True)
        return fit

    def save_params(self, name: str, model, params, seeds: bool = False, history=None) -> Path:
        """Saves ``params`` with ``model``'s architecture (:func:`memjax.runs.load_model`)."""
        path = self.workdir / f"params_{name}.msgpack"
        runs.save_model(path, model, params, seeds=seeds, history=history)
        self.params.append(path.name)
        return path

    # -- results -------------------------------------------------------------------------------

    def compare(
        self,
        label: str,
        ours,
        paper,
        *,
        kind: str = "close",
        tol: float | None = None,
        fits: Sequence[str] = (),
        require: str = "all",
        note: str = "",
    ) -> Comparison:
        """Puts one of our numbers beside the paper's.

        Args:
          label: what is compared, e.g. ``"rank, basis_2"``.
          ours, paper: numbers (or equal-shaped lists of numbers); ``paper`` may be None
            where the paper gives no number.
          kind: see :class:`Comparison`; ``tol`` is required for ``"close"``.
          fits: the trained models the number was measured on; if any did not fit (every seed
            with ``require="all"``, or at least one with ``"any"``, for numbers taken over the
            fitted seeds only) the comparison is ``"unfit"`` and never a reproduction.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if kind == "close" and tol is None:
            raise ValueError(f"compare {label!r}: kind='close' needs tol")
        if require not in ("all", "any"):
            raise ValueError(f"require must be 'all' or 'any', got {require!r}")
        unknown = [f for f in fits if f not in self.fits]
        if unknown:
            raise ValueError(f"compare {label!r}: no trained model called {unknown}")
        comparison = Comparison(label, runs.to_jsonable(ours), runs.to_jsonable(paper), kind,
                                tol, tuple(fits), require, note)  # fmt: skip
        comparison.status = _status(comparison, self.fits)
        self.comparisons.append(comparison)
        return comparison

    def figure(self, name: str) -> Path:
        """The path of the figure ``name`` (a PNG in the run folder); the runner checks that the
        science wrote it."""
        path = self.workdir / (name if name.endswith(".png") else f"{name}.png")
        self.figures.append(path.name)
        return path

    def table(self, rows: Sequence[Mapping], columns: Sequence[str] | Mapping | None = None,
              title: str | None = None) -> None:  # fmt: skip
        """Prints ``rows`` (dicts) as an aligned table: floats to 3 significant digits.

        ``columns`` lists the keys to print, or maps each column's header to what fills it
        (see :func:`table_rows`), so that metric dicts print without hand-built rows.
        """
        print(format_table(rows, columns, title), flush=True)


def summary(values) -> dict:
    """Median, min and max of per-seed or per-input numbers, as metrics report them."""
    values = np.asarray(values, np.float64)
    return {"median": float(np.median(values)), "min": float(values.min()),
            "max": float(values.max())}  # fmt: skip


def median(values) -> float | None:
    """The median of the numbers present (``None`` entries, e.g. seeds that did not fit, are
    skipped), or ``None`` when there are none: a metric that was not measured, not a NaN."""
    present = [v for v in values if v is not None]  # keeps each number's dtype
    return float(np.median(present)) if present else None


def table_rows(records: Sequence[Mapping], columns: Mapping) -> list[dict]:
    """Rows of a printed table taken from metric dicts: ``columns`` maps each header to a key of
    the record (dots go into nested dicts: ``"second_abs_eigenvalue.median"``), to a pair of
    keys printed as ``"a/b"`` (e.g. fitted seeds out of all), or to a function of the record.
    """
    return [{header: _pick(record, spec) for header, spec in columns.items()}
            for record in records]  # fmt: skip


def _pick(record: Mapping, spec):
    if callable(spec):
        return spec(record)
    if isinstance(spec, tuple):
        return "/".join(str(_pick(record, part)) for part in spec)
    if spec in record:  # a key with a dot of its own, e.g. "fraction_above_0.9"
        return record[spec]
    for part in spec.split("."):
        record = record[part]
    return record


def format_table(rows, columns=None, title=None) -> str:
    if isinstance(columns, Mapping):
        rows, columns = table_rows(rows, columns), None
    columns = list(columns or (rows[0].keys() if rows else []))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    lines.append("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(_cell(v) for v in value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Running


def run_experiment(
    name: str,
    config: ml_collections.ConfigDict | None = None,
    workdir: str | Path | None = None,
    preset: str = "quick",
    resume: bool = False,
    checkpoint_every: int = CHECKPOINT_EVERY,
) -> Path:
    """Runs an experiment into a new run folder and returns the folder.

    The folder holds ``config.json``, ``provenance.json`` (seed, versions, git commit, device,
    precision, command), ``metrics.json`` (the experiment's metrics, every fit, every paper
    comparison and a summary), the PNG figures and ``params_*.msgpack`` for every trained model.
    While running it is ``WORKDIR.partial``; it gets its name only when the science returns.

    Args:
      config: from :func:`prepare_config` (default: the preset's config).
      resume: continue the interrupted run in ``WORKDIR.partial`` (see :func:`resume_experiment`).
      checkpoint_every: steps between checkpoints of each training (0: none). Checkpoints
        change no result: an uninterrupted run gives the same numbers with or without them.
    """
    experiment = get(name)
    config = prepare_config(name, preset) if config is None else config
    workdir = Path(workdir) if workdir else runs.default_workdir(name)
    with runs.run_folder(workdir, resume=resume) as folder:
        if not resume:
            runs.write_json(folder / "config.json", config.to_dict())
            provenance = runs.provenance(name, preset, config)
            runs.write_json(folder / "provenance.json",
                            provenance | {"checkpoint_every": checkpoint_every})  # fmt: skip
        run = Run(experiment, config, preset, folder, resume, checkpoint_every)
        start, cpu_start = time.perf_counter(), time.process_time()
        metrics = experiment.science(run) or {}
        wall = time.perf_counter() - start
        # CPU seconds of all the process's threads: unlike wall time, barely moved by other
        # work on a shared machine, so `memjax list` can quote it.
        cpu = time.process_time() - cpu_start
        clash = sorted(set(metrics) & set(RUNNER_KEYS))
        if clash:
            raise ValueError(f"{name}: metrics may not use the runner's keys {clash}")
        missing = [f for f in run.figures if not (folder / f).is_file()]
        if missing:
            raise RuntimeError(f"{name}: figures {missing} were declared but not written")
        summary = _summarise(run)
        runs.write_json(folder / "metrics.json", {
            "experiment": name, "paper": experiment.paper, "figure": experiment.figure,
            "preset": preset, "wall_time_s": wall, "cpu_time_s": cpu,
            "fits": {k: dataclasses.asdict(v) for k, v in run.fits.items()},
            "comparisons": [dataclasses.asdict(c) for c in run.comparisons],
            "summary": summary, "figures": run.figures, "params": run.params, **metrics,
        })  # fmt: skip
    print(closing_report(run, summary), flush=True)
    return workdir


def _summarise(run: Run) -> dict:
    counts = {s: sum(c.status == s for c in run.comparisons) for s in STATUSES}
    unfit = [f.name for f in run.fits.values() if not f.mask.all()]
    return {**counts, "models": len(run.fits), "models_not_fitted": unfit}


_MARK = {"reproduced": "✓", "not reproduced": "✗", "unfit": "!", "no criterion": "·",
         "not measured": "?"}  # fmt: skip


def closing_report(run: Run, summary: dict) -> str:
    """The lines a run ends with: the paper's numbers beside ours, then what did not fit."""
    lines = []
    if run.comparisons:
        lines.append("paper vs ours (✓ reproduced, ✗ not, ! model did not fit, · no criterion):")
        width = max(len(c.label) for c in run.comparisons)
        for c in run.comparisons:
            lines.append(f"  {_MARK[c.status]} {c.label:<{width}}  ours {_cell(c.ours):<12} "
                         f"paper {_paper_text(c)}")  # fmt: skip
        lines.append(
            f"{summary['reproduced']} reproduced, {summary['not reproduced']} not, "
            f"{summary['unfit']} measured on nets that did not fit, "
            f"{summary['no criterion']} without a criterion"
        )
    if summary["models_not_fitted"]:
        lines.append(
            "WARNING: these trained models did NOT fit, so numbers measured on them are not "
            "counted as results:"
        )
        lines += [f"  {run.fits[n].summary}" for n in summary["models_not_fitted"]]
    elif run.fits:
        lines.append(f"all {len(run.fits)} trained models fitted")
    return "\n".join(lines)


def resume_experiment(workdir: str | Path) -> Path:
    """Continues an interrupted run: same experiment, preset and resolved config, same folder.

    Models that finished training before the interruption are reused as saved; a training that
    was under way continues from its last checkpoint. With the same seed the result equals an
    uninterrupted run (bitwise on the CPU).
    """
    partial = runs.partial_folder(workdir)
    try:
        recorded = json.loads((partial / "provenance.json").read_text())
        resolved = json.loads((partial / "config.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"nothing to resume at {workdir}: no {partial}") from None
    name, preset = recorded["experiment"], recorded["preset"]
    config = get(name).get_config(preset)
    config = runs.apply_overrides(config, [f"{k}={v!r}" for k, v in _flat(resolved)])
    check_config(config)
    config.lock()
    every = recorded.get("checkpoint_every", CHECKPOINT_EVERY)
    return run_experiment(name, config, workdir, preset, resume=True, checkpoint_every=every)


def _flat(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", _tuples(value)


def _tuples(value):
    """JSON lists back to the tuples that configs hold."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _paper_text(c: Comparison) -> str:
    if c.paper is None:
        return "—"
    if c.kind == "close":
        return f"{_cell(c.paper)} ±{c.tol:g}"
    return {"below": "< ", "above": "> ", "report": ""}[c.kind] + _cell(c.paper)


def load_metrics(workdir: str | Path) -> dict:
    return json.loads((Path(workdir) / "metrics.json").read_text())


@dataclasses.dataclass
class OpenedRun:
    """A finished run folder, reopened: its config, metrics and trained models."""

    workdir: Path
    config: ml_collections.ConfigDict
    metrics: dict
    provenance: dict

    def model(self, name: str) -> runs.SavedModel:
        """The trained model ``name`` (as given to :meth:`Run.train`), ready to apply."""
        path = self.workdir / f"params_{name}.msgpack"
        if not path.is_file():
            have = sorted(p.name[7:-8] for p in self.workdir.glob("params_*.msgpack"))
            raise FileNotFoundError(f"{self.workdir} has no model {name!r}; it has {have}")
        return runs.load_model(path)


def open_run(workdir: str | Path) -> OpenedRun:
    """Reopens a run folder (``memjax.experiment.open_run("runs/ds-spectra-…")``)."""
    workdir = Path(workdir)
    if not (workdir / "metrics.json").is_file():
        raise FileNotFoundError(f"{workdir} is not a finished run folder (no metrics.json)")
    read = lambda name: json.loads((workdir / name).read_text())  # noqa: E731
    return OpenedRun(workdir, ml_collections.ConfigDict(read("config.json")),
                     read("metrics.json"), read("provenance.json"))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Writing a config


def new_config(seed: int = 0, **entries) -> ml_collections.ConfigDict:
    """An experiment's config: the root ``seed`` and ``entries`` as top-level keys.

    Nested dicts become config blocks (``model={...}``, ``data={...}``), so every key is
    overridable as ``--config.model.filters=64``; a ``train`` block comes from
    :func:`train_block`. One form for every experiment, so a reader finds the seed, the model,
    the data and the training in the same places.
    """
    return ml_collections.ConfigDict({"seed": seed, **entries})


def train_block(*args, fit_loss: float, **fields) -> ml_collections.ConfigDict:
    """A config's train block: ``TrainConfig(*args, **fields)`` as overridable keys, plus the
    ``fit_loss`` below which a trained model counts as fitted (see :class:`Fit`).

    ``train_block("adam", 1e-4, max_steps=2000, fit_loss=1e-2)`` is the block
    :meth:`Run.train` reads; a field that :class:`TrainConfig` refuses raises here, when the
    experiment is declared, not when it first trains.
    """
    block = runs.as_config(TrainConfig(*args, **fields))
    block[FIT_KEY] = fit_loss
    return block
