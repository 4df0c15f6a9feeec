"""Where one compiled call per step beats a compiled loop of steps on XLA:CPU, and what
``memjax.train`` picks.

A convolution inside a loop body runs slower on XLA:CPU (jax-ml/jax#12868) while each host
call costs a fixed overhead. A sweep of 3-layer stride-1 conv stacks of growing cost measures
the per-step time inside ``memjax.train`` both ways and locates the crossover that
``memjax.train.SCAN_FLOP_LIMIT`` encodes. Then networks of other classes — [DS] Fig 1's
U-Net, a fully connected net as costly — check that the automatic choice
(``default_steps_per_call``, by the step's convolutions and FLOPs) is the faster one.

    python -m benchmarks.loop_crossover [--out results.json] [--only stacks|models]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax

from benchmarks.timing import memjax_step_seconds
from memjax.models import ConvAutoencoder, MLPAutoencoder, UNet, stride1_stack_layers
from memjax.train import SCAN_FLOP_LIMIT, TrainConfig, default_steps_per_call, step_cost

STACKS = [(8, 4), (16, 8), (16, 16), (32, 8), (32, 16), (32, 32), (32, 64)]  # (size, filters)
LOOP = 50  # steps per call of the loop side


def models() -> dict:
    """Networks whose class says nothing about the loop: name → (model, data)."""
    key = jax.random.PRNGKey(0)
    return {
        "UNet (16,32,64,128,128), 3×32×32 (ds-unet)": (
            UNet(features=(16, 32, 64, 128, 128)),
            jax.random.uniform(key, (1, 3, 32, 32)),
        ),
        "FC 784-1024-1024-784, 16 examples": (
            MLPAutoencoder(hidden=(1024, 1024)),
            jax.random.uniform(key, (16, 1, 28, 28)),
        ),
    }


def step_ms(model, data, steps_per_call: int, n: int = 50) -> float:
    """Milliseconds per Adam step inside ``memjax.train`` at ``steps_per_call``."""
    params = model.init(jax.random.PRNGKey(0), data[0])
    config = TrainConfig("adam", 1e-4, progress=False, steps_per_call=steps_per_call)
    return memjax_step_seconds(model, data, params, config, n) * 1e3


def row(model, data) -> dict:
    params = jax.eval_shape(model.init, jax.random.PRNGKey(0), data[0])
    cost = step_cost(model, params, data)
    one, loop = step_ms(model, data, 1), step_ms(model, data, LOOP)
    return {
        "grad_flops": cost.flops,
        "convolutions": cost.convolutions,
        "one_per_call_ms": one,
        "loop_ms": loop,
        "loop_over_one": loop / one,
        "auto_steps_per_call": default_steps_per_call(model, params, data),
    }


def main(argv=()) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", choices=("stacks", "models"))
    args = parser.parse_args(argv)
    results = {"backend": jax.default_backend(), "scan_flop_limit": SCAN_FLOP_LIMIT}
    loop = f"loop {LOOP}"
    header = f"{'grad FLOPs':>10} {'convs':>5} {'1/call':>8} {loop:>8} {'ratio':>6} {'auto':>5}"

    def line(label, r):
        return (
            f"{label} {r['grad_flops']:>10.2e} {r['convolutions']:>5} {r['one_per_call_ms']:>8.3f}"
            f" {r['loop_ms']:>8.3f} {r['loop_over_one']:>6.2f} {r['auto_steps_per_call']:>5}"
        )

    if args.only != "models":
        print(
            f"3-layer conv stacks, Adam, ms per step in memjax.train (limit {SCAN_FLOP_LIMIT:.0e})"
        )
        print(f"{'image':>7} {'filters':>7} {header}")
        results["stacks"] = []
        for size, filters in STACKS:
            model = ConvAutoencoder(stride1_stack_layers(3, filters, 1))
            data = jax.random.uniform(jax.random.PRNGKey(0), (1, 1, size, size))
            r = {"size": size, "filters": filters, **row(model, data)}
            results["stacks"].append(r)
            print(line(f"{size:>4}²{'':2} {filters:>7}", r))
    if args.only != "stacks":
        print("other classes: does the automatic choice pick the faster side?")
        print(f"{'network':<44} {header}")
        results["models"] = {}
        for name, (model, data) in models().items():
            results["models"][name] = r = row(model, data)
            print(line(f"{name:<44}", r))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
