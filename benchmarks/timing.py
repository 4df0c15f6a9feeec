"""Timing helpers shared by the benchmarks: medians of blocks, and the two training loops
(memjax's own, and a plain PyTorch Adam loop) timed the same way everywhere."""

from __future__ import annotations

import time

import numpy as np


def median_time(fn, repeats: int, blocks: int = 5, warmup: int = 1) -> float:
    """Median over ``blocks`` of the mean seconds of ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - start) / repeats)
    return float(np.median(times))


def memjax_step_seconds(model, data, params, config, n: int, blocks: int = 3) -> float:
    """Seconds per step inside ``memjax.train``: a run of n + 10 steps minus a run of 10.

    The difference removes set-up and the final loss evaluation; a first run compiles. Only
    ``config.max_steps`` is replaced.
    """
    import dataclasses

    import jax

    from memjax.train import train

    def run(steps):
        start = time.perf_counter()
        trained, _ = train(None, model, data, dataclasses.replace(config, max_steps=steps), params)
        jax.block_until_ready(trained)
        return time.perf_counter() - start

    run(10)
    return float(np.median([(run(n + 10) - run(10)) / n for _ in range(blocks)]))


def torch_adam_step(net, x, learning_rate: float, compiled: bool = False):
    """One full-batch Adam step on the MSE of ``net`` reconstructing ``x``, as a closure."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    forward = torch.compile(net) if compiled else net

    def step():
        opt.zero_grad()
        loss = torch.mean((forward(x).reshape(x.shape) - x) ** 2)
        loss.backward()
        opt.step()

    return step
