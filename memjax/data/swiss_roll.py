"""The Swiss roll of [MO2] Fig 2, as scikit-learn's ``make_swiss_roll`` draws it, in JAX.

scikit-learn samples ``t = 1.5π(1 + 2u)``, ``u ~ U(0, 1)``, and returns
``(t cos t, 21 v, t sin t)`` with ``v ~ U(0, 1)`` (plus optional Gaussian noise). [MO2] does
not say which dimension it plots or its sample size; ``dim=2`` keeps the spiral
``(t cos t, t sin t)``, the version the project's prototype used (``shared/FINDINGS.md``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

HEIGHT = 21.0  # scikit-learn's width of the roll along its axis


def swiss_roll(
    key: jax.Array,
    n: int,
    dim: int = 2,
    noise: float = 0.0,
    scale: bool = True,
    dtype=jnp.float32,
) -> jax.Array:
    """``n`` points of a Swiss roll.

    Args:
      key: PRNG key (split internally for the angle, height and noise).
      n: number of points.
      dim: 2 for the spiral ``(t cos t, t sin t)``; 3 for scikit-learn's
        ``(t cos t, 21 v, t sin t)``.
      noise: standard deviation of Gaussian noise added to every coordinate (before scaling).
      scale: divide by the largest coordinate magnitude the noiseless roll can reach
        (``4.5π`` on the spiral), so points lie in about ``[−1, 1]^dim`` whatever ``n``; the
        height axis (``dim=3``) is centred and scaled by the same factor.

    Returns:
      ``(n, dim)`` points in ``dtype``.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    k_angle, k_height, k_noise = jax.random.split(key, 3)
    t = 1.5 * math.pi * (1 + 2 * jax.random.uniform(k_angle, (n,), dtype))
    columns = [t * jnp.cos(t), t * jnp.sin(t)]
    if dim == 3:
        height = HEIGHT * jax.random.uniform(k_height, (n,), dtype)
        columns.insert(1, height - (HEIGHT / 2 if scale else 0.0))
    points = jnp.stack(columns, axis=1) + noise * jax.random.normal(k_noise, (n, dim), dtype)
    return points / (4.5 * math.pi) if scale else points
