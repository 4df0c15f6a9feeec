"""Where one compiled call per step beats a compiled loop of steps for conv nets on XLA:CPU.

A convolution inside a loop body runs slower on XLA:CPU (jax-ml/jax#12868) while each host
call costs a fixed overhead; this sweep of 3-layer stride-1 conv stacks of growing cost
measures the per-step time of ``memjax.train`` both ways, and locates the crossover that
``memjax.train.SCAN_FLOP_LIMIT`` encodes.

    python -m benchmarks.loop_crossover
"""

from __future__ import annotations

import time

import jax

from memjax.models import ConvAutoencoder, stride1_stack_layers
from memjax.train import SCAN_FLOP_LIMIT, TrainConfig, step_flops, train

CASES = [(8, 4), (16, 8), (16, 16), (32, 8), (32, 16), (32, 32), (32, 64)]  # (size, filters)


def step_ms(model, x, steps_per_call, n=200):
    def run(steps):
        config = TrainConfig("adam", 1e-4, steps, progress=False, steps_per_call=steps_per_call)
        start = time.perf_counter()
        train(jax.random.PRNGKey(0), model, x, config)
        return time.perf_counter() - start

    run(50)  # compile
    return (run(n + 50) - run(50)) / n * 1e3


def main():
    print(
        f"3-layer conv stacks, Adam, per-step ms inside memjax.train "
        f"(SCAN_FLOP_LIMIT = {SCAN_FLOP_LIMIT:.0e})"
    )
    print(
        f"{'image':>7} {'filters':>7} {'grad FLOPs':>10} {'1/call':>8} {'loop 50':>8} {'ratio':>6}"
    )
    for size, filters in CASES:
        model = ConvAutoencoder(stride1_stack_layers(3, filters, 1))
        x = jax.random.uniform(jax.random.PRNGKey(0), (1, 1, size, size))
        params = model.init(jax.random.PRNGKey(0), x[0])
        grad_flops = step_flops(model, params, x)
        one, scan = step_ms(model, x, 1), step_ms(model, x, 50)
        print(
            f"{size:>4}²{'':2} {filters:>7} {grad_flops:>10.2e} {one:>8.3f} {scan:>8.3f} "
            f"{scan / one:>6.2f}"
        )


if __name__ == "__main__":
    main()
