"""Synthetic images: Gaussian noise, white squares, and the 2×2 basis sets of [DS] App C.

Images are channels-first ``(n, C, H, W)`` float arrays.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _check_shape(shape) -> tuple[int, int, int]:
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image shape must be (C, H, W) with positive sizes, got {shape}")
    return tuple(int(s) for s in shape)


def gaussian_images(key, n: int, shape, dtype=jnp.float32) -> jax.Array:
    """``n`` images with i.i.d. standard normal pixels ([DS] Fig 2 test inputs)."""
    return jax.random.normal(key, (n, *_check_shape(shape)), dtype)


def white_squares(
    key, n: int, shape, min_size: int = 1, max_size: int | None = None, dtype=jnp.float32
) -> jax.Array:
    """``n`` black images, each with one white (value 1) square of random size and position.

    Side lengths are uniform in ``[min_size, max_size]`` (default: up to half the image).
    """
    c, h, w = _check_shape(shape)
    max_size = max(min_size, min(h, w) // 2) if max_size is None else max_size
    if not 1 <= min_size <= max_size <= min(h, w):
        raise ValueError(
            f"square sizes need 1 ≤ min_size ≤ max_size ≤ {min(h, w)}, got {min_size}, {max_size}"
        )
    k_size, k_row, k_col = jax.random.split(key, 3)
    sizes = jax.random.randint(k_size, (n,), min_size, max_size + 1)
    rows = jax.random.randint(k_row, (n,), 0, h - sizes + 1)
    cols = jax.random.randint(k_col, (n,), 0, w - sizes + 1)
    r, q = jnp.arange(h)[:, None], jnp.arange(w)[None, :]

    def square(size, row, col):
        mask = (r >= row) & (r < row + size) & (q >= col) & (q < col + size)
        return jnp.broadcast_to(mask, (c, h, w)).astype(dtype)

    return jax.vmap(square)(sizes, rows, cols)


def basis_image(index: int, shape=(1, 2, 2)) -> np.ndarray:
    """The standard basis image with a single 1 at flat position ``index``."""
    image = np.zeros(int(np.prod(shape)))
    image[index] = 1.0
    return image.reshape(shape)


def app_c_training_sets() -> dict[str, np.ndarray]:
    """The five 1×2×2 training sets of [DS] App C, as ``{name: (n, 1, 2, 2)}``.

    ``basis_k`` holds the first k basis images (span dimension k); ``dependent_4`` holds
    e1, e2, e3 and e1 + e2 (4 images spanning 3 dimensions).
    """
    e = [basis_image(i) for i in range(4)]
    sets = {f"basis_{k}": np.stack(e[:k]) for k in range(1, 5)}
    sets["dependent_4"] = np.stack([e[0], e[1], e[2], e[0] + e[1]])
    return sets
