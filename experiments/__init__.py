"""One module per paper figure or table, each with the same shape (as Flax's examples).

Every experiment module defines:
  ``PAPER_FIGURE``: what it reproduces, e.g. "[DS] Fig 4, App A, App C".
  ``get_config(preset)``: a locked ``ml_collections.ConfigDict`` for "quick" or "paper".
  ``run(config, workdir) -> dict``: writes figures and parameters into ``workdir`` and returns
    the metrics, which the caller saves as ``metrics.json`` beside ``config.json``.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

from memjax import runs

EXPERIMENTS = {
    "network-ds": "experiments.network_ds",
    "ds-point-map": "experiments.ds_point_map",
    "ds-spectra": "experiments.ds_spectra",
    "ds-nonlinear": "experiments.ds_nonlinear",
    "ds-larger-sets": "experiments.ds_larger_sets",
    "ds-initializations": "experiments.ds_initializations",
    "ds-unet": "experiments.ds_unet",
    "mo1-table1": "experiments.mo1_table1",
    "mo1-table2": "experiments.mo1_table2",
    "mo1-depth-sweep": "experiments.mo1_depth_sweep",
    "mo1-nonlinear-depth": "experiments.mo1_nonlinear_depth",
    "mo1-d1": "experiments.mo1_d1",
    "mo1-d2": "experiments.mo1_d2",
}

PRESETS = ("quick", "paper")


def load(name: str):
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; `memjax list` names them all")
    return importlib.import_module(EXPERIMENTS[name])


def prepare_config(name: str, preset: str = "quick", overrides: list[str] = ()):
    """The experiment's config for ``preset`` with ``KEY=VALUE`` overrides, locked."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    config = load(name).get_config(preset)
    config = runs.apply_overrides(config, list(overrides))
    config.lock()
    return config


def run_experiment(name: str, config, workdir: str | Path | None = None) -> Path:
    """Runs an experiment into a new run folder and returns the folder's path.

    The folder holds ``config.json``, ``metrics.json`` (with the wall time), the experiment's
    PNG figures and ``params*.msgpack``; it appears only if the run succeeds.
    """
    module = load(name)
    workdir = Path(workdir) if workdir else runs.default_workdir(name)
    with runs.run_folder(workdir) as tmp:
        runs.write_json(tmp / "config.json", config.to_dict())
        start = time.perf_counter()
        metrics = module.run(config, tmp)
        metrics = {"experiment": name, "wall_time_s": time.perf_counter() - start, **metrics}
        runs.write_json(tmp / "metrics.json", metrics)
    return workdir


def load_metrics(workdir: str | Path) -> dict:
    return json.loads((Path(workdir) / "metrics.json").read_text())
