"""Probing a trained autoencoder with new inputs: does the output follow the input or the
training set?

[DS] and [MO1] test memorization by feeding inputs the network never saw (Gaussian noise,
white squares, unseen natural images) and asking whether the output looks like the input
(identity-like map) or like a training image (point map / attractor). Everything here
compares by centred correlation, since all-positive natural images have raw cosines near 0.8
with anything.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from memjax import spectral
from memjax.data.synthetic import gaussian_images, white_squares


def probe_inputs(key, n: int, shape, natural=None) -> dict[str, np.ndarray]:
    """The test inputs of [DS] Fig 1–3, 7–8: ``n`` each of Gaussian noise and white squares
    (sides between 1/8 and 1/2 of the image), plus up to ``n`` unseen ``natural`` images."""
    key_gauss, key_squares = jax.random.split(key)
    side = shape[-1]
    inputs = {
        "gaussian": np.asarray(gaussian_images(key_gauss, n, shape)),
        "squares": np.asarray(white_squares(key_squares, n, shape, max(1, side // 8), side // 2)),
    }
    if natural is not None and len(natural):
        inputs["natural"] = np.asarray(natural[:n], np.float32)
    return inputs


def apply_batch(model, params, inputs) -> np.ndarray:
    """The model on each of ``inputs`` (one jitted, vmapped call)."""
    return np.asarray(_batched(model)(params, jnp.asarray(inputs)))


@functools.lru_cache(maxsize=32)
def _batched(model):  # one compiled program per model, reused across snapshots
    return jax.jit(jax.vmap(model.apply, in_axes=(None, 0)))


def match_outputs(outputs, inputs, training) -> dict:
    """How each output relates to its input and to the nearest training image.

    Returns per-output arrays ``nearest`` (index of the training image with the largest
    |centred correlation|, -1 for a constant output), ``corr_nearest`` (that |correlation|),
    ``corr_input`` (|corr(output, input)|), and their medians.
    """
    nearest, corr = spectral.nearest_example(outputs, training, centred=True)
    corr_nearest = corr.max(axis=1)
    corr_input = np.abs(np.nan_to_num(spectral.centred_correlation(outputs, inputs)))
    return {
        "nearest": nearest,
        "corr_nearest": corr_nearest,
        "corr_input": corr_input,
        "median_corr_nearest": float(np.median(corr_nearest)),
        "median_corr_input": float(np.median(corr_input)),
    }


def nearest_counts(nearest, n_training: int) -> list[int]:
    """How many outputs fell nearest to each training image (a histogram, as [DS] Fig 8)."""
    nearest = np.asarray(nearest)
    return [int(np.sum(nearest == i)) for i in range(n_training)]
