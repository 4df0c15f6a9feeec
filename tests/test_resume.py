"""A run killed with SIGKILL mid-training resumes and ends exactly where an uninterrupted run
ends (bitwise on the CPU), losing at most the last checkpoint interval."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import flax.serialization
import jax
import numpy as np
import pytest

from memjax import cli, runs

# A toy experiment, registered in the child process only (the registry is entry-point based).
CHILD = textwrap.dedent(
    """
    import sys
    import jax, ml_collections
    from memjax import experiment, runs
    from memjax.models import MLPAutoencoder
    from memjax.train import TrainConfig

    def get_config(preset):
        config = ml_collections.ConfigDict()
        config.seed = 0
        config.train = runs.as_config(TrainConfig("adam", 1e-3, max_steps=3000, progress=False))
        config.train.fit_loss = 1.0
        return config

    def science(run):
        data = jax.random.normal(run.keys["data"], (32, 64))
        run.train("first", MLPAutoencoder(hidden=(8,), activation="tanh"), data[:4],
                  key=run.keys["init"], max_steps=50)
        params, history = run.train("mlp", MLPAutoencoder(hidden=(512, 512), activation="tanh"),
                                    data, key=run.keys["init"])
        return {"final_loss": float(history.final_loss)}

    toy = experiment.Experiment("toy-resume", "MO2", "a toy", get_config, science,
                                ("data", "init"))
    experiment.registry = lambda: {toy.name: toy}
    mode, workdir, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "run":
        experiment.run_experiment(toy.name, None, workdir, checkpoint_every=every)
    else:
        experiment.resume_experiment(workdir)
    """
)
EVERY = 200


def _child(mode, workdir, every=EVERY, **kwargs):
    return subprocess.Popen([sys.executable, "-c", CHILD, mode, str(workdir), str(every)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)  # fmt: skip


def _finish(process, timeout=300):
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out
    return out


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    reference = tmp_path / "reference"
    _finish(_child("run", reference))

    interrupted = tmp_path / "interrupted"
    checkpoint = runs.partial_folder(interrupted) / "checkpoint_mlp.msgpack"
    process = _child("run", interrupted)
    deadline = time.monotonic() + 240
    while not checkpoint.exists():  # kill right after the big model's first checkpoint
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not interrupted.exists() and runs.partial_folder(interrupted).is_dir()
    assert (runs.partial_folder(interrupted) / "params_first.msgpack").is_file()
    saved_step = _checkpoint_step(checkpoint)
    assert 0 < saved_step < 3000

    out = _finish(_child("resume", interrupted))
    assert "first: reused from the interrupted run" in out
    assert "mlp: MLPAutoencoder on 32×64 (continuing from its checkpoint)" in out
    assert not runs.partial_folder(interrupted).exists()
    for name in ("first", "mlp"):
        ours = runs.load_model(interrupted / f"params_{name}.msgpack")
        theirs = runs.load_model(reference / f"params_{name}.msgpack")
        for a, b in zip(_leaves(ours.params), _leaves(theirs.params), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ours.history.losses, theirs.history.losses)
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (interrupted, reference)]
    assert metrics[0]["final_loss"] == metrics[1]["final_loss"]
    assert not list(interrupted.glob("checkpoint_*")), "a finished run keeps no checkpoints"


def test_resume_without_an_interrupted_run_is_a_clear_error(tmp_path):
    assert cli.main(["run", "--resume", str(tmp_path / "nothing")]) == 2


def _leaves(tree):
    return jax.tree.leaves(tree)


def _checkpoint_step(path: Path) -> int:
    """The step a ``memjax.train`` checkpoint file holds."""
    return int(flax.serialization.msgpack_restore(path.read_bytes())["state"]["step"])


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
