"""Closed forms of [IC]: Lemmas 1–2, Theorem 2's one-layer CNN, Table 1's weight counts.

Theorem 1 (a one-layer linear FCN trained on x̂ from W⁰ converges to ``Π∥ + W⁰Π⊥``) is
``memjax.theory.gd_limit_from_init(W0, x_hat[None])``: the same limit as [MO1]'s nonzero
initialisation. Everything here is float64 NumPy.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from memjax.theory import conv_stack_parameters


def least_squares_gd_limit(w0, x, y) -> np.ndarray:
    """Where gradient descent on ``½‖XW − Y‖²`` from ``W⁰`` converges: ``W⁰ + X⁺(Y − XW⁰)``.

    Every gradient ``Xᵀ(XW − Y)`` lies in the row space of X, so W moves only there and stops
    at the solution nearest W⁰. With rank X = N (Lemma 1, N ≤ D) ``X⁺ = Xᵀ(XXᵀ)⁻¹``; with
    rank X = D (Lemma 2) the limit is ``(XᵀX)⁻¹XᵀY`` whatever W⁰; the pseudo-inverse covers
    both and rank-deficient X (Thm 2's patch matrices).

    Args:
      w0: ``(D, d)`` initial weights (``f(x) = Wᵀx``).
      x: ``(N, D)`` inputs, one per row.
      y: ``(N, d)`` targets.
    """
    w0, x, y = (np.asarray(a, np.float64) for a in (w0, x, y))
    if x.ndim != 2 or w0.shape != (x.shape[1], y.shape[1]) or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"need X (N, D), Y (N, d), W0 (D, d); got {x.shape}, {y.shape}, {w0.shape}"
        )
    return w0 + np.linalg.pinv(x) @ (y - x @ w0)


def patch_matrix(image, kernel: int) -> np.ndarray:
    """The ``(H·W, K·K·C)`` matrix X of Thm 2: row ``i·W + j`` is the zero-padded K × K patch
    centred at pixel (i, j) of a ``(C, H, W)`` image.

    Entries are ordered (kh, kw, c), as a Flax HWIO kernel ``(K, K, C, C_out)`` flattens, so a
    stride-1 convolution with padding (K−1)/2 is ``X @ kernel.reshape(K·K·C, C_out)``.
    """
    image = np.asarray(image, np.float64)
    if image.ndim != 3 or kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"need a (C, H, W) image and an odd kernel, got {image.shape}, {kernel}")
    c, h, w = image.shape
    pad = kernel // 2
    padded = np.pad(image.transpose(1, 2, 0), ((pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(0, 1))
    # windows: (H, W, C, K, K) → rows (H·W), columns (K, K, C)
    return windows.transpose(0, 1, 3, 4, 2).reshape(h * w, kernel * kernel * c)


def centre_tap(channels: int, kernel: int) -> np.ndarray:
    """Λ of Thm 2's proof, ``(K·K·C, C)``: picks each channel's centre pixel, so ``XΛ = Y``
    for the identity map (App B.3's identity construction, flattened)."""
    taps = np.zeros((kernel, kernel, channels, channels))
    taps[kernel // 2, kernel // 2] = np.eye(channels)
    return taps.reshape(-1, channels)


def patch_rank(image, kernel: int, tol: float = 1e-10) -> int:
    """r of Thm 2: the rank of the span of the image's patches (singular values above ``tol``
    times the largest)."""
    s = np.linalg.svd(patch_matrix(image, kernel), compute_uv=False)
    return int(np.sum(s > tol * s[0])) if s.size and s[0] > 0 else 0


def theorem2_pixel_errors(w0, x_hat, x) -> np.ndarray:
    """Thm 2's exact per-pixel squared error of the trained one-layer CNN on a test image.

    GD from ``W⁰`` converges to ``Ŵ = W⁰ + X⁺(Y − XW⁰)``; with ``XΛ = Y`` the prediction error
    at pixel (i, j) is ``‖(W⁰ − Λ)ᵀ Π⊥ P_ij(x)‖²``, Π⊥ the projection off the patch span.

    Args:
      w0: ``(K, K, C, C)`` initial kernel (HWIO).
      x_hat: ``(C, H, W)`` training image; x: ``(C, H', W')`` test image (any size).

    Returns:
      ``(H', W')`` squared errors summed over channels; their mean over pixels divided by C
      is the per-pixel MSE the theorem bounds.
    """
    w0 = np.asarray(w0, np.float64)
    kernel, channels = w0.shape[0], w0.shape[2]
    _, singular, vt = np.linalg.svd(patch_matrix(x_hat, kernel), full_matrices=False)
    row_space = vt[singular > 1e-10 * singular[0]].T  # (K·K·C, r), as patch_rank
    test = patch_matrix(x, kernel)
    residual = test - (test @ row_space) @ row_space.T  # rows Π⊥ P_ij(x)
    delta = w0.reshape(-1, channels) - centre_tap(channels, kernel)
    errors = np.sum((residual @ delta) ** 2, axis=1)
    return errors.reshape(np.shape(x)[1:])


def theorem2_bound(
    nullity: int,
    channels: int,
    kernel: int,
    sigma: float,
    pixel_bound: float,
    delta: float = 0.05,
    m_const: float = 2.0,
) -> float:
    """Thm 2's high-probability bound on the per-pixel MSE (eqs 8–12, App D):

    ``((√(nσ²(2 log(n/δ) + C(1 + log M))) + √(nC)) · B√(K²C))² / C``,

    n the nullity ``K²C − r``, σ the init scale, B a bound on |test pixels|; it holds with
    probability ≥ 1 − δ over the initialisation (M > 1 fixed a priori). 0 when n = 0.
    """
    if nullity < 0 or channels < 1 or kernel < 1 or sigma < 0 or pixel_bound < 0:
        raise ValueError("need nullity ≥ 0, channels ≥ 1, kernel ≥ 1, sigma ≥ 0, pixel_bound ≥ 0")
    if not 0 < delta < 1 or m_const <= 1:
        raise ValueError(f"need 0 < delta < 1 and m_const > 1, got {delta}, {m_const}")
    if nullity == 0:
        return 0.0
    n, c = nullity, channels
    init_term = math.sqrt(n * sigma**2 * (2 * math.log(n / delta) + c * (1 + math.log(m_const))))
    return ((init_term + math.sqrt(n * c)) * pixel_bound * math.sqrt(kernel**2 * c)) ** 2 / c


def fcn_weight_count(num_layers: int, hidden: int, d: int = 784) -> int:
    """Weights (no biases) of an FCN ``d → hidden → … → d`` with ``num_layers`` weight layers
    (Table 1 / App M: ``2·d·h + (L−2)h²``, ``d²`` for one layer)."""
    if num_layers < 1 or hidden < 1 or d < 1:
        raise ValueError(f"need positive num_layers, hidden, d; got {num_layers}, {hidden}, {d}")
    if num_layers == 1:
        return d * d
    return 2 * d * hidden + (num_layers - 2) * hidden * hidden


def cnn_weight_count(num_layers: int, channels: int, kernel: int, image_channels: int = 1) -> int:
    """Weights of [IC]'s CNN (Table 1: ``K²(2C + (L−2)C²)``, ``K²`` for one layer)."""
    return conv_stack_parameters(num_layers, channels, image_channels, kernel)


def weight_count(params) -> int:
    """Weights of a model's parameters: every leaf named ``kernel`` (biases excluded, as in
    Table 1). Works on ``jax.eval_shape`` outputs, so 500M-weight nets need no memory."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return sum(
        math.prod(leaf.shape) for path, leaf in leaves if getattr(path[-1], "key", None) == "kernel"
    )
