"""Linear ``D_{64,192}`` on one 3×32×32 image: memjax vs PyTorch, side by side in one run.

Measures, each part in a fresh subprocess so that peak memory is its own:
  - one Adam training step: a standalone jitted step, the same step inside ``memjax.train``
    (its default ``steps_per_call``, and a compiled loop of 10 steps to show jax-ml/jax#12868),
    and PyTorch eager and ``torch.compile`` with the same initial weights;
  - the full 3072 × 3072 operator: ``memjax.operator.operator`` (linearize + chunked jvp),
    plain ``jax.jacfwd``, ``torch.func.jacfwd`` and ``torch.func.jacrev``, time and peak RSS;
  - top-16 eigenvalues and singular values: dense (operator + LAPACK eig / svd), ARPACK on
    jitted products, memjax's thick-restart Krylov solver (``benchmarks/solvers.py``);
  - two floors for the operator: the FLOP floor, forward FLOPs (XLA's cost analysis) × d ÷
    the measured float32 matmul rate; and d forward passes as XLA's batched convolutions,
    which is what any conv-based jvp must pay. On a 2-core CPU (Nov 2026) XLA's convolutions
    ran at 100–125 GFLOP/s where a GEMM of the same shape ran at 226–262, and neither nine
    shifted matmuls nor im2col was faster than XLA's own convolution.

    python -m benchmarks.d64_192 [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import (
    median_time,
    memjax_step_seconds,
    torch_adam_step,
    torch_device,
    torch_float32_matmuls,
    torch_sync,
)

LR = 1e-4
STEP_REPEATS = 10


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _jax_peak_device_mib() -> dict:
    """Peak accelerator memory of this process (each part runs in its own), when known."""
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return {"peak": stats["peak_bytes_in_use"] / 2**20} if "peak_bytes_in_use" in stats else {}


def _setup_jax(weights_path: Path):
    import jax.numpy as jnp

    from memjax.data import load_sample, to_float
    from memjax.models import ConvAutoencoder, downsampling_layers

    model = ConvAutoencoder(downsampling_layers(64, 192))
    with np.load(weights_path) as w:
        params = {"params": {k: {"kernel": jnp.asarray(w[k])} for k in w.files}}
    x = jnp.asarray(to_float(load_sample("cifar10")[0][:1]))
    return model, params, x


def part_floors(_):
    """The device, its float32 matmul rate (true float32, and JAX's default precision: TF32
    on recent GPUs) and its memory bandwidth (a scale-by-2 reads and writes each byte once)."""
    import jax
    import jax.numpy as jnp

    n = 2048 if jax.default_backend() == "cpu" else 8192
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    rates = {}
    for name, precision in (("matmul_gflops", "highest"), ("matmul_default_gflops", None)):
        matmul = jax.jit(lambda a, p=precision: jnp.matmul(a, a, precision=p))
        seconds = median_time(lambda m=matmul: m(a).block_until_ready(), 20)
        rates[name] = 2 * n**3 / seconds / 1e9
    big = jnp.ones(2**28 if jax.default_backend() == "cpu" else 2**30, jnp.float32)
    scale = jax.jit(lambda v: v * 2)
    seconds = median_time(lambda: scale(big).block_until_ready(), 5)
    return rates | {
        "device": jax.devices()[0].device_kind,
        "matmul_size": n,
        "bandwidth_gbs": 2 * big.nbytes / seconds / 1e9,
    }


def part_jax_step(weights_path):
    """Training steps at JAX's default precision (TF32 on recent GPUs; PyTorch is set to
    match in ``_torch_model``), so memjax's loop opts into it with ``precision="default"``
    (its own default is true float32)."""
    import jax

    from memjax.train import TrainConfig, default_steps_per_call, make_optimizer, mse

    model, params, x = _setup_jax(weights_path)
    tx = make_optimizer("adam", LR)

    @jax.jit
    def step(params, opt_state):
        loss, grads = jax.value_and_grad(lambda p: mse(model.apply, p, x))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return jax.tree.map(lambda p, u: p + u, params, updates), opt_state, loss

    state = [params, tx.init(params)]

    def one_step():
        state[0], state[1], loss = step(*state)
        loss.block_until_ready()

    standalone = median_time(one_step, STEP_REPEATS)

    def loop_time(steps_per_call, n, blocks=3):
        config = TrainConfig("adam", LR, progress=False, steps_per_call=steps_per_call,
                             precision="default")  # fmt: skip
        return memjax_step_seconds(model, x, params, config, n, blocks)

    default_spc = default_steps_per_call(model, params, x)
    return {
        "jax_step_ms": standalone * 1e3,
        "jax_loop_step_ms": loop_time(0, 30) * 1e3,
        "jax_loop_steps_per_call": default_spc,
        "jax_scan10_step_ms": loop_time(10, 10, blocks=1) * 1e3,
    }


def _torch_model(weights_path, tf32: bool = True):
    """The network in PyTorch on :func:`torch_device`, float32 matmuls in TF32 or not."""
    import torch

    from memjax.models import Conv, downsampling_layers

    torch.set_num_threads(os.cpu_count() or 1)
    torch_float32_matmuls(tf32)
    layers, in_channels = [], 3
    with np.load(weights_path) as w:
        kernels = [w[f"conv{i}"] for i in range(len(w.files))]
    index = 0
    for layer in downsampling_layers(64, 192):
        if isinstance(layer, Conv):
            conv = torch.nn.Conv2d(in_channels, layer.features, 3, layer.stride, 1, bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(kernels[index].transpose(3, 2, 0, 1).copy()))
            layers.append(conv)
            in_channels, index = layer.features, index + 1
        else:
            layers.append(torch.nn.Upsample(scale_factor=layer.factor, mode="nearest"))
    from memjax.data import load_sample, to_float

    x = torch.from_numpy(to_float(load_sample("cifar10")[0][:1])).to(torch_device())
    return torch.nn.Sequential(*layers).to(torch_device()), x


def part_torch_step(weights_path):
    model, x = _torch_model(weights_path)
    step = torch_adam_step(model, x, LR)
    return {"torch_eager_step_ms": median_time(step, STEP_REPEATS, sync=torch_sync) * 1e3}


def part_torch_compile_step(weights_path):
    model, x = _torch_model(weights_path)
    step = torch_adam_step(model, x, LR, compiled=True)
    seconds = median_time(step, STEP_REPEATS, warmup=3, sync=torch_sync)
    return {"torch_compile_step_ms": seconds * 1e3}


def part_jax_operator(weights_path):
    import jax

    from memjax.operator import _Flat, _operator_jit, operator
    from memjax.train import xla_flops

    model, params, x = _setup_jax(weights_path)
    # The achievable floor for any conv-based jvp: d forward passes in batches of 256, in
    # true float32 like the operator.
    batch = jax.random.normal(jax.random.PRNGKey(0), (256, *x.shape[1:]))
    with jax.default_matmul_precision("highest"):
        forward_batch = jax.jit(jax.vmap(lambda v: model.apply(params, v)))
        forward_batch(batch).block_until_ready()
    batched_forward_s = (
        median_time(lambda: forward_batch(batch).block_until_ready(), 1, 3) * 3072 / 256
    )
    flat = _Flat(model.apply, x[0].shape, with_params=True)
    compiled = _operator_jit.lower(flat, params, x[0].ravel(), 256, False).compile()
    memory = compiled.memory_analysis()
    before = _rss_mib()
    start = time.perf_counter()
    operator(model.apply, x[0], params=params).block_until_ready()
    seconds = time.perf_counter() - start
    return {
        "forward_flops": xla_flops(lambda p, v: model.apply(p, v), params, x[0]),
        "batched_forward_floor_s": batched_forward_s,
        "jax_operator_s": seconds,
        "jax_operator_peak_rss_increase_mib": _peak_rss_mib() - before,
        "jax_operator_xla_temp_mib": memory.temp_size_in_bytes / 2**20,
        "jax_operator_xla_output_mib": memory.output_size_in_bytes / 2**20,
    } | {f"jax_operator_{k}_device_mib": v for k, v in _jax_peak_device_mib().items()}


def part_spectrum(weights_path):
    """Top-16 eigenvalues and singular values: dense (operator + LAPACK eig / svd), ARPACK on
    a jitted jvp (and vjp) called from the host, and memjax's thick-restart Krylov solver
    (``benchmarks/solvers.py``, which also measures the XLA:CPU loop trap)."""
    from benchmarks.solvers import run

    model, params, x = _setup_jax(weights_path)
    return {f"spectrum_{k}": v for k, v in run(model, params, x[0]).items()}


def part_jax_plain_jacfwd(weights_path):
    """``jax.jacfwd`` of the flattened network: all 3072 tangents in one vmapped jvp, in
    true float32 like memjax's operator."""
    import jax

    model, params, x = _setup_jax(weights_path)
    flat = lambda v: model.apply(params, v.reshape(x.shape[1:])).reshape(-1)  # noqa: E731
    with jax.default_matmul_precision("highest"):
        compiled = jax.jit(jax.jacfwd(flat)).lower(x[0].reshape(-1)).compile()
    before = _rss_mib()
    start = time.perf_counter()
    compiled(x[0].reshape(-1)).block_until_ready()
    return {
        "jax_plain_jacfwd_s": time.perf_counter() - start,
        "jax_plain_jacfwd_peak_rss_increase_mib": _peak_rss_mib() - before,
        "jax_plain_jacfwd_xla_temp_mib": compiled.memory_analysis().temp_size_in_bytes / 2**20,
    } | {f"jax_plain_jacfwd_{k}_device_mib": v for k, v in _jax_peak_device_mib().items()}


def part_precision(weights_path):
    """How far the operator moves at JAX's default float32 precision (TF32 on recent GPUs)
    from memjax's (true float32), both against the operator computed on the host CPU."""
    import jax

    from memjax import spectral
    from memjax.operator import operator

    model, params, x = _setup_jax(weights_path)
    cpu = jax.devices("cpu")[0]
    with jax.default_device(cpu):
        p_cpu, x_cpu = jax.device_put((params, x[0]), cpu)
        reference = np.asarray(operator(model.apply, x_cpu, params=p_cpu))
    flat = lambda v: model.apply(params, v.reshape(x.shape[1:])).reshape(-1)  # noqa: E731
    default = np.asarray(jax.jit(jax.jacfwd(flat))(x[0].reshape(-1)))
    highest = np.asarray(operator(model.apply, x[0], params=params))
    top = spectral.eigenspectrum(reference).magnitudes[:16]
    scale = np.abs(reference).max()
    out = {}
    for name, a in (("default", default), ("memjax", highest)):
        out[f"{name}_precision_max_rel_entry_error"] = float(np.abs(a - reference).max() / scale)
        magnitudes = spectral.eigenspectrum(a).magnitudes[:16]
        out[f"{name}_precision_max_top16_abs_eigenvalue_error"] = float(
            np.abs(magnitudes - top).max()
        )
    return out


def _torch_jacobian(weights_path, name):
    """``torch.func.<name>`` of the flattened network in true float32, like memjax's."""
    import torch

    transform = getattr(torch.func, name)
    model, x = _torch_model(weights_path, tf32=False)
    before = _rss_mib()
    start = time.perf_counter()
    with torch.no_grad() if name == "jacfwd" else torch.enable_grad():
        transform(lambda v: model(v.reshape(1, 3, 32, 32)).reshape(-1))(x.reshape(-1))
    torch_sync()
    out = {
        f"torch_{name}_s": time.perf_counter() - start,
        f"torch_{name}_peak_rss_increase_mib": _peak_rss_mib() - before,
    }
    if x.is_cuda:
        out[f"torch_{name}_peak_device_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def part_torch_jacfwd(weights_path):
    return _torch_jacobian(weights_path, "jacfwd")


def part_torch_jacrev(weights_path):
    return _torch_jacobian(weights_path, "jacrev")


PARTS = {
    "floors": part_floors,
    "jax_step": part_jax_step,
    "torch_step": part_torch_step,
    "torch_compile_step": part_torch_compile_step,
    "jax_operator": part_jax_operator,
    "jax_plain_jacfwd": part_jax_plain_jacfwd,
    "torch_jacfwd": part_torch_jacfwd,
    "torch_jacrev": part_torch_jacrev,
    "spectrum": part_spectrum,
    "precision": part_precision,  # accelerators only: on a CPU both precisions are the same
}


def _write_weights(path: Path):
    import jax

    from memjax.models import ConvAutoencoder, downsampling_layers

    model = ConvAutoencoder(downsampling_layers(64, 192))
    params = model.init(jax.random.PRNGKey(0), np.zeros((3, 32, 32), np.float32))["params"]
    np.savez(path, **{k: np.asarray(v["kernel"]) for k, v in params.items()})


def run_all(parts=tuple(PARTS)) -> dict:
    """Runs each part in its own process and returns all measurements with the ratios."""
    import importlib.util

    import jax

    if importlib.util.find_spec("torch") is None:
        print("torch is not installed (pip install torch==2.13.0): skipping PyTorch parts")
        parts = [p for p in parts if not p.startswith("torch")]
    if jax.default_backend() == "cpu":
        parts = [p for p in parts if p != "precision"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.npz"
        _write_weights(weights)
        for part in parts:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.d64_192", "--part", part, str(weights)],
                capture_output=True,
                text=True,
            )
            if out.returncode:  # recorded, and the other parts still run
                print(f"benchmark part {part} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                results[f"{part}_error"] = out.stderr.strip().splitlines()[-1][:300]
                continue
            results |= json.loads(out.stdout.strip().splitlines()[-1])
    return results | _ratios(results)


def _ratios(r: dict) -> dict:
    ratios = {}
    if "jax_step_ms" in r:
        ratios["loop_over_standalone_step"] = r["jax_loop_step_ms"] / r["jax_step_ms"]
        ratios["scan10_over_standalone_step"] = r["jax_scan10_step_ms"] / r["jax_step_ms"]
    if "torch_eager_step_ms" in r and "jax_loop_step_ms" in r:
        ratios["torch_eager_over_jax_loop_step"] = r["torch_eager_step_ms"] / r["jax_loop_step_ms"]
    if "jax_operator_s" in r and "matmul_gflops" in r:
        floor = r["forward_flops"] * 3072 / (r["matmul_gflops"] * 1e9)
        ratios["flop_floor_s"] = floor
        ratios["jax_operator_over_floor"] = r["jax_operator_s"] / floor
        ratios["jax_operator_over_batched_forward"] = (
            r["jax_operator_s"] / r["batched_forward_floor_s"]
        )
    if "spectrum_arpack_eig_s" in r:
        dense = {"eig": r["spectrum_dense_operator_s"] + r["spectrum_dense_eig_s"],
                 "svd": r["spectrum_dense_operator_s"] + r["spectrum_dense_svd_s"]}  # fmt: skip
        for kind in ("eig", "svd"):
            ratios[f"dense_top16_{kind}_s"] = dense[kind]
            for method in ("arpack", "device", "host"):
                if f"spectrum_{method}_{kind}_s" in r:
                    seconds = r[f"spectrum_{method}_{kind}_s"]
                    ratios[f"dense_over_{method}_{kind}"] = dense[kind] / seconds
                    ratios[f"{method}_over_arpack_{kind}"] = (
                        seconds / r[f"spectrum_arpack_{kind}_s"]
                    )
    if "torch_compile_step_ms" in r and "jax_loop_step_ms" in r:
        ratios["torch_compile_over_jax_loop_step"] = (
            r["torch_compile_step_ms"] / r["jax_loop_step_ms"]
        )
    for other in ("torch_jacfwd", "torch_jacrev", "jax_plain_jacfwd"):
        if f"{other}_s" in r and "jax_operator_s" in r:
            ratios[f"{other}_over_jax_operator"] = r[f"{other}_s"] / r["jax_operator_s"]
    return ratios


def format_table(r: dict) -> str:
    def get(key, fmt):
        return format(r[key], fmt) if key in r else "n/a"

    rows = [
        ("device", str(r.get("device", "?")), ""),
        (
            "matmul rate, true f32 (GFLOP/s)",
            get("matmul_gflops", ".1f"),
            f"{r.get('matmul_size', '?')}² matmul; JAX's default precision (TF32 on recent "
            f"GPUs) {get('matmul_default_gflops', '.1f')}",
        ),
        ("memory bandwidth (GB/s)", get("bandwidth_gbs", ".1f"), "read + write of a scaled copy"),
        ("jitted step, standalone (ms)", get("jax_step_ms", ".2f"), ""),
        (
            f"step inside memjax.train, {r.get('jax_loop_steps_per_call', '?')}/call (ms)",
            get("jax_loop_step_ms", ".2f"),
            f"{get('loop_over_standalone_step', '.2f')}× standalone (target ≤ 1.3)",
        ),
        (
            "step inside a loop of 10 (ms)",
            get("jax_scan10_step_ms", ".2f"),
            f"{get('scan10_over_standalone_step', '.1f')}× standalone (jax-ml/jax#12868)",
        ),
        (
            "PyTorch eager step (ms)",
            get("torch_eager_step_ms", ".2f"),
            f"memjax {get('torch_eager_over_jax_loop_step', '.2f')}× faster (target ≥ 4)",
        ),
        (
            "torch.compile step (ms)",
            get("torch_compile_step_ms", ".2f"),
            f"memjax {get('torch_compile_over_jax_loop_step', '.2f')}× faster (target ≥ 1.5)",
        ),
        (
            "operator, memjax chunked jacfwd (s)",
            get("jax_operator_s", ".2f"),
            f"{get('jax_operator_over_floor', '.2f')}× FLOP floor (target ≤ 1.25)",
        ),
        (
            "operator FLOP floor (s)",
            get("flop_floor_s", ".2f"),
            f"forward {get('forward_flops', '.3g')} FLOP × 3072 ÷ matmul rate",
        ),
        (
            "d forward passes, XLA batched convs (s)",
            get("batched_forward_floor_s", ".2f"),
            f"operator {get('jax_operator_over_batched_forward', '.2f')}× this",
        ),
        (
            "operator, torch.func.jacfwd (s)",
            get("torch_jacfwd_s", ".2f"),
            f"memjax {get('torch_jacfwd_over_jax_operator', '.2f')}× faster",
        ),
        (
            "operator, torch.func.jacrev (s)",
            get("torch_jacrev_s", ".2f"),
            f"memjax {get('torch_jacrev_over_jax_operator', '.2f')}× faster",
        ),
        (
            "operator, plain jax.jacfwd (s)",
            get("jax_plain_jacfwd_s", ".2f"),
            f"memjax {get('jax_plain_jacfwd_over_jax_operator', '.2f')}× faster",
        ),
        (
            "operator peak RSS increase, memjax (MiB)",
            get("jax_operator_peak_rss_increase_mib", ".0f"),
            f"XLA temp {get('jax_operator_xla_temp_mib', '.0f')} MiB + output "
            f"{get('jax_operator_xla_output_mib', '.0f')} MiB (target < 1024)",
        ),
        (
            "operator peak RSS increase, torch (MiB)",
            get("torch_jacfwd_peak_rss_increase_mib", ".0f"),
            f"jacrev {get('torch_jacrev_peak_rss_increase_mib', '.0f')} MiB",
        ),
        (
            "operator peak RSS increase, jax.jacfwd (MiB)",
            get("jax_plain_jacfwd_peak_rss_increase_mib", ".0f"),
            f"XLA temp {get('jax_plain_jacfwd_xla_temp_mib', '.0f')} MiB",
        ),
    ]
    if "jax_operator_peak_device_mib" in r:  # accelerators
        rows.append((
            "operator peak device memory, memjax (MiB)",
            get("jax_operator_peak_device_mib", ".0f"),
            f"jax.jacfwd {get('jax_plain_jacfwd_peak_device_mib', '.0f')}, torch jacfwd "
            f"{get('torch_jacfwd_peak_device_mib', '.0f')}, jacrev "
            f"{get('torch_jacrev_peak_device_mib', '.0f')}",
        ))  # fmt: skip
    if "memjax_precision_max_rel_entry_error" in r:
        rows += [
            (
                "operator error, memjax (true f32)",
                get("memjax_precision_max_rel_entry_error", ".1e"),
                "max entry error ÷ max entry vs the host CPU's operator; top-16 |λ| error "
                f"{get('memjax_precision_max_top16_abs_eigenvalue_error', '.1e')}",
            ),
            (
                "operator error, JAX default precision",
                get("default_precision_max_rel_entry_error", ".1e"),
                "same; top-16 |λ| error "
                f"{get('default_precision_max_top16_abs_eigenvalue_error', '.1e')}",
            ),
        ]
    for kind, label, error in (("eig", "|λ|", "max |λ| error"), ("svd", "σ", "max rel σ error")):
        error_key = "error" if kind == "eig" else "rel_error"
        rows.append((f"top-16 {label}, dense operator + {kind} (s)",
                     get(f"dense_top16_{kind}_s", ".2f"), ""))  # fmt: skip
        for method, name in (("arpack", "ARPACK, jitted products from the host"),
                             ("device", "memjax, loop=device (one XLA program)"),
                             ("host", "memjax, loop=host (a jitted step each)")):  # fmt: skip
            if f"spectrum_{method}_{kind}_s" not in r:
                continue
            products = (r["spectrum_products_memjax"][kind] if method != "arpack"
                        else r[f"spectrum_arpack_{kind}_products"])  # fmt: skip
            rows.append((
                f"top-16 {label}, {name} (s)",
                get(f"spectrum_{method}_{kind}_s", ".2f"),
                f"{get(f'{method}_over_arpack_{kind}', '.2f')}× ARPACK's time, "
                f"{get(f'dense_over_{method}_{kind}', '.1f')}× faster than dense; {products} "
                f"products; {error} {get(f'spectrum_{method}_{kind}_{error_key}', '.1e')}",
            ))  # fmt: skip
    if "spectrum_load_average_1min_at_start" in r:
        rows.append((
            "load average during the spectra (1 min)",
            get("spectrum_load_average_1min_at_start", ".1f"),
            f"at the end {get('spectrum_load_average_1min_at_end', '.1f')} "
            f"({r.get('spectrum_cpu_cores', '?')} cores)",
        ))  # fmt: skip
    width = max(len(name) for name, _, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>9}  {note}" for name, value, note in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=tuple(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("weights", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.part:
        print(json.dumps(PARTS[args.part](Path(args.weights))))
        return
    results = run_all()
    print(
        f"Linear D_{{64,192}}, one 3×32×32 CIFAR-10 image, Adam lr 1e-4; {os.cpu_count()} CPU cores"
    )
    print(format_table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
