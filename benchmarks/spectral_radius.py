"""Spectral radius of the Jacobian at many points: one vmapped Krylov solve vs ARPACK per point.

Attractor tests need the Jacobian's spectral radius at many inputs (is each training image an
attracting fixed point? where does it stop attracting?). ``memjax.operator.spectral_radius``
runs the thick-restart Krylov solver at all points at once (vmapped, restarted until every
point converged); the baseline calls ARPACK on a jitted jvp point by point
(``benchmarks.solvers.arpack_top_eigenvalues``). Side by side on a trained LeakyReLU
``D_{16,16}`` and 3×32×32 points (d = 3072); the fastest of 3 calls after a compiling one,
at the default tolerance and a looser one.

    python -m benchmarks.spectral_radius [--out results.json]
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

from benchmarks.solvers import arpack_top_eigenvalues
from memjax.data import load_sample, to_float
from memjax.models import ConvAutoencoder, downsampling_layers
from memjax.operator import spectral_radius
from memjax.train import TrainConfig, train

POINTS, KRYLOV = 32, 32
TOLS = (1e-6, 1e-4)  # the default, and enough to tell ρ < 1 from ρ > 1


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    images = jnp.asarray(to_float(load_sample("cifar10")[0]))
    model = ConvAutoencoder(downsampling_layers(16, 16), activation="leaky_relu")
    params, _ = train(
        jax.random.PRNGKey(0),
        model,
        images[:2],
        TrainConfig("adam", 1e-3, max_steps=300, progress=False),
    )
    noise = jax.random.normal(jax.random.PRNGKey(1), (POINTS - len(images), *images.shape[1:]))
    points = jnp.concatenate([images, 0.5 + 0.1 * noise])
    apply = functools.partial(model.apply, params)

    def batched(tol):
        return spectral_radius(model.apply, points, params=params, krylov_dim=KRYLOV, tol=tol)

    def per_point():
        return np.array([np.abs(arpack_top_eigenvalues(apply, x, 1)[0][0]) for x in points])

    arpack = per_point()  # compiles
    radii = {tol: batched(tol) for tol in TOLS}
    arpack_s = min(_seconds(per_point) for _ in range(3))
    result = {
        "points": POINTS,
        "krylov_dim": KRYLOV,
        "load_average_1min": os.getloadavg()[0],
        "arpack_per_point_s": arpack_s,
        "median_radius": float(np.median(arpack)),
    }
    for tol in TOLS:
        seconds = min(_seconds(lambda tol=tol: batched(tol)) for _ in range(3))
        result |= {
            f"vmapped_krylov_tol{tol:g}_s": seconds,
            f"speedup_tol{tol:g}": arpack_s / seconds,
            f"max_rel_error_tol{tol:g}": float(np.max(np.abs(radii[tol] - arpack) / arpack)),
        }
    print(f"spectral radius at {POINTS} points (d = 3072, LeakyReLU D_{{16,16}}), load average "
          f"{result['load_average_1min']:.1f}: ARPACK per point {arpack_s:.2f} s")  # fmt: skip
    for tol in TOLS:
        print(
            f"  vmapped Krylov solve (m = {KRYLOV}, tol {tol:g}): "
            f"{result[f'vmapped_krylov_tol{tol:g}_s']:.2f} s "
            f"({result[f'speedup_tol{tol:g}']:.1f}× ARPACK's speed); max relative difference "
            f"{result[f'max_rel_error_tol{tol:g}']:.1e}; "
            f"median radius {result['median_radius']:.3f}"
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
