"""The 2-layer ReLU autoencoders of [MO2]'s theory: Thm 3's random features, Thm 7's construction.

**Thm 3 (App C).** ``f(z) = W1 φ(W2 z)`` with ``W2 ∈ R^{k×d}`` drawn once and frozen,
``W1 ∈ R^{d×k}`` trained by gradient descent from zero on ``½ Σ‖x_i − f(x_i)‖²``. Only ``W1``
learns, so the problem is linear least squares in ``W1`` with features ``Φ = φ(W2 X)``, and GD
from zero converges to the minimum-norm solution ``W1 = X Φ⁺`` ([MO2] App A), which
:func:`fit_readout` computes directly.

The net is bias-free and positively homogeneous, so ``J_f(x_i) x_i = f(x_i) = x_i`` once it
fits: the Jacobian at every training point has the eigenvalue 1 at every width ``k``, and
Thm 3's "top eigenvalue < 1" cannot hold literally (``shared/claims/MO2.md``, MO2-T3).

**Thms 6/7 (App I.1).** :func:`contractive_interpolant` builds, coordinate by coordinate, a
piecewise-linear map that equals ``v + c(x − v)`` in a window of radius ``r`` around every
training value ``v`` and has slope 1 far from them, and writes it as the weights of a 2-layer
ReLU :class:`~memjax.models.fc.MLPAutoencoder`: reconstruction error below ``(1 − c) r`` per
coordinate everywhere, yet every training example is a fixed point with Jacobian ``c·I``, an
attractor (a superattractor at ``c = 0``): memorization without overfitting.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from memjax.models.fc import MLPAutoencoder


class RandomFeatureAutoencoder(nn.Module):
    """``x ↦ W1 relu(W2 x)`` on the flattened example ([MO2] Thm 3).

    Attributes:
      width: ``k``, the hidden width.

    Parameters: ``features`` ``W2`` of shape ``(k, d)``, i.i.d. ``N(0, 1/d)`` (Thm 3 (c): mean
    zero, finite second moment), meant to stay frozen; ``readout`` ``W1`` of shape ``(d, k)``,
    zero at initialization as in Thm 3 (a).
    """

    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.width < 1:
            raise ValueError(f"width must be positive, got {self.width}")
        z = jnp.ravel(x)
        d = z.shape[0]
        std = 1.0 / math.sqrt(d)
        w2 = self.param(
            "features", lambda key, shape, dtype: std * jax.random.normal(key, shape, dtype),
            (self.width, d), z.dtype,
        )  # fmt: skip
        w1 = self.param("readout", nn.initializers.zeros, (d, self.width), z.dtype)
        return (w1 @ nn.relu(w2 @ z)).reshape(x.shape)


def fit_readout(params: dict, train: jax.Array) -> dict:
    """``params`` with ``readout`` set to the minimum-norm fit ``W1 = X Φ⁺`` (``Φ = relu(W2 X)``).

    This is where gradient descent on ``W1`` alone from ``W1 = 0`` converges ([MO2] App A and
    App C), computed by least squares in the parameters' dtype with true-float32 matmuls where
    float32 (pass float64 data under ``jax.enable_x64`` for theory checks).

    Args:
      params: parameters of a :class:`RandomFeatureAutoencoder` (``{"params": {...}}``).
      train: ``(n, *example_shape)`` training examples.

    Returns:
      new parameters; ``features`` unchanged.

    Raises:
      ValueError: the features of the examples are rank deficient (then no exact fit exists
        in general: width ``k`` must be at least ``n``).
    """
    inner = params["params"]
    w2 = inner["features"]
    x = jnp.asarray(train, w2.dtype).reshape(len(train), -1)  # (n, d)
    if x.shape[1] != w2.shape[1]:
        raise ValueError(f"train examples have {x.shape[1]} entries, the net expects {w2.shape[1]}")
    with jax.default_matmul_precision("highest"):
        phi = nn.relu(x @ w2.T)  # (n, k): Φᵀ
        rank = jnp.linalg.matrix_rank(phi)
        if int(rank) < len(x):
            raise ValueError(
                f"the {len(x)} examples' features have rank {int(rank)} at width {w2.shape[0]}; "
                "an exact fit needs width ≥ n and independent features"
            )
        # Φᵀ W1ᵀ = Xᵀ is underdetermined (k ≥ n); lstsq returns its minimum-norm solution.
        w1_t = jnp.linalg.lstsq(phi, x)[0]  # (k, d)
    return {"params": {**inner, "readout": w1_t.T}}


def _coordinate_pieces(values: np.ndarray, radius: float, slope: float):
    """Breakpoints ``(2m,)`` and the slope change at each of one coordinate's map (App I.1).

    Segments, left to right: slope 1 up to ``v_1 − r``; ``c`` on each window ``[v_k ± r]``;
    between windows the chord from ``(v_k + r, v_k + c r)`` to ``(v_{k+1} − r, v_{k+1} − c r)``;
    slope 1 after ``v_m + r``.
    """
    gaps = np.diff(values)
    between = (gaps - 2 * slope * radius) / (gaps - 2 * radius)
    slopes = np.concatenate(
        [[1.0], np.stack([np.full_like(values, slope), np.append(between, 1.0)], 1).ravel()]
    )
    breaks = np.stack([values - radius, values + radius], 1).ravel()
    return breaks, np.diff(slopes)


def contractive_interpolant(train, radius: float, slope: float = 0.5):
    """[MO2] Thm 7's construction: a 2-layer ReLU autoencoder with error ``< (1 − c) r`` per
    coordinate whose training examples are attractors with Jacobian ``c·I``.

    Coordinate ``j`` with distinct training values ``v_1 < … < v_m`` gets ``2m`` ReLU units
    ``relu(x_j − b)`` at the window edges ``b = v_k ± r`` (weighted by the slope change there)
    and two units ``relu(±(x_j − a))`` for the slope-1 part, so the hidden width is
    ``Σ_j (2 m_j + 2) ≤ d(2n + 2)`` (App I.1: ``O(nd)``; Arora et al. 2018, Thm 2.2). Every
    vector whose coordinates are training values of that coordinate is a fixed point with the
    same Jacobian, so the construction also has spurious attractors (mixtures of examples).

    Args:
      train: ``(n, *example_shape)`` training examples.
      radius: ``r``, the window radius; must be below half the smallest gap between distinct
        values of any coordinate, so windows do not overlap.
      slope: ``c ∈ [0, 1)``, the slope at the training values (0: superattractors).

    Returns:
      ``(model, params)``: an ``MLPAutoencoder(hidden=(H,), activation="relu")`` and its
      parameters, in the dtype of ``train`` (built in float64).
    """
    if not 0 <= slope < 1:
        raise ValueError(f"slope must be in [0, 1), got {slope}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    train = np.asarray(train)
    x = train.reshape(len(train), -1).astype(np.float64)
    d = x.shape[1]
    columns = [np.unique(x[:, j]) for j in range(d)]
    half_gap = min((np.diff(v).min() / 2 for v in columns if len(v) > 1), default=np.inf)
    if not radius < half_gap:
        raise ValueError(
            f"radius must be below half the smallest value gap, {half_gap:.3g}; got {radius}"
        )
    width = sum(2 * len(v) + 2 for v in columns)
    w_in, b_in = np.zeros((d, width)), np.zeros(width)
    # (1 − c) r: the leftmost slope-1 line meets the first window at (v_1 − r, v_1 − c r).
    w_out, b_out = np.zeros((width, d)), np.full(d, (1 - slope) * radius)
    unit = 0
    for j, values in enumerate(columns):
        breaks, changes = _coordinate_pieces(values, radius, slope)
        units = slice(unit, unit + len(breaks) + 2)
        w_in[j, units] = np.concatenate([np.ones(len(breaks) + 1), [-1.0]])
        # x = a + relu(x − a) − relu(a − x) carries the slope-1 part. Its kink a sits left of
        # every window, so autodiff sees slope c at the training values (relu'(0) = 0 would
        # give a wrong Jacobian at a training value a = 0, e.g. black pixels).
        kink = values[0] - 2 * radius
        b_in[units] = np.concatenate([-breaks, [-kink, kink]])
        w_out[units, j] = np.concatenate([changes, [1.0, -1.0]])
        b_out[j] += kink
        unit += len(breaks) + 2
    dtype = train.dtype
    params = {
        "params": {
            "dense0": {"kernel": jnp.asarray(w_in, dtype), "bias": jnp.asarray(b_in, dtype)},
            "dense1": {"kernel": jnp.asarray(w_out, dtype), "bias": jnp.asarray(b_out, dtype)},
        }
    }
    return MLPAutoencoder(hidden=(width,), activation="relu"), params
