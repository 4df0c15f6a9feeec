"""Timing helpers shared by the benchmarks: medians of blocks, the two training loops
(memjax's own, and a plain PyTorch Adam loop) timed the same way everywhere, and the device
PyTorch runs on (the accelerator JAX uses, so both sides run on the same hardware)."""

from __future__ import annotations

import time

import numpy as np


def median_time(fn, repeats: int, blocks: int = 5, warmup: int = 1, sync=None) -> float:
    """Median over ``blocks`` of the mean seconds of ``repeats`` calls, after ``warmup`` calls.

    ``sync`` (e.g. :func:`torch_sync`) is called before each clock read, so that work queued
    on an accelerator is counted in the block that queued it.
    """
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync()
        times.append((time.perf_counter() - start) / repeats)
    return float(np.median(times))


def memjax_step_seconds(
    model, data, params, config, n: int, blocks: int = 3, min_seconds: float = 0.3
) -> float:
    """Seconds per step inside ``memjax.train``: a run of n + 10 steps minus a run of 10.

    The difference removes set-up and the final loss evaluation; a first run compiles. Only
    ``config.max_steps`` is replaced. ``n`` grows ×4 until the difference takes at least
    ``min_seconds`` (fast steps on an accelerator would otherwise time the clock's noise),
    and every run must have taken all its steps.
    """
    import dataclasses

    import jax

    from memjax.train import train

    def run(steps):
        start = time.perf_counter()
        trained, history = train(
            None, model, data, dataclasses.replace(config, max_steps=steps), params
        )
        jax.block_until_ready(trained)
        seconds = time.perf_counter() - start
        if int(history.steps) != steps:
            raise RuntimeError(f"a {steps}-step run stopped at {history.steps}: nothing to time")
        return seconds

    run(10)
    while (run(n + 10) - run(10)) < min_seconds:
        n *= 4
    return float(np.median([(run(n + 10) - run(10)) / n for _ in range(blocks)]))


def torch_device() -> str:
    """The device for PyTorch: CUDA when JAX runs on a GPU and PyTorch sees one, else CPU."""
    import jax
    import torch

    return "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"


def torch_sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def torch_float32_matmuls(tf32: bool):
    """PyTorch's float32 matmul/conv precision on CUDA: TF32 (JAX's GPU default for float32
    dots and convolutions; ``TrainConfig(precision="tf32")``) or true float32
    (``jax.default_matmul_precision("highest")``, memjax's training default)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


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
