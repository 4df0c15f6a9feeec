"""Test inputs of [IC] and how close a prediction is to the identity or to the constant map.

[IC] trains on one image x̂ and asks, for each test input x, whether f(x) is closer to x (the
identity: generalisation) or to x̂ (the constant map: memorisation). §3.2 builds test inputs
at a chosen correlation ρ to x̂; App J repeats the heatmaps with MSE. Images are channels-first
``(C, H, W)``; a batch is ``(n, C, H, W)``. Scores are computed in float64 NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from memjax import probes
from memjax.data import load_sample, mnist_test_set, to_float

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # [IC] App A: (v − 0.1307)/0.3081 after scaling to [0, 1]
PATTERNS = ("checkerboard", "stripes", "square", "disc", "uniform_noise", "gaussian_noise")


def standardize(images: np.ndarray, mean: float = MNIST_MEAN, std: float = MNIST_STD):
    """``uint8`` images → ``(v/255 − mean)/std`` in float32 ([IC] App A's MNIST normalisation:
    background −0.4242, full ink 2.8215)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"standardize expects uint8 images, got dtype {images.dtype}")
    return (to_float(images) - np.float32(mean)) / np.float32(std)


def training_digit(index: int) -> np.ndarray:
    """``(1, 1, 28, 28)``: the shipped MNIST test image ``index``, standardized ([IC]'s one
    training example)."""
    return standardize(load_sample("mnist")[0][index:][:1])


class OneDigitSetup(NamedTuple):
    """What a one-image [IC] experiment trains on and shows.

    Attributes:
      x_hat: ``(1, 1, 28, 28)``, the training image.
      inputs: :func:`display_inputs`, the test columns of the prediction figures by name.
      batch: ``(1 + len(inputs), 1, 28, 28)``: ``x_hat`` then the inputs, a figure's first row.
    """

    x_hat: np.ndarray
    inputs: dict[str, np.ndarray]
    batch: np.ndarray


def one_digit_data(paper: bool, rhos: Sequence[float], **extra) -> dict:
    """The data block of a one-image experiment's config: training image ``train_index`` 0
    (:func:`training_digit`), test inputs at correlations ``rhos`` (§3.2; the grid is
    unstated), 16 per ρ for the paper preset and 4 for the quick one, uncentred orthogonal
    parts (``centred``, see :func:`inputs_at_correlation`), plus the ``extra`` entries."""
    return {"train_index": 0, "rhos": tuple(rhos), "inputs_per_rho": 16 if paper else 4,
            "centred": True, **extra}  # fmt: skip


def one_digit_setup(train_index: int, key) -> OneDigitSetup:
    """The training image :func:`training_digit` ``(train_index)`` and the
    :func:`display_inputs` drawn with ``key``, stacked as a figure's first row."""
    x_hat = training_digit(train_index)
    inputs = display_inputs(key)
    return OneDigitSetup(x_hat, inputs, np.stack([x_hat[0], *inputs.values()]))


def mnist_test_digits(mnist_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images (n, 1, 28, 28) standardised, labels (n,))``: MNIST test digits 1, 2, … (image 0
    is the training '7'), from the 10k test set in ``mnist_dir`` (the IDX files) when it holds
    them, else from the shipped 200-image sample. The training set is not shipped; the test set
    stands in for it (Fig 5's reference set, Figs 1/40's training set)."""
    images, labels, _ = mnist_test_set(mnist_dir)
    return standardize(images[1:]), np.asarray(labels[1:])


def _rows(images) -> np.ndarray:
    images = np.asarray(images, np.float64)
    return images.reshape(len(images), -1)


def inputs_at_correlation(key, x_hat, rho: float, n: int, centred: bool = False) -> np.ndarray:
    """``n`` test images whose correlation to ``x_hat`` is exactly ``rho`` ([IC] §3.2).

    §3.2's recipe: a random image r, plus αx̂ with α chosen for correlation ρ, rescaled to
    ‖x̂‖. Written in closed form: ``x = ‖x̂‖ (ρ u + √(1−ρ²) v)`` with ``u = x̂/‖x̂‖`` and ``v``
    the unit part of r orthogonal to u, so ρ = 0 is exactly orthogonal to x̂. With
    ``centred=True`` the correlation is Pearson's: u is the centred x̂ and v is also made
    orthogonal to the constant image, so every input has mean 0 (the paper does not say which
    correlation it means). r has i.i.d. standard normal pixels (the pixel law is unstated).

    Args:
      key: PRNG key for the random images.
      x_hat: ``(C, H, W)`` training image.
      rho: target correlation in [0, 1].
      n: number of images.

    Returns:
      ``(n, C, H, W)`` float64 images with ``‖x‖ = ‖x̂‖``.
    """
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must lie in [0, 1], got {rho}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    x_hat = np.asarray(x_hat, np.float64)
    flat = x_hat.ravel()
    directions = [flat - flat.mean() if centred else flat]
    if centred:
        directions.append(np.ones_like(flat))
    basis, _ = np.linalg.qr(np.stack(directions, axis=1))  # orthonormal (d, 1 or 2)
    u = basis[:, 0] * np.sign(basis[:, 0] @ directions[0])
    r = np.asarray(jax.random.normal(key, (n, flat.size)), np.float64)
    v = r - (r @ basis) @ basis.T
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    x = np.linalg.norm(flat) * (rho * u + np.sqrt(1.0 - rho**2) * v)
    return x.reshape(n, *x_hat.shape)


def correlation(a, b, centred: bool = True) -> np.ndarray:
    """Correlation between corresponding images of ``a`` and ``b`` (``(n, ...)``, broadcasts).

    Pearson (``centred``) or uncentred (cosine), signed. An image with zero (centred) norm,
    such as the constant output of a dead ReLU net, has correlation 0 with anything: it
    carries no information about the other image, and 0 keeps heatmap means finite.
    """
    a, b = np.broadcast_arrays(_rows(a), _rows(b))
    if centred:
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    return np.where(norms > 0, np.sum(a * b, axis=1) / safe, 0.0)


class IdentityScores(NamedTuple):
    """Closeness of predictions to the two reference maps of [IC] (per image, or means).

    Exact identity: ``corr_id = 1, corr_const = ρ``; exact constant map: ``corr_const = 1,
    corr_id = ρ``. MSEs are means over pixels (App J).
    """

    corr_id: np.ndarray
    corr_const: np.ndarray
    mse_id: np.ndarray
    mse_const: np.ndarray


def identity_scores(outputs, inputs, x_hat, centred: bool = True) -> IdentityScores:
    """Scores of ``outputs = f(inputs)`` (both ``(n, C, H, W)``) against x and against x̂."""
    outputs, inputs = _rows(outputs), _rows(inputs)
    if outputs.shape != inputs.shape:
        raise ValueError(f"outputs {outputs.shape} and inputs {inputs.shape} must match")
    target = _rows(np.asarray(x_hat)[None])
    if target.shape[1] != outputs.shape[1]:
        raise ValueError(f"x_hat has {target.shape[1]} pixels, the outputs {outputs.shape[1]}")
    if not np.all(np.isfinite(outputs)):
        raise FloatingPointError("the network's outputs contain NaN or inf")
    return IdentityScores(
        corr_id=correlation(outputs, inputs, centred),
        corr_const=correlation(outputs, target, centred),
        mse_id=np.mean((outputs - inputs) ** 2, axis=1),
        mse_const=np.mean((outputs - target) ** 2, axis=1),
    )


def laplacian_energy_ratio(outputs, inputs) -> np.ndarray:
    """``‖∇²f(x)‖ / ‖∇²x‖`` per image: how much fine detail survives (< 1: blurred).

    [IC] Figs 9, 25–26 show predictions blurring as the filter grows, and say correlation
    measures blur poorly; this is a blur measure. ∇² is the 5-point Laplacian on the interior
    pixels of each channel.
    """

    def laplacian(images):
        images = np.asarray(images, np.float64)
        core = images[..., 1:-1, 1:-1]
        return (images[..., :-2, 1:-1] + images[..., 2:, 1:-1] + images[..., 1:-1, :-2]
                + images[..., 1:-1, 2:] - 4 * core)  # fmt: skip

    out, inp = _rows(laplacian(outputs)), _rows(laplacian(inputs))
    return np.linalg.norm(out, axis=1) / np.linalg.norm(inp, axis=1)


def rho_sweep(
    model, params, x_hat, key, rhos: Sequence[float], n_per_rho: int, centred: bool = True
) -> IdentityScores:
    """One row of [IC] Fig 4/14's heatmaps: mean scores over ``n_per_rho`` inputs per ρ.

    The inputs at ρ use ``jax.random.fold_in(key, i)`` for the i-th ρ, so every network of a
    sweep (every row of the heatmap) sees the same test images.

    Returns:
      :class:`IdentityScores` of ``(len(rhos),)`` means.
    """
    rows = []
    for i, rho in enumerate(rhos):
        x = inputs_at_correlation(jax.random.fold_in(key, i), x_hat, rho, n_per_rho, centred)
        y = probes.apply_batch(model, params, x.astype(np.asarray(x_hat).dtype))
        rows.append([np.mean(s) for s in identity_scores(y, x, x_hat, centred)])
    return IdentityScores(*np.asarray(rows).T)


def patterns(key, size: int, channels: int = 1) -> dict[str, np.ndarray]:
    """The non-digit test inputs, drawn at any size, values in [0, 1] ([IC] Figs 2–7).

    The paper shows "algorithmically generated" patterns without a list; this fixed set
    stands in: a checkerboard and vertical stripes with period ≈ size/7 (4 px at 28), a
    centred square of half the side, a centred disc of radius size/3, uniform noise, and
    Gaussian noise N(0.5, 0.25²) clipped to [0, 1]. Each is ``(channels, size, size)``, the
    grayscale copied over channels (as App O does for CIFAR-10).
    """
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    half = max(1, round(size / 14))  # half a period
    r, c = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    quarter = size // 4
    # one draw for both noises (eager random calls each cost a compile): uniform = Φ(z)
    z = np.asarray(jax.random.normal(key, (2, size, size)), np.float64)
    images = {
        "checkerboard": ((r // half + c // half) % 2).astype(float),
        "stripes": ((c // half) % 2).astype(float),
        "square": ((abs(r - centre) < quarter) & (abs(c - centre) < quarter)).astype(float),
        "disc": (np.hypot(r - centre, c - centre) <= size / 3).astype(float),
        "uniform_noise": special.ndtr(z[0]),
        "gaussian_noise": np.clip(0.5 + 0.25 * z[1], 0.0, 1.0),
    }
    return {
        name: np.broadcast_to(image, (channels, size, size)).astype(np.float32)
        for name, image in images.items()
    }


def resize(images, size: int) -> np.ndarray:
    """``(n, C, H, W)`` images resized to ``size × size`` (bilinear, antialiased when
    shrinking); the paper's resizing method is unstated ([IC] Figs 6–8)."""
    images = jnp.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"resize expects (n, C, H, W) images, got shape {images.shape}")
    shape = (*images.shape[:2], size, size)
    return np.asarray(jax.image.resize(images, shape, "linear", antialias=True))


def display_inputs(key, size: int = 28, digits: int = 3) -> dict[str, np.ndarray]:
    """The columns of [IC]'s prediction figures (Figs 2, 3, 13, 41): the shipped sample's MNIST
    test digits 1…``digits`` (image 0 is the training '7'), a blend of two of them, two
    Fashion-MNIST items and the :func:`patterns`, all standardised as MNIST and resized to
    ``size``. Each is ``(1, size, size)``."""
    mnist = standardize(load_sample("mnist")[0][1 : digits + 1])
    fashion = standardize(load_sample("fashion_mnist")[0][:2])
    inputs = {f"digit {i + 1}": image for i, image in enumerate(mnist)}
    inputs["blend"] = (mnist[0] + mnist[1]) / 2
    inputs.update({f"fashion {i}": image for i, image in enumerate(fashion)})
    for name, image in patterns(key, 28).items():
        inputs[name] = (image - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)
    if size != 28:
        stacked = resize(np.stack(list(inputs.values())), size)
        inputs = dict(zip(inputs, stacked, strict=True))
    return {name: np.asarray(image, np.float32) for name, image in inputs.items()}
