import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from memjax.models import MLPAutoencoder
from memjax.sweep import default_strategy, sweep
from memjax.train import Checkpoint, TrainConfig, train

DATA = jax.random.uniform(jax.random.PRNGKey(0), (3, 1, 4, 4))
MLP = MLPAutoencoder(hidden=(8,), activation="tanh")
CONFIG = TrainConfig("gd", 0.1, max_steps=40, progress=False)


def test_vmapped_and_sequential_sweeps_agree_with_single_runs():
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    rates = np.array([0.05, 0.1, 0.2])
    results = {
        s: sweep(keys, MLP, DATA, CONFIG, learning_rates=rates, strategy=s)
        for s in ("vmap", "sequential")
    }
    for i, key in enumerate(keys):
        config = TrainConfig("gd", float(rates[i]), max_steps=40, progress=False)
        one, history = train(key, MLP, DATA, config)
        for params, hist in results.values():
            jax.tree.map(
                lambda a, b, i=i: np.testing.assert_allclose(a[i], b, atol=1e-6), params, one
            )
            np.testing.assert_allclose(hist.losses[i], history.losses, rtol=1e-5)
    losses = results["vmap"][1].final_loss
    assert losses[0] > losses[1] > losses[2]  # larger rates fit faster here


def test_auto_strategy_vmaps_small_runs_and_loops_over_large_ones_on_the_cpu():
    assert default_strategy(1e5, "cpu") == "vmap"
    assert default_strategy(1e9, "cpu") == "sequential"
    assert default_strategy(1e9, "gpu") == "vmap"
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    _, history = sweep(keys, MLP, DATA, CONFIG)  # tiny: vmapped, same result shape
    assert history.losses.shape == (2, 40)
    with pytest.raises(ValueError, match="unknown strategy"):
        sweep(jax.random.split(jax.random.PRNGKey(0), 2), MLP, DATA, CONFIG, strategy="pmap")
    with pytest.raises(ValueError, match="learning_rates"):
        sweep(
            jax.random.split(jax.random.PRNGKey(0), 2),
            MLP,
            DATA,
            CONFIG,
            learning_rates=[0.1, -1.0],
            strategy="vmap",
        )


SHARDED = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from memjax.models import MLPAutoencoder
    from memjax.sweep import sweep
    from memjax.train import TrainConfig
    data = jax.random.uniform(jax.random.PRNGKey(0), (3, 1, 4, 4))
    model = MLPAutoencoder(hidden=(8,), activation="tanh")
    config = TrainConfig("gd", 0.1, max_steps=40, progress=False)
    keys = jax.random.split(jax.random.PRNGKey(1), 8)
    rates = np.linspace(0.05, 0.2, 8)
    params, history = sweep(keys, model, data, config, learning_rates=rates, strategy="vmap",
                            devices=jax.devices())
    leaf = params["params"]["dense0"]["kernel"]
    json.dump({"devices": len(jax.devices()), "shards": len(leaf.sharding.device_set),
               "kernel": np.asarray(leaf).tolist(),
               "final_loss": np.asarray(history.final_loss).tolist()}, sys.stdout)
""")


def test_a_sweep_sharded_over_four_cpu_devices_equals_the_single_device_one():
    if jax.default_backend() != "cpu":
        # The subprocess runs on 4 host CPU devices; compared with this process's sweep on
        # an accelerator, the difference would be the backends', not the sharding's.
        pytest.skip(f"compares with a CPU sweep; this process runs on {jax.default_backend()}")
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    out = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, check=True
    ).stdout
    sharded = json.loads(out)
    if sharded["devices"] < 4:
        pytest.skip(f"XLA made {sharded['devices']} host devices, not 4")
    assert sharded["devices"] == 4 and sharded["shards"] == 4
    keys = jax.random.split(jax.random.PRNGKey(1), 8)
    params, history = sweep(
        keys, MLP, DATA, CONFIG, learning_rates=np.linspace(0.05, 0.2, 8), strategy="vmap"
    )
    np.testing.assert_allclose(sharded["kernel"], params["params"]["dense0"]["kernel"], atol=1e-6)
    np.testing.assert_allclose(sharded["final_loss"], history.final_loss, rtol=1e-5)


@pytest.mark.parametrize("strategy", ["vmap", "sequential"])
def test_a_checkpointed_sweep_equals_one_without_and_resumes_per_run(strategy, tmp_path):
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    rates = np.array([0.05, 0.1])
    checkpoint = Checkpoint(tmp_path / "sweep.msgpack", every=15)

    def run(**kwargs):
        return sweep(keys, MLP, DATA, CONFIG, learning_rates=rates, strategy=strategy, **kwargs)

    (params, history), (saved, saved_history) = run(), run(checkpoint=checkpoint)
    jax.tree.map(np.testing.assert_array_equal, params, saved)
    np.testing.assert_array_equal(history.losses, saved_history.losses)
    files = {"vmap": ["sweep.msgpack"], "sequential": ["sweep.run0.msgpack", "sweep.run1.msgpack"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == files[strategy]
    (tmp_path / files[strategy][-1]).unlink()  # a sequential sweep stopped during its last run
    written = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again, again_history = run(checkpoint=checkpoint)
    for name, mtime in written.items():  # a finished run is read, not trained and written again
        assert (tmp_path / name).stat().st_mtime_ns == mtime
    jax.tree.map(np.testing.assert_array_equal, params, again)
    np.testing.assert_array_equal(history.final_loss, again_history.final_loss)
