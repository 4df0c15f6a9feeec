"""Model-k-sparse codes and the structured sparse approximation ``M(h, k)`` ([INV] §2.3, eq. 2).

A code ``z`` has the shape ``(K, *n)`` of a conv layer's output. Its entries are grouped into
pooling regions: in the theory a filter's whole block of ``n`` shifts (``window = (n,)``), in the
2-d experiments ``P × P`` patches of each channel. A code is model-k-sparse when at most one
entry per region is nonzero and ``k`` regions are active; ``M(h, k)`` is the nearest such code
to ``h``: max pooling by magnitude with switches, then the ``k`` strongest regions. Regions at
the border are partial when ``window`` does not divide ``n`` (ceil-mode pooling).
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

PLACEMENTS = ("switch", "corner")
VALUE_LAWS = ("symmetric", "positive")


def _check_window(code_shape, window) -> tuple[int, ...]:
    window = tuple(int(w) for w in window)
    if len(window) != len(code_shape) - 1 or min(window) < 1:
        raise ValueError(f"window must give one positive size per axis of n {code_shape[1:]}")
    return window


def _padded(code_shape, window) -> tuple[int, ...]:
    return tuple(-(-n // w) * w for n, w in zip(code_shape[1:], window, strict=True))


def to_regions(h: jax.Array, window) -> jax.Array:
    """``(K, *n) → (K·R, S)``: one row per pooling region of ``S = ∏ window`` entries.

    Regions run channel by channel in C order; partial border regions are zero-padded.
    """
    window = _check_window(h.shape, window)
    padded = _padded(h.shape, window)
    h = jnp.pad(h, [(0, 0)] + [(0, p - n) for p, n in zip(padded, h.shape[1:], strict=True)])
    split = [h.shape[0]]
    for p, w in zip(padded, window, strict=True):
        split += [p // w, w]
    nd = len(window)
    order = [0, *range(1, 2 * nd, 2), *range(2, 2 * nd + 1, 2)]
    return h.reshape(split).transpose(order).reshape(-1, math.prod(window))


def from_regions(blocks: jax.Array, code_shape, window) -> jax.Array:
    """The inverse of ``to_regions``: ``(K·R, S) → (K, *n)``, border padding dropped."""
    window = _check_window(code_shape, window)
    padded = _padded(code_shape, window)
    counts = [p // w for p, w in zip(padded, window, strict=True)]
    nd = len(window)
    h = blocks.reshape([code_shape[0], *counts, *window])
    order = [0] + [i for a in range(nd) for i in (1 + a, 1 + nd + a)]
    h = h.transpose(order).reshape([code_shape[0], *padded])
    return h[(slice(None), *(slice(0, n) for n in code_shape[1:]))]


def percent_positive(h) -> float:
    """% of entries of ``h`` above 0: the nonzeros of ``relu(h)`` (Table 2's sparsity)."""
    return 100 * float(np.mean(np.asarray(h) > 0))


def active_regions(h: jax.Array, window) -> tuple[int, int]:
    """``(k, R)``: a model sparsity ``k`` matching a batch of maps, and the regions per map.

    ``k`` is the mean number of regions (per map of ``(n, K, *spatial)`` maps) holding an
    entry above 0, i.e. the nonzeros of ``max_pool(relu(h))`` (at least 1); ``R`` counts the
    regions of one map, over all ``K`` channels. Table 4 reconstructs with ``M(·, k)`` at the
    density of the real ReLU + pool layer.
    """
    active = jax.vmap(lambda a: jnp.any(to_regions(a, window) > 0, axis=1))(jnp.asarray(h))
    regions = active.shape[1]
    return max(1, round(float(jnp.mean(active)) * regions)), regions


def region_index_table(code_shape, window) -> np.ndarray:
    """``(K·R, S)`` flat indices into ``z.ravel()`` per region; ``-1`` marks border padding."""
    index = jnp.arange(1, math.prod(code_shape) + 1).reshape(code_shape)
    return np.asarray(to_regions(index, window)) - 1


def sparsify(
    h: jax.Array,
    k: int | None,
    window,
    placement: str = "switch",
    absolute: bool = True,
    relu: bool = False,
) -> jax.Array:
    """``M(h, k)``: max-pool each region, keep the ``k`` strongest, upsample (eq. 2).

    Args:
      h: ``(K, *n)`` filter responses.
      k: regions kept (the model sparsity); ``None`` keeps every region (plain max pooling).
      window: pooling region per spatial axis; ``(n,)`` pools a filter's whole block (theory).
      placement: ``"switch"`` writes each pooled value back at its argmax, which makes the
        result the nearest point of ``M_k``; ``"corner"`` is the paper's naive unsampling (the
        first element of the region).
      absolute: pool by largest ``|h|`` (§2.2) or by largest signed value.
      relu: apply ReLU before pooling (§2.2's layer; §3.1 drops it).

    Returns:
      ``(K, *n)`` with at most one nonzero per region and at most ``k`` nonzero regions.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    if relu:
        h = jax.nn.relu(h)
    blocks = to_regions(h, window)
    valid = to_regions(jnp.ones(h.shape, bool), window)
    score = jnp.where(valid, jnp.abs(blocks) if absolute else blocks, -jnp.inf)
    argmax = jnp.argmax(score, axis=1)
    pooled = jnp.take_along_axis(blocks, argmax[:, None], axis=1)[:, 0]
    if k is not None:
        if not 0 < k <= len(blocks):
            raise ValueError(f"k must be in [1, {len(blocks)}] (the number of regions), got {k}")
        strength = jnp.abs(pooled) if absolute else pooled
        _, kept = jax.lax.top_k(strength, k)
        pooled = jnp.zeros_like(pooled).at[kept].set(pooled[kept])
    position = argmax if placement == "switch" else jnp.zeros_like(argmax)
    out = jnp.zeros_like(blocks).at[jnp.arange(len(blocks)), position].set(pooled)
    return from_regions(out, h.shape, window)


def sample_model_sparse(
    key: jax.Array,
    code_shape,
    window,
    k: int,
    values: str = "symmetric",
    corners: bool = False,
    dtype=jnp.float32,
) -> jax.Array:
    """A random model-k-sparse code ``(K, *n)`` ([INV] §4.2, Fig 3a).

    ``k`` regions uniformly without replacement, in each one position uniform over the region
    (or its first element if ``corners``), value ``U[−1, 1]`` (``values="symmetric"``) or
    ``U[0, 1]`` (``"positive"``). The key is split once per random choice.
    """
    if values not in VALUE_LAWS:
        raise ValueError(f"values must be one of {VALUE_LAWS}, got {values!r}")
    valid = to_regions(jnp.ones(code_shape, bool), window)
    num_regions = valid.shape[0]
    if not 0 < k <= num_regions:
        raise ValueError(f"k must be in [1, {num_regions}] (the number of regions), got {k}")
    k_regions, k_positions, k_values = jax.random.split(key, 3)
    regions = jax.random.choice(k_regions, num_regions, (k,), replace=False)
    # a uniform draw among the valid positions of each region: argmax of masked uniforms
    noise = jax.random.uniform(k_positions, valid.shape)
    position = jnp.argmax(jnp.where(valid, noise, -1.0), axis=1)[regions]
    if corners:
        position = jnp.zeros_like(position)
    low = -1.0 if values == "symmetric" else 0.0
    amplitude = jax.random.uniform(k_values, (k,), dtype, low, 1.0)
    blocks = jnp.zeros(valid.shape, dtype).at[regions, position].set(amplitude)
    return from_regions(blocks, code_shape, window)


def model_supports(code_shape, window, k: int) -> np.ndarray:
    """Every support of ``M_k``: ``(n_supports, k)`` flat indices, one entry in each of k regions.

    There are ``S^k·C(R_total, k)`` of them (``n^k·C(K, k)`` in the 1-d theory); only for toy
    sizes. Subsets of these supports need no listing: their RIP constants are no larger
    (eigenvalue interlacing).
    """
    table = region_index_table(code_shape, window)
    rows = []
    for regions in itertools.combinations(range(len(table)), k):
        options = [table[r][table[r] >= 0] for r in regions]
        rows.extend(itertools.product(*options))
    return np.asarray(rows, np.int64).reshape(-1, k)


def pair_supports(code_shape, window, k: int) -> np.ndarray:
    """The maximal supports of ``M_k^2`` (sums of two model-k-sparse codes): ``(n, 2k)``.

    At most two entries per region, ``2k`` in all: every such support splits into two
    model-k-sparse ones (a region with two entries gives one to each). 9,126 of them for
    K = 4 blocks of n = 6, k = 2.
    """
    table = region_index_table(code_shape, window)
    options = [row[row >= 0] for row in table]
    rows = []
    for doubled in range(k + 1):
        for regions in itertools.combinations(range(len(table)), 2 * k - doubled):
            for twos in itertools.combinations(regions, doubled):
                choices = [
                    itertools.combinations(options[r], 2)
                    if r in twos
                    else ((i,) for i in options[r])
                    for r in regions
                ]
                rows.extend(sum(pick, ()) for pick in itertools.product(*choices))
    return np.asarray(rows, np.int64).reshape(-1, 2 * k)
