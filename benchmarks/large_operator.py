"""The spectrum of an autoencoder whose operator cannot be formed: 3×224×224 inputs.

A downsampling autoencoder (``D_{16,32}``: three stride-2 convs to 28×28, ×8 upsampling, two
16-filter convs, a conv to 3 channels) trained on two CIFAR-10 images resized to 224×224
(bilinear; the shipped data has no larger images). Its operator is d × d with d = 150,528:
90.6 GB in float32, beyond this machine's 24 GiB. ``top_eigenvalues`` (Arnoldi on the jvp)
and ``top_singular_values`` (Lanczos on jvp + vjp) never form it. Reports time, peak RSS,
the top eigenvalues, the top eigenvectors' distance to span(X), and their images.

    python -m benchmarks.large_operator [--out results.json] [--steps N]
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from memjax import plotting, spectral
from memjax.data import load_sample, to_float
from memjax.models import ConvAutoencoder, downsampling_layers
from memjax.operator import top_eigenvalues, top_singular_values
from memjax.train import TrainConfig, train

SIZE, K = 224, 8


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    small = jnp.asarray(to_float(load_sample("cifar10")[0][[3, 6]]))  # a plane and a car
    data = jax.image.resize(small, (2, 3, SIZE, SIZE), "bilinear")
    d = data[0].size
    model = ConvAutoencoder(downsampling_layers(16, 32))
    start = time.perf_counter()
    params, history = train(
        jax.random.PRNGKey(0), model, data, TrainConfig("adam", 1e-3, max_steps=args.steps)
    )
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    values, vectors = top_eigenvalues(model.apply, data[0], k=K, params=params)
    eig_s = time.perf_counter() - start
    start = time.perf_counter()
    singular = top_singular_values(model.apply, data[0], k=K, params=params).s
    svd_s = time.perf_counter() - start
    distances = spectral.distance_to_span(vectors, data)
    # The net is linear, so J x_i = f(x_i): how close the training images are to fixed points.
    residuals = jnp.linalg.norm(
        (jax.vmap(functools.partial(model.apply, params))(data) - data).reshape(len(data), -1),
        axis=1,
    ) / jnp.linalg.norm(data.reshape(len(data), -1), axis=1)
    result = {
        "d": d,
        "dense_operator_gb_float32": d * d * 4 / 1e9,
        "train_steps": args.steps,
        "train_s": train_s,
        "final_loss": float(history.final_loss),
        "top_eigenvalues_s": eig_s,
        "top_abs_eigenvalues": np.abs(values).tolist(),
        "top_eigenvector_distance_to_span": distances.tolist(),
        "training_image_relative_residual": residuals.tolist(),
        "top_singular_values_s": svd_s,
        "top_singular_values": singular.tolist(),
        "peak_rss_gib": _peak_rss_gib(),
    }
    shown = [vectors[:, i].real.reshape(data.shape[1:]) for i in range(4)]
    figure = Path(args.out).with_suffix(".png") if args.out else Path("large_operator.png")
    plotting.image_grid(
        [shown, list(np.asarray(data))],
        ["top eigvecs (re)", "training images"],
        figure,
        col_labels=[f"|λ|={abs(v):.3f}" for v in values[:4]],
        cell=2.2,
        title=f"D_{{16,32}} on 3×{SIZE}×{SIZE} (d = {d:,}): top eigenvectors, matrix-free",
    )
    print(
        f"3×{SIZE}×{SIZE} (d = {d:,}; dense operator {result['dense_operator_gb_float32']:.1f} "
        f"GB): trained {args.steps} steps in {train_s:.0f} s, loss {result['final_loss']:.2e}"
    )
    print(
        f"  top {K} |λ| in {eig_s:.1f} s: "
        + ", ".join(f"{v:.3f}" for v in result["top_abs_eigenvalues"])
    )
    print("  their eigenvectors' distance to span(X): " + ", ".join(f"{v:.2f}" for v in distances))
    print("  training images: ‖J x − x‖ / ‖x‖ = " + ", ".join(f"{v:.3f}" for v in residuals))
    print(f"  top {K} σ in {svd_s:.1f} s: " + ", ".join(f"{v:.3f}" for v in singular))
    print(f"  peak RSS {result['peak_rss_gib']:.2f} GiB; eigenvector images: {figure}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
