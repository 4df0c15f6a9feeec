"""Checkpoints of memjax.train: same result with and without, resume after SIGKILL, bad files."""

import dataclasses
import functools
import signal
import subprocess
import sys
import textwrap
import warnings

import flax.serialization
import jax
import numpy as np
import pytest

import memjax.checkpoint
from memjax.models import MLPAutoencoder
from memjax.train import Checkpoint, TrainConfig, train, train_seeds

DATA = jax.random.uniform(jax.random.PRNGKey(0), (3, 1, 4, 4))
MLP = MLPAutoencoder(hidden=(8,), activation="tanh")
# The model and step of tests/test_sweep.py, so the suite compiles the chunk once; chunks of 200
# steps against checkpoints every 50: the checkpointed run cuts other chunks.
CONFIG = TrainConfig("gd", 0.1, max_steps=230, snapshot_steps=(0, 120, 230), progress=False)


# Bitwise on the CPU; an accelerator may pick other kernels in another process (autotuning).
if jax.default_backend() == "cpu":
    _assert_same = np.testing.assert_array_equal
else:
    _assert_same = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-9)


def _assert_same_run(a, b):
    (params_a, history_a), (params_b, history_b) = a, b
    jax.tree.map(_assert_same, params_a, params_b)
    jax.tree.map(_assert_same, history_a.snapshots, history_b.snapshots)
    _assert_same(history_a.losses, history_b.losses)
    _assert_same(history_a.final_loss, history_b.final_loss)
    np.testing.assert_array_equal(history_a.steps, history_b.steps)
    assert history_a.stop_reason == history_b.stop_reason


@pytest.mark.parametrize("seeds", [False, True])
def test_a_checkpointed_run_equals_an_uninterrupted_one_bitwise(seeds, tmp_path):
    checkpoint = Checkpoint(tmp_path / "sub" / "run.msgpack", every=50)
    if seeds:
        keys = jax.random.split(jax.random.PRNGKey(1), 3)
        rates = np.array([0.05, 0.1, 0.2])

        def run(**kwargs):
            return train_seeds(keys, MLP, DATA, CONFIG, learning_rates=rates, **kwargs)
    else:

        def run(**kwargs):
            return train(jax.random.PRNGKey(1), MLP, DATA, CONFIG, **kwargs)

    plain = run()
    _assert_same_run(plain, run(checkpoint=checkpoint))
    assert checkpoint.path.exists()
    assert [p.name for p in checkpoint.path.parent.iterdir()] == ["run.msgpack"]  # no temp file
    # A finished run's file gives its result back without training (nor writing).
    written = checkpoint.path.stat().st_mtime_ns
    _assert_same_run(plain, run(checkpoint=checkpoint))
    assert checkpoint.path.stat().st_mtime_ns == written
    history = plain[1]
    assert history.losses.shape[-1] == 230
    assert np.all(history.final_loss < 0.2 * history.losses[..., 0])  # it trained


def test_resuming_from_every_checkpoint_of_a_sweep_with_a_diverging_run(tmp_path, monkeypatch):
    # Run 1's rate diverges: it stops (reported once), run 0 goes on; the record of which runs
    # were reported travels with the checkpoint.
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    rates = np.array([0.1, 500.0])
    config = dataclasses.replace(CONFIG, nonfinite="stop")
    path = tmp_path / "ck.msgpack"
    versions = []
    write = memjax.checkpoint.atomic_write

    def keep_versions(target, data):
        versions.append(data)
        write(target, data)

    monkeypatch.setattr(memjax.checkpoint, "atomic_write", keep_versions)
    with pytest.warns(UserWarning, match="seed index 1") as warned:
        plain = train_seeds(keys, MLP, DATA, config, learning_rates=rates)
    assert len(warned) == 1 and plain[1].stop_reason == ["max_steps", "nonfinite"]
    with pytest.warns(UserWarning, match="seed index 1"):
        train_seeds(keys, MLP, DATA, config, learning_rates=rates, checkpoint=Checkpoint(path, 50))
    assert len(versions) == 5  # steps 50, 100, 150, 200 and the end (230)
    for version in versions[:-1]:
        path.write_bytes(version)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the divergence was reported before the checkpoint
            resumed = train_seeds(
                keys, MLP, DATA, config, learning_rates=rates, checkpoint=Checkpoint(path, 50)
            )
        _assert_same_run(plain, resumed)


# Trains a tanh MLP with a host callback that counts forward passes. Told a pass to stop at,
# the process kills itself there with SIGKILL (a crash in the middle of a chunk); otherwise
# it trains (resuming from the checkpoint if there is one), then trains the same run again
# without a checkpoint, and saves both results and their pass counts.
KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    import flax.linen as nn
    import jax, numpy as np
    from memjax.train import Checkpoint, TrainConfig, train

    path, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    passes = 0

    def count():
        global passes
        passes += 1
        if passes == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    class CountingMLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            jax.debug.callback(count)
            hidden = nn.tanh(nn.Dense(8)(x.reshape(-1)))
            return nn.Dense(x.size)(hidden).reshape(x.shape)

    data = jax.random.uniform(jax.random.PRNGKey(0), (3, 1, 4, 4))
    model = CountingMLP()
    init = model.init(jax.random.PRNGKey(1), data[0])
    config = TrainConfig("adam", 1e-2, max_steps=150, snapshot_steps=(0, 70, 150),
                         progress=False)
    results = {}
    for name, checkpoint in [("resumed", Checkpoint(path, every=40)), ("plain", None)]:
        passes = 0  # count training passes only
        params, history = train(None, model, data, config, init, checkpoint=checkpoint)
        results |= {f"{name} params {i}": leaf for i, leaf in enumerate(jax.tree.leaves(params))}
        results |= {f"{name} snapshot {step} {i}": leaf
                    for step, tree in history.snapshots.items()
                    for i, leaf in enumerate(jax.tree.leaves(tree))}
        results |= {f"{name} losses": history.losses, f"{name} final": history.final_loss,
                    f"{name} passes": passes}
    np.savez(out, **results)
""")


def test_a_run_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path):
    checkpoint, out = tmp_path / "ck", tmp_path / "out.npz"
    kill_at = 97  # inside the chunk of steps 80-120, after the checkpoint at step 80

    def run(kill_at=0):
        args = [sys.executable, "-c", KILLED_RUN, str(checkpoint), str(out), str(kill_at)]
        return subprocess.run(args, capture_output=True, text=True)

    crashed = run(kill_at)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert checkpoint.exists() and not out.exists()
    finished = run()
    assert finished.returncode == 0, finished.stderr
    results = np.load(out)
    plain = sorted(name for name in results.files if name.startswith("plain"))
    assert len(plain) == 3 + 4 + 3 * 4  # losses, final, passes; 4 params; 3 snapshots of them
    for name in plain:
        if not name.endswith("passes"):
            resumed = name.replace("plain", "resumed")
            _assert_same(results[name], results[resumed], err_msg=name)
    assert results["plain losses"].shape == (150,)
    # Forward passes of the two pieces beyond the uninterrupted run's: the steps from the
    # checkpoint (80) to the kill (the 97th pass, step 96), at most `every`.
    recomputed = kill_at + int(results["resumed passes"]) - int(results["plain passes"])
    assert recomputed == kill_at - 80
    assert 0 < recomputed <= 40


def test_unreadable_or_foreign_checkpoints_are_refused_with_the_file_name(tmp_path):
    path = tmp_path / "ck.msgpack"
    checkpoint = Checkpoint(path, every=100)
    train(jax.random.PRNGKey(1), MLP, DATA, CONFIG, checkpoint=checkpoint)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=f"checkpoint {path} is unreadable"):
        train(jax.random.PRNGKey(1), MLP, DATA, CONFIG, checkpoint=checkpoint)
    path.write_bytes(flax.serialization.msgpack_serialize({"params": np.ones(3)}))
    with pytest.raises(ValueError, match=f"{path} is not a memjax.train checkpoint"):
        train(jax.random.PRNGKey(1), MLP, DATA, CONFIG, checkpoint=checkpoint)
    path.write_bytes(whole)
    other = TrainConfig("gd", 0.2, max_steps=230, progress=False)
    with pytest.raises(ValueError, match=f"checkpoint {path} .* another training run .*config"):
        train(jax.random.PRNGKey(1), MLP, DATA, other, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another training run .*initial state"):
        train(jax.random.PRNGKey(2), MLP, DATA, CONFIG, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another training run .*data"):
        train(jax.random.PRNGKey(1), MLP, DATA * 0.5, CONFIG, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="Checkpoint.every"):
        Checkpoint(path, every=0)
