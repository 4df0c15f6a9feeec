"""Model-RIP ([INV] eq. 1, Thm 3.1, Cor 3.2), coherence (Table 3) and the bound of Thm 3.3.

RIP constants are stated on squared norms, ``(1 − δ)‖z‖² ≤ ‖Φz‖² ≤ (1 + δ)‖z‖²``, while the
figures plot ratios ``r = ‖Φz‖/‖z‖``; here ``Φ = Wᵀ``. Exact constants come from enumerating
supports (toy sizes, float64); at paper sizes only sampled lower bounds ``max |r² − 1|`` exist.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from memjax.invertibility.conv import ConvOperator
from memjax.invertibility.sparsity import sample_model_sparse, sparsify, to_regions


def _ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    return jnp.linalg.norm(num.ravel()) / jnp.linalg.norm(den.ravel())


def rip_ratios(op: ConvOperator, z: jax.Array, k: int, window) -> dict[str, jax.Array]:
    """The norm ratios of Fig 2(a)–(b) for one model-k-sparse code ``z`` ``(K, *n)``.

    Returns scalars:
      ``code``: ``‖Wᵀz‖/‖z‖`` (model-RIP, panel a);
      ``gram``: ``‖WWᵀz‖/‖z‖`` as panel (b)'s caption writes it; ``WWᵀz`` spreads over
      every shift, so this is roughly ``√(1 + Kn/MD)``, not 1;
      ``gram_sparsified``: ``‖M(WWᵀz, k)‖/‖z‖``, the code a conv + pool layer reads back;
      ``gram_on_support``: ``‖(WWᵀz)_S‖/‖z‖`` on the true support ``S`` (the reading of
      Lemma B.1: within ``[1 − δ_k, 1 + δ_k]``).
    """
    x = op.adjoint(z)
    read_back = op.forward(x)
    return {
        "code": _ratio(x, z),
        "gram": _ratio(read_back, z),
        "gram_sparsified": _ratio(sparsify(read_back, k, window), z),
        "gram_on_support": _ratio(jnp.where(z != 0, read_back, 0), z),
    }


def delta_lower_bound(ratios: jax.Array) -> jax.Array:
    """``max |r² − 1|`` over sampled ratios: a lower bound of the RIP constant, never ``δ``."""
    return jnp.max(jnp.abs(jnp.square(ratios) - 1))


@functools.partial(jax.jit, static_argnames=("window", "k", "draws", "batch"))
def sampled_code_ratios(
    op: ConvOperator,
    key: jax.Array,
    window: tuple[int, ...],
    k: int,
    draws: int,
    batch: int | None = None,
) -> jax.Array:
    """``‖Wᵀz‖/‖z‖`` for ``draws`` model-k-sparse codes ``z`` (Fig 2a, Fig 3a), one program.

    Codes come from ``sample_model_sparse`` with the keys ``jax.random.split(key, draws)``.
    Memory: ``draws`` codes and signals at once, or ``batch`` of them (``lax.map`` over
    batches; the same codes either way).
    """

    def ratio(key):
        z = sample_model_sparse(key, op.code_shape, window, k)
        return jnp.linalg.norm(op.adjoint(z)) / jnp.linalg.norm(z)

    keys = jax.random.split(key, draws)
    if batch is None:
        return jax.vmap(ratio)(keys)
    return lax.map(ratio, keys, batch_size=batch)


def ratio_summary(ratios) -> dict[str, float]:
    """Median, p5, p95, the half-width ``(p95 − p5)/2`` (``spread``) and ``delta_lower_bound``.

    The statistics Fig 3 reads off its histograms of ``‖Wᵀz‖/‖z‖``; plain floats.
    """
    ratios = np.asarray(ratios)
    p5, p95 = np.percentile(ratios, 5), np.percentile(ratios, 95)
    return {"median": float(np.median(ratios)), "p5": float(p5), "p95": float(p95),
            "spread": float((p95 - p5) / 2),
            "sampled δ̂": float(delta_lower_bound(ratios))}  # fmt: skip


def support_deltas(phi: np.ndarray, supports: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``δ_S = max(λ_max − 1, 1 − λ_min)`` of ``Φ_SᵀΦ_S`` for each support, in float64.

    Args:
      phi: ``(p, q)`` matrix whose columns the supports index (``Φ = Wᵀ = op.matrix().T``).
      supports: ``(n_supports, s)`` column indices (``model_supports``, ``pair_supports``).

    Memory: the ``q × q`` Gram matrix plus ``chunk·s²`` floats.
    """
    phi = np.asarray(phi, np.float64)
    supports = np.asarray(supports)
    if supports.ndim != 2 or supports.max(initial=0) >= phi.shape[1]:
        raise ValueError(f"supports must be (n, s) column indices of phi {phi.shape}")
    gram = phi.T @ phi
    out = np.empty(len(supports))
    for start in range(0, len(supports), chunk):
        s = supports[start : start + chunk]
        eig = np.linalg.eigvalsh(gram[s[:, :, None], s[:, None, :]])
        out[start : start + chunk] = np.maximum(eig[:, -1] - 1, 1 - eig[:, 0])
    return out


def exact_delta(phi: np.ndarray, supports: np.ndarray) -> float:
    """The RIP constant of ``Φ`` over the union of the given supports (eq. 1), exactly."""
    return float(support_deltas(phi, supports).max())


def coherence(filters: jax.Array, max_shift: int = 0) -> jax.Array:
    """Mutual coherence ``μ = max_{i≠j} |⟨W_i, W_j⟩|`` of normalised rows (Table 3, fn 8).

    Args:
      filters: ``(K, M, *window)``; each filter is normalised first.
      max_shift: ``0`` compares filters at the same position (the reading that matches
        Table 3's random row); ``s > 0`` also compares every relative shift up to ``s`` per
        axis (rows of ``W`` at nearby positions), leaving out a filter against itself unshifted.
    """
    flat = filters.reshape(filters.shape[0], -1)
    if max_shift == 0:  # a Gram matrix: cheaper to compile than the correlation below
        unit_rows = flat / jnp.linalg.norm(flat, axis=1, keepdims=True)
        gram = jnp.abs(jnp.matmul(unit_rows, unit_rows.T, precision=lax.Precision.HIGHEST))
        return jnp.max(jnp.where(jnp.eye(len(flat), dtype=bool), 0.0, gram))
    unit = filters / jnp.linalg.norm(flat, axis=1).reshape((-1,) + (1,) * (filters.ndim - 1))
    nd = filters.ndim - 2
    # cross-correlation of every pair of filters, summed over channels: (K, K, *(2s+1))
    corr = lax.conv_general_dilated(
        unit,
        unit,
        window_strides=(1,) * nd,
        padding=[(max_shift, max_shift)] * nd,
        precision=lax.Precision.HIGHEST,
    )
    centre = (slice(None), slice(None)) + (max_shift,) * nd
    self_match = jnp.zeros(corr.shape, bool).at[centre].set(jnp.eye(len(unit), dtype=bool))
    return jnp.max(jnp.where(self_match, 0.0, jnp.abs(corr)))


def one_layer_bound(delta_k, delta_2k) -> tuple[float, float]:
    """Thm 3.3 in the derived one-step IHT form (claims file INV-T3; the text is garbled).

    For ``z ∈ M_k``, ``x = Wᵀz`` and ``ẑ = M(Wx, k)`` with switches at M's argmax:
    ``‖ẑ − z‖ ≤ 2δ_2k‖z‖`` and ``‖x̂ − x‖/‖x‖ ≤ 2δ_2k·√((1 + δ_2k)/(1 − δ_k))``.

    Returns:
      ``(code_bound, signal_bound)``.
    """
    if not 0 <= delta_k <= delta_2k < 1:
        raise ValueError(f"need 0 ≤ δ_k ≤ δ_2k < 1, got δ_k={delta_k}, δ_2k={delta_2k}")
    code = 2 * delta_2k
    return code, code * float(np.sqrt((1 + delta_2k) / (1 - delta_k)))


def region_recall(z: jax.Array, z_hat: jax.Array, window) -> jax.Array:
    """Fraction of ``z``'s active regions that ``ẑ`` also activates (support recovery)."""
    true = jnp.any(to_regions(z, window) != 0, axis=1)
    found = jnp.any(to_regions(z_hat, window) != 0, axis=1)
    return jnp.sum(true & found) / jnp.maximum(jnp.sum(true), 1)
