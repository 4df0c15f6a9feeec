"""Compile and step time of single-filter conv stacks at 10, 100 and 350 layers ([MO1] Table 2).

``DeepConvStack`` stacks the layers' kernels and applies them with ``nn.scan``, so XLA compiles
one layer whatever the depth; the same stack written as a ``ConvAutoencoder`` of separate
layers is unrolled and compiles every layer. Measured side by side in one process: compile
time of one jitted Adam step (lower + compile), and the per-step time inside ``memjax.train``.

    python -m benchmarks.depth [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import optax

from benchmarks.timing import memjax_step_seconds
from memjax.models import ConvAutoencoder, DeepConvStack, stride1_stack_layers
from memjax.train import TrainConfig, mse

DEPTHS = (10, 100, 350)
UNROLLED_DEPTHS = (10, 100)  # unrolled 350 layers takes minutes to compile
SIZE = 7  # 7×7 images, as Table 2's deepest rows


def compile_seconds(model, data) -> float:
    params = model.init(jax.random.PRNGKey(0), data[0])
    tx = optax.adam(1e-4)

    def step(params, opt_state):
        grads = jax.grad(lambda p: mse(model.apply, p, data))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    start = time.perf_counter()
    jax.jit(step).lower(params, tx.init(params)).compile()
    return time.perf_counter() - start


def step_ms(model, data, steps=300) -> float:
    params = model.init(jax.random.PRNGKey(0), data[0])
    config = TrainConfig("adam", 1e-4, progress=False)
    return memjax_step_seconds(model, data, params, config, steps) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    data = jax.random.normal(jax.random.PRNGKey(1), (1, 1, SIZE, SIZE))
    results = {"backend": jax.default_backend(), "image": f"1×{SIZE}×{SIZE}", "rows": []}
    print(f"single-filter 3×3 stacks on one {SIZE}×{SIZE} image, Adam ({jax.default_backend()})")
    print(f"{'layers':>6} {'scanned compile s':>18} {'unrolled compile s':>19} {'step ms':>8}")
    for depth in DEPTHS:
        scanned = DeepConvStack(depth)
        row = {
            "layers": depth,
            "scanned_compile_s": compile_seconds(scanned, data),
            "unrolled_compile_s": None,
            "step_ms": step_ms(scanned, data),
        }
        if depth in UNROLLED_DEPTHS:
            unrolled = ConvAutoencoder(stride1_stack_layers(depth))
            row["unrolled_compile_s"] = compile_seconds(unrolled, data)
        results["rows"].append(row)
        unrolled_s = f"{row['unrolled_compile_s']:.2f}" if row["unrolled_compile_s"] else "-"
        print(
            f"{depth:>6} {row['scanned_compile_s']:>18.2f} {unrolled_s:>19} {row['step_ms']:>8.3f}"
        )
    first, last = results["rows"][0], results["rows"][-1]
    results["scanned_compile_ratio_350_vs_10"] = (
        last["scanned_compile_s"] / first["scanned_compile_s"]
    )
    print(
        f"scanned compile time, 350 vs 10 layers: {results['scanned_compile_ratio_350_vs_10']:.2f}×"
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
