"""Matrix-free spectra of linear ``D_{64,192}`` on one CIFAR-10 image: memjax's thick-restart
Krylov solver vs ARPACK, side by side in one run.

``memjax.operator.top_eigenvalues`` / ``top_singular_values`` run
``memjax.spectral.krylov_eigs`` either as one XLA program (``loop="device"``: ``lax`` loops,
no host round trip) or as one jitted step per product driven from Python (``loop="host"``).
The baseline is ARPACK (``scipy.sparse.linalg.eigs`` / ``svds``) calling a jitted jvp (and
vjp) from the host once per product, as memjax did before. Measured here:
  - the XLA:CPU loop trap (jax-ml/jax#12868) for this net's products: one jitted jvp, vjp and
    vjp∘jvp alone vs inside a ``lax.fori_loop``;
  - top-16 |λ| and top-16 σ: the fastest of 3 calls after a first (compiling) call, each
    method in turn so that the shared machine's load hits all alike; products used; the
    error against the dense operator's float64 eig/SVD;
  - on accelerators the same with the device loop only (no trap there).

    python -m benchmarks.solvers [--out results.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.timing import median_time

K, TOL = 16, 1e-6
REPEATS = 3


def arpack_top_eigenvalues(apply, x0, k: int, tol: float = TOL, seed: int = 0):
    """ARPACK's implicitly restarted Arnoldi on a jitted jvp called from the host.

    Returns:
      ``(values, products)``: ``(k,)`` complex sorted by decreasing ``|λ|``, and the number
      of jvps ARPACK asked for.
    """
    from scipy.sparse.linalg import LinearOperator, eigs

    x0 = jnp.asarray(x0)
    d = x0.size
    jvp = _jitted_jvp(apply, x0.shape)
    calls = [0]

    def matvec(v):
        calls[0] += 1
        return np.asarray(jvp(x0.ravel(), jnp.asarray(np.real(v), x0.dtype)), np.float64)

    start = np.random.default_rng(seed).normal(size=d)
    values = eigs(LinearOperator((d, d), matvec=matvec, dtype=np.float64), k=k, which="LM",
                  tol=tol, v0=start, return_eigenvectors=False)  # fmt: skip
    return values[np.lexsort((-values.imag, -np.abs(values)))], calls[0]


def arpack_top_singular_values(apply, x0, k: int, tol: float = TOL, seed: int = 0):
    """ARPACK's Lanczos (``svds``) on a jitted jvp and vjp called from the host.

    Returns:
      ``(s, products)``: ``(k,)`` decreasing, and jvps + vjps called.
    """
    from scipy.sparse.linalg import LinearOperator, svds

    x0 = jnp.asarray(x0)
    d = x0.size
    jvp, vjp = _jitted_jvp(apply, x0.shape), _jitted_vjp(apply, x0.shape)
    calls = [0]

    def product(fn):
        def call(v):
            calls[0] += 1
            return np.asarray(fn(x0.ravel(), jnp.asarray(np.ravel(v), x0.dtype)), np.float64)

        return call

    linear = LinearOperator((d, d), matvec=product(jvp), rmatvec=product(vjp), dtype=np.float64)
    start = np.random.default_rng(seed).normal(size=d)
    s = svds(linear, k=k, tol=tol, v0=start, return_singular_vectors=False)
    return np.sort(s)[::-1], calls[0]


@functools.cache
def _jitted_jvp(apply, shape):
    """``(x, v) ↦ J(x) v`` compiled once per ``apply`` (so once for many points)."""
    flat = _flat(apply, shape)
    return jax.jit(lambda x, v: jax.jvp(flat, (x,), (v,))[1])


@functools.cache
def _jitted_vjp(apply, shape):
    """``(x, u) ↦ J(x)ᵀ u`` compiled once per ``apply``."""
    flat = _flat(apply, shape)
    return jax.jit(lambda x, u: jax.vjp(flat, x)[1](u)[0])


def _flat(apply, shape):
    def flat(v):
        with jax.default_matmul_precision("highest"):
            return jnp.ravel(apply(v.reshape(shape)))

    return flat


def loop_trap(model, params, x) -> dict:
    """Milliseconds per product alone (a jitted call each) and inside a ``lax.fori_loop``."""
    flat = _flat(lambda v: model.apply(params, v), x.shape)
    _, jvp = jax.linearize(flat, x.ravel())
    _, vjp = jax.vjp(flat, x.ravel())
    products = {"jvp": jvp, "vjp": lambda v: vjp(v)[0], "gram": lambda v: vjp(jvp(v))[0]}
    out, n = {}, 10
    for name, product in products.items():
        alone = jax.jit(lambda v, p=product: p(v) / 10)
        looped = jax.jit(lambda v, p=product: jax.lax.fori_loop(0, n, lambda _, w: p(w) / 10, v))
        v = jnp.ones(x.size)

        def sequence(v=v, alone=alone):
            for _ in range(n):
                v = alone(v)
            v.block_until_ready()

        out[f"{name}_alone_ms"] = median_time(sequence, 1, 5) / n * 1e3
        out[f"{name}_in_loop_ms"] = (
            median_time(lambda v=v, f=looped: f(v).block_until_ready(), 1, 5) / n * 1e3
        )
    return out


def run(model, params, x) -> dict:
    """Every measurement above on ``model`` at the single example ``x``."""
    from memjax import spectral
    from memjax.operator import operator, top_eigenvalues, top_singular_values

    apply = lambda v: model.apply(params, v)  # noqa: E731  (ARPACK's baseline)
    start = time.perf_counter()
    dense = np.asarray(operator(model.apply, x, params=params), np.float64)
    dense_operator_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = spectral.eigenspectrum(dense).magnitudes[:K]
    dense_eig_s = time.perf_counter() - start
    start = time.perf_counter()
    reference_s = np.linalg.svd(dense, compute_uv=False)[:K]
    dense_svd_s = time.perf_counter() - start
    r = {
        "backend": jax.default_backend(),
        "cpu_cores": os.cpu_count(),
        "load_average_1min_at_start": os.getloadavg()[0],
        "k": K,
        "tol": TOL,
        "dense_operator_s": dense_operator_s,
        "dense_eig_s": dense_eig_s,
        "dense_svd_s": dense_svd_s,
    }
    if jax.default_backend() == "cpu":
        r |= loop_trap(model, params, x)
    loops = ("device", "host") if jax.default_backend() == "cpu" else ("device",)
    methods = {
        "arpack_eig": lambda: np.abs(arpack_top_eigenvalues(apply, x, K)[0]),
        "arpack_svd": lambda: arpack_top_singular_values(apply, x, K)[0],
    }
    for loop in loops:
        methods[f"{loop}_eig"] = lambda loop=loop: (
            top_eigenvalues(model.apply, x, K, params=params, tol=TOL, loop=loop).magnitudes
        )
        methods[f"{loop}_svd"] = lambda loop=loop: (
            top_singular_values(model.apply, x, K, params=params, tol=TOL, loop=loop).s
        )
    results, times = {}, {name: [] for name in methods}
    for name, method in methods.items():  # first calls compile
        start = time.perf_counter()
        results[name] = method()
        r[f"{name}_first_call_s"] = time.perf_counter() - start
    for _ in range(REPEATS):  # interleaved, so that changes in the machine's load hit all alike
        for name, method in methods.items():
            start = time.perf_counter()
            method()
            times[name].append(time.perf_counter() - start)
    for name in methods:
        r[f"{name}_s"] = min(times[name])
        r[f"{name}_median_s"] = float(np.median(times[name]))
        if name.endswith("eig"):
            r[f"{name}_error"] = float(np.abs(results[name] - reference).max())
        else:
            r[f"{name}_rel_error"] = float(
                np.max(np.abs(results[name] - reference_s) / reference_s)
            )
    r["arpack_eig_products"] = arpack_top_eigenvalues(apply, x, K)[1]
    r["arpack_svd_products"] = arpack_top_singular_values(apply, x, K)[1]
    r["products_memjax"] = _memjax_products(model, params, x)
    r["load_average_1min_at_end"] = os.getloadavg()[0]
    return r


def _memjax_products(model, params, x) -> dict:
    """Products with ``J`` (eig) and ``JᵀJ`` (σ) that the solver used, from its own count."""
    from memjax.operator import _Flat, _JacobianProduct, _krylov

    out = {}
    for name, gram in (("eig", False), ("svd", True)):
        flat = _Flat(model.apply, x.shape, with_params=True)
        pairs = _krylov(_JacobianProduct(flat, gram), (params, x.ravel()), None, K, None, TOL,
                        100, None, "device", symmetric=gram)  # fmt: skip
        out[name] = int(pairs.matvecs) * (2 if gram else 1)  # JᵀJ: a jvp and a vjp
    return out


def format_results(r: dict) -> str:
    lines = [
        f"D_{{64,192}}, one CIFAR-10 image (d = 3072), top-{r['k']}, tol {r['tol']:g}; "
        f"{r['backend']}, {r['cpu_cores']} cores, load average "
        f"{r['load_average_1min_at_start']:.1f} at start, "
        f"{r['load_average_1min_at_end']:.1f} at end",
        f"  dense: operator {r['dense_operator_s']:.2f} s, + eig {r['dense_eig_s']:.2f} s, "
        f"+ svd {r['dense_svd_s']:.2f} s",
    ]
    if "jvp_alone_ms" in r:
        lines.append(
            "  product alone vs in a lax loop (ms): "
            + ", ".join(
                f"{n} {r[f'{n}_alone_ms']:.1f} vs {r[f'{n}_in_loop_ms']:.1f}"
                for n in ("jvp", "vjp", "gram")
            )
        )
    products = r["products_memjax"]
    for kind, label, err in (("eig", "|λ|", "abs |λ| error"), ("svd", "σ", "rel σ error")):
        error_key = "error" if kind == "eig" else "rel_error"
        lines.append(
            f"  top-{r['k']} {label}: ARPACK {r[f'arpack_{kind}_s']:.2f} s "
            f"(median {r[f'arpack_{kind}_median_s']:.2f} s) "
            f"({r[f'arpack_{kind}_products']} products, "
            f"{err} {r[f'arpack_{kind}_{error_key}']:.1e})"
        )
        for loop in ("device", "host"):
            if f"{loop}_{kind}_s" in r:
                lines.append(
                    f"    memjax loop={loop}: {r[f'{loop}_{kind}_s']:.2f} s "
                    f"(median {r[f'{loop}_{kind}_median_s']:.2f} s) "
                    f"(first call {r[f'{loop}_{kind}_first_call_s']:.2f} s), "
                    f"ARPACK/memjax {r[f'arpack_{kind}_s'] / r[f'{loop}_{kind}_s']:.2f}×, "
                    f"{err} {r[f'{loop}_{kind}_{error_key}']:.1e}"
                )
        lines.append(f"    memjax products: {products[kind]}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from memjax.data import load_sample, to_float
    from memjax.models import ConvAutoencoder, downsampling_layers

    model = ConvAutoencoder(downsampling_layers(64, 192))
    x = jnp.asarray(to_float(load_sample("cifar10")[0][0]))
    params = model.init(jax.random.PRNGKey(0), x)  # the weights of benchmarks/d64_192.py
    result = run(model, params, x)
    print(format_results(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
