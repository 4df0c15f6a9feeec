"""Per-step training time: memjax's loop vs PyTorch eager and ``torch.compile``, same weights
and data, on the networks of issue 5 (the linear ``D_{64,192}`` is in ``d64_192.py``).

memjax is timed inside ``memjax.train`` (stop rules, loss history and all: a run of n + 10
steps minus a run of 10), PyTorch as a plain Adam loop. Each PyTorch model is built from the
Flax initial parameters (HWIO kernels → OIHW, Dense kernels transposed). Both sides run
float32 matmuls and convolutions at the same precision: true float32 (memjax's default) or,
with ``--precision tf32``, TF32 on GPUs (``TrainConfig.precision`` and PyTorch's
``allow_tf32``); on a CPU the two are the same arithmetic.

    pip install torch==2.13.0
    python -m benchmarks.training_speed [--out results.json] [--precision highest|tf32]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.timing import (
    median_time,
    memjax_step_seconds,
    torch_adam_step,
    torch_device,
    torch_float32_matmuls,
    torch_sync,
)
from memjax.data import load_sample, to_float
from memjax.models import Conv, ConvAutoencoder, MLPAutoencoder, Upsample, nld_network
from memjax.train import TrainConfig

LR, STEPS, BLOCKS = 1e-4, 30, 3


def cases() -> dict:
    cifar = jnp.asarray(to_float(load_sample("cifar10")[0][:1]))
    mnist = jnp.asarray(to_float(load_sample("mnist")[0][:64]))
    five = tuple(Conv(128, kernel=5) for _ in range(4)) + (Conv(1, kernel=5),)
    return {
        "NLD_{128,128}, 1 CIFAR image": (
            nld_network(128),
            cifar,
        ),
        "CNN 5 layers 5×5/128, 1 MNIST digit": (
            ConvAutoencoder(five, activation="relu"),
            mnist[:1],
        ),
        "FC 784-2048-2048-2048-784, 64 digits": (MLPAutoencoder((2048, 2048, 2048)), mnist),
    }


def memjax_step_ms(model, data, params, precision: str = "highest") -> float:
    config = TrainConfig("adam", LR, progress=False, precision=precision)
    return memjax_step_seconds(model, data, params, config, STEPS, BLOCKS) * 1e3


def torch_model(model, params):
    """The same network in PyTorch, with the Flax parameters copied in (on the CPU)."""
    import torch

    p = jax.tree.map(np.asarray, params)["params"]
    if isinstance(model, MLPAutoencoder):
        layers = []
        for i in range(len(model.hidden) + 1):
            kernel, bias = p[f"dense{i}"]["kernel"], p[f"dense{i}"]["bias"]
            linear = torch.nn.Linear(*kernel.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
                linear.bias.copy_(torch.from_numpy(bias.copy()))
            layers += [linear, torch.nn.ReLU()] if i < len(model.hidden) else [linear]
        return torch.nn.Sequential(torch.nn.Flatten(), *layers)
    act = {"leaky_relu": torch.nn.LeakyReLU(0.01), "relu": torch.nn.ReLU()}[model.activation]
    layers, index, n_convs = [], 0, sum(isinstance(x, Conv) for x in model.layers)
    for layer in model.layers:
        if isinstance(layer, Upsample):
            layers.append(torch.nn.Upsample(scale_factor=layer.factor, mode="nearest"))
            continue
        kernel = p[f"conv{index}"]["kernel"]
        conv = torch.nn.Conv2d(
            kernel.shape[2],
            kernel.shape[3],
            layer.kernel,
            layer.stride,
            layer.kernel // 2,
            bias=False,
        )
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
        layers.append(conv)
        index += 1
        if index < n_convs or model.activate_last:
            layers.append(act)
    return torch.nn.Sequential(*layers)


def torch_step_ms(net, data, compiled: bool) -> float:
    import torch

    x = torch.from_numpy(np.array(data)).to(torch_device())  # a writable copy
    step = torch_adam_step(net.to(torch_device()), x, LR, compiled)
    # warm-up compiles
    return median_time(step, STEPS, BLOCKS, warmup=3, sync=torch_sync) * 1e3


def _cell(result: dict, key: str, spec: str) -> str:
    return f"{result[key]:{spec}}" if key in result else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--precision", choices=("highest", "tf32"), default="highest")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        torch_float32_matmuls(tf32=args.precision == "tf32")
    except ImportError:
        torch = None
        print("torch is not installed (pip install torch==2.13.0): memjax only")
    device = jax.devices()[0].device_kind
    results = {
        "device": device,
        "torch_device": torch_device() if torch else None,
        "precision": args.precision,
    }
    on = f"PyTorch on {torch_device()}" if torch is not None else ""
    print(f"per-step ms, Adam, median of {BLOCKS} blocks ({device}; {on}; {args.precision})")
    print(
        f"{'network':<38} {'memjax':>7} {'eager':>7} {'compile':>8} {'vs eager':>9} "
        f"{'vs compile':>10}"
    )
    for name, (model, data) in cases().items():
        params = model.init(jax.random.PRNGKey(0), data[0])
        r = {"memjax_ms": memjax_step_ms(model, data, params, args.precision)}
        if torch is not None:
            r["torch_eager_ms"] = torch_step_ms(torch_model(model, params), data, False)
            try:
                r["torch_compile_ms"] = torch_step_ms(torch_model(model, params), data, True)
            except Exception as error:  # inductor needs a working C++ toolchain
                r["torch_compile_error"] = f"{type(error).__name__}: {error}"[:200]
            r["speedup_vs_eager"] = r["torch_eager_ms"] / r["memjax_ms"]
            if "torch_compile_ms" in r:
                r["speedup_vs_compile"] = r["torch_compile_ms"] / r["memjax_ms"]
        results[name] = r
        print(
            f"{name:<38} {_cell(r, 'memjax_ms', '7.2f')} {_cell(r, 'torch_eager_ms', '7.2f'):>7} "
            f"{_cell(r, 'torch_compile_ms', '8.2f'):>8} {_cell(r, 'speedup_vs_eager', '8.2f'):>8}× "
            f"{_cell(r, 'speedup_vs_compile', '9.2f'):>9}×"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
