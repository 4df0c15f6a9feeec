"""Closed forms of [MO1]/[MO2]: what gradient descent learns, and what convolutions forbid.

Conventions: a training set ``X`` is ``(n, d)`` (one flattened example per row); operators are
``d × d`` acting on column vectors, as ``memjax.operator`` returns them. All in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from memjax.spectral import span_basis


def _as_rows(data) -> np.ndarray:
    data = np.asarray(data, np.float64)
    return data.reshape(len(data), -1)


def mse_learning_rate_scale(n: int, d: int) -> float:
    """γ per unit learning rate for memjax's mean-squared loss.

    [MO1] App A writes GD on ``L = ½ Σ ‖A x − x‖²``; ``memjax.train.mse`` averages over the
    ``n·d`` entries without the ½, so a learning rate ``lr`` there is ``γ = 2·lr/(n·d)`` here.
    """
    return 2.0 / (n * d)


def linear_gd_operator(data, gamma: float, steps: int, init=None) -> np.ndarray:
    """``A_t`` of gradient descent on ``½ Σ ‖A x_i − x_i‖²`` from ``A_0`` ([MO1] App A).

    ``A_{t+1} − I = (A_t − I)(I − γS)`` with ``S = Σ x_i x_iᵀ``, so
    ``A_t = I − (I − A_0)(I − γS)^t``; from ``A_0 = 0`` this is ``I − (I − γS)^t``.
    """
    x = _as_rows(data)
    d = x.shape[1]
    a0 = np.zeros((d, d)) if init is None else np.asarray(init, np.float64)
    contraction = np.linalg.matrix_power(np.eye(d) - gamma * x.T @ x, steps)
    return np.eye(d) - (np.eye(d) - a0) @ contraction


def min_norm_solution(data) -> np.ndarray:
    """The limit of zero-initialised GD ([MO1] Thm 1): the projection onto ``span(X)``."""
    q = span_basis(_as_rows(data))
    return q @ q.T


def gd_limit_from_init(init, data) -> np.ndarray:
    """The limit of GD from ``A_0``: ``A_∞ = A_0 (I − P) + P`` with ``P`` the projection.

    Training only moves ``A`` on ``span(X)``; whatever ``A_0`` does off the span stays, which
    is why [MO1] §6 asks for an initialization close to zero.
    """
    p = min_norm_solution(data)
    a0 = np.asarray(init, np.float64)
    return a0 @ (np.eye(len(p)) - p) + p


def weyl_bound_gap(init, data) -> float:
    """``max_i σ_i(A_∞) − σ_i(P) − σ_max(A_0)`` for the GD limit from ``init`` ([MO2] App I.2).

    The bound says every singular value of the trained solution exceeds the min-norm one by at
    most ``σ_max`` of the initialization, so the gap is ``≤ 0`` (up to round-off).
    """
    trained = np.linalg.svd(gd_limit_from_init(init, data), compute_uv=False)
    minimum_norm = np.linalg.svd(min_norm_solution(data), compute_uv=False)
    sigma_init = np.linalg.svd(np.asarray(init, np.float64), compute_uv=False)[0]
    return float(np.max(trained - minimum_norm - sigma_init))


# --- Nonlinear single layer φ(Ax) ([MO1] §2.2, Thm 2 and Corollary) ---------------------------

# NumPy rather than memjax.models' JAX activations: the closed forms stay float64 whether or
# not jax_enable_x64 is set (JAX would round float64 inputs to float32 without it).
INVERSES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda y: np.log(y) - np.log1p(-y),
    "tanh": np.arctanh,
    "linear": lambda y: y,
}
FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "tanh": np.tanh,
    "linear": lambda v: v,
}


def _inverse(activation: str):
    if activation not in INVERSES:
        raise ValueError(f"no inverse for activation {activation!r}; choose {', '.join(INVERSES)}")
    return INVERSES[activation]


def nonlinear_min_norm_solution(data, activation: str) -> np.ndarray:
    """The ``A`` of [MO1] Thm 2: the min-norm solution of ``A x_i = φ⁻¹(x_i)`` for all i.

    Row by row, zero-initialised GD on that linear system converges to ``φ⁻¹(X)ᵀ (Xᵀ)⁺``.
    """
    x = _as_rows(data)
    targets = _inverse(activation)(x)
    return targets.T @ np.linalg.pinv(x.T)


def satisfies_assumption_1(data, activation: str) -> bool:
    """[MO1] Assumption 1 (a)–(b): entries in (0, 1), all on one side of ``φ(0)``."""
    x = _as_rows(data)
    phi0 = float(FORWARD[activation](np.zeros(1))[0])
    return bool(np.all((x > 0) & (x < 1)) and (np.all(x < phi0) or np.all(x > phi0)))


def phi_eigenvalue(matrix, u, activation: str) -> tuple[float, float]:
    """``(λ, residual)`` of the best fit ``φ(A u) ≈ λ u`` (Definition 1, φ-eigenvector).

    ``residual = ‖φ(Au) − λu‖ / ‖φ(Au)‖``; ``u`` is a φ-eigenvector when it is ≈ 0.
    """
    u = np.ravel(np.asarray(u, np.float64))
    image = FORWARD[activation](np.asarray(matrix, np.float64) @ u)
    lam = float(image @ u / (u @ u))
    return lam, float(np.linalg.norm(image - lam * u) / np.linalg.norm(image))


def distance_to_phi_span(vectors, data, activation: str) -> np.ndarray:
    """Relative distance of ``φ⁻¹(y)`` to ``span(φ⁻¹(X))`` for each row ``y`` (Definition 2).

    ``y ∈ φ-span(X)`` iff ``φ⁻¹(y) ∈ span(φ⁻¹(X))``, so 0 means inside the φ-span.
    """
    inverse = _inverse(activation)
    pre = inverse(_as_rows(vectors))
    q = span_basis(inverse(_as_rows(data)))
    residual = pre - (pre @ q) @ q.T
    return np.linalg.norm(residual, axis=1) / np.linalg.norm(pre, axis=1)


# --- Forced zeros of stride-1 convolutional stacks ([MO1] Thm 3–4, Lemma 1, Corollary) -------


def conv_support_pattern(size: int, depth: int, kernel: int = 3) -> np.ndarray:
    """Entries of the ``s² × s²`` operator that ``depth`` stride-1 convs can make non-zero.

    From the structure alone, whatever the weights or filter counts: one ``k × k`` conv with
    ``(k−1)/2`` zero padding connects pixels at Chebyshev distance ≤ ``(k−1)/2``, and a stack of
    ``depth`` of them connects pixels within ``depth·(k−1)/2`` (the straight path between two
    pixels stays inside the image). Every other entry is a forced zero. Pixels are row-major.
    """
    if size < 1 or depth < 1 or kernel < 1 or kernel % 2 == 0:
        raise ValueError(
            f"need size ≥ 1, depth ≥ 1 and an odd kernel; got {size}, {depth}, {kernel}"
        )
    rows, cols = np.divmod(np.arange(size * size), size)
    chebyshev = np.maximum(
        np.abs(rows[:, None] - rows[None, :]), np.abs(cols[:, None] - cols[None, :])
    )
    return chebyshev <= depth * (kernel - 1) // 2


def min_depth_without_forced_zeros(size: int, kernel: int = 3) -> int:
    """The smallest depth whose support pattern is full: ``s − 1`` for kernel 3 ([MO1] Thm 4)."""
    reach = (kernel - 1) // 2
    return max(1, math.ceil((size - 1) / reach))


def heuristic_depth(size: int, kernel: int = 3) -> int:
    """``⌈s⁴ / k²⌉``: single-filter layers needed for as many weights as a FC layer ([MO1] §3.2)."""
    return math.ceil(size**4 / kernel**2)


def conv_stack_parameters(convs: int, filters: int, channels: int = 1, kernel: int = 3) -> int:
    """Weights (no biases) of ``convs`` stride-1 convs: ``channels → filters → … → channels``."""
    if convs < 1:
        raise ValueError(f"convs must be positive, got {convs}")
    if convs == 1:
        return kernel**2 * channels * channels
    middle = (convs - 2) * filters * filters
    return kernel**2 * (2 * channels * filters + middle)
