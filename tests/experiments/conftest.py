"""Smoke runs of experiments' quick presets, shrunk by overrides, through the real runner."""

import pytest

from memjax import experiment


@pytest.fixture
def run_quick(tmp_path):
    """``run_quick(name, overrides) -> (workdir, metrics)``: the quick preset, progress off."""

    def run(name, overrides=()):
        config = experiment.prepare_config(name, "quick", [*overrides, *_quiet(name)])
        workdir = experiment.run_experiment(name, config, tmp_path / name, "quick")
        return workdir, experiment.load_metrics(workdir)

    return run


def _quiet(name):
    config = experiment.get(name).get_config("quick")
    return [f"{block}.progress=False" for block in config if block.startswith("train")
            and "progress" in config[block]]  # fmt: skip
