"""Sweeps of 8 runs: one vmapped program vs a Python loop of single runs, FC and conv nets.

Under ``vmap``, per-run dense weights become a batched matmul (efficient everywhere), while
per-run convolution weights become a grouped convolution, which XLA:CPU runs slowly. This
measures both, side by side in one process, and checks the choice ``memjax.sweep`` makes by
default on this backend (``default_strategy``, by one run's gradient FLOPs).

    python -m benchmarks.sweeps [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from memjax.data import load_sample, to_float
from memjax.models import ConvAutoencoder, MLPAutoencoder, downsampling_layers
from memjax.sweep import default_strategy, sweep
from memjax.train import TrainConfig, step_flops

RUNS, STEPS, REPEATS = 8, 200, 3


def cases():
    mnist = to_float(load_sample("mnist")[0][:64])
    cifar = to_float(load_sample("cifar10")[0][:2])
    return {
        "FC 784-64-784, 8 MNIST digits": (MLPAutoencoder((64,)), mnist[:8]),
        "FC 784-512-512-512-784, 64 MNIST digits": (MLPAutoencoder((512, 512, 512)), mnist),
        "conv D_{16,16}, 2 CIFAR images": (ConvAutoencoder(downsampling_layers(16, 16)), cifar),
    }


def seconds(model, data, strategy, steps):
    keys = jax.random.split(jax.random.PRNGKey(0), RUNS)
    config = TrainConfig("adam", 1e-4, max_steps=steps, progress=False)
    start = time.perf_counter()
    params, _ = sweep(keys, model, data, config, strategy=strategy)
    jax.block_until_ready(params)
    return time.perf_counter() - start


def measure(model, data) -> dict:
    for strategy in ("vmap", "sequential"):
        seconds(model, data, strategy, 10)  # compile
    times = {
        s: float(np.median([seconds(model, data, s, STEPS) for _ in range(REPEATS)]))
        for s in ("vmap", "sequential")
    }
    flops = step_flops(model, model.init(jax.random.PRNGKey(0), data[0]), jax.numpy.asarray(data))
    auto = default_strategy(flops)
    return {
        "grad_flops_per_run": flops,
        "vmap_s": times["vmap"],
        "sequential_s": times["sequential"],
        "vmap_speedup": times["sequential"] / times["vmap"],
        "auto_strategy": auto,
        "auto_speedup_over_sequential": times["sequential"] / times[auto],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    print(
        f"{RUNS} runs × {STEPS} Adam steps, median of {REPEATS}, backend "
        f"{jax.default_backend()} ({jax.devices()[0].device_kind})"
    )
    print(
        f"{'case':<42} {'FLOPs':>8} {'vmap s':>7} {'loop s':>7} {'vmap ×':>7} "
        f"{'auto':>11} {'auto ×':>7}"
    )
    results = {"backend": jax.default_backend(), "runs": RUNS, "steps": STEPS}
    for name, (model, data) in cases().items():
        r = measure(model, data)
        results[name] = r
        print(
            f"{name:<42} {r['grad_flops_per_run']:>8.1e} {r['vmap_s']:>7.2f} "
            f"{r['sequential_s']:>7.2f} "
            f"{r['vmap_speedup']:>6.2f}× {r['auto_strategy']:>11} "
            f"{r['auto_speedup_over_sequential']:>6.2f}×"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
