"""[INV] library: conv matrices, M(h, k), model-RIP constants, IHT and Alg. 2 vs closed forms."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import invertibility as inv

KEY = jax.random.PRNGKey(0)


def _op(key, num_filters, channels, window, size, stride=1, padding="valid", scale="fan_in"):
    filters = inv.gaussian_filters(key, num_filters, channels, window, scale)
    return inv.ConvOperator(filters, (channels,) + (size,) * len(window), stride, padding)


# -- W as a conv layer (Figure 1) ------------------------------------------------------------

CASES = [
    ((5,), 16, 1, "valid"),
    ((5,), 16, 2, "circular"),
    ((5,), 17, 3, "valid"),
    ((5,), 16, 1, 2),
    ((3, 3), 7, 1, "valid"),
    ((3, 3), 9, 2, 1),
]


@pytest.mark.parametrize(("window", "size", "stride", "padding"), CASES)
def test_explicit_matrix_equals_conv_and_its_transpose(window, size, stride, padding):
    k_filters, k_x, k_z = jax.random.split(KEY, 3)
    op = _op(k_filters, 6, 4, window, size, stride, padding)
    w = op.matrix()
    assert w.shape == (math.prod(op.code_shape), math.prod(op.input_shape))
    x = jax.random.normal(k_x, op.input_shape)
    z = jax.random.normal(k_z, op.code_shape)
    np.testing.assert_allclose(op.forward(x).ravel(), w @ np.asarray(x).ravel(), atol=1e-5)
    np.testing.assert_allclose(op.adjoint(z).ravel(), w.T @ np.asarray(z).ravel(), atol=1e-5)


def test_valid_1d_rows_hold_each_filter_once():
    op = _op(KEY, 6, 4, (5,), 16)
    w = op.matrix()
    assert op.code_shape == (6, 12)
    assert np.all(np.count_nonzero(w, axis=1) == 5 * 4)  # ℓM nonzeros per row
    assert len(np.unique(w[w != 0])) == 5 * 4 * 6  # ℓMK parameters


@pytest.mark.parametrize(("window", "size", "stride", "padding"), CASES)
def test_adjoint_identity(window, size, stride, padding):
    k_filters, k_x, k_z = jax.random.split(KEY, 3)
    op = _op(k_filters, 6, 4, window, size, stride, padding)
    x = jax.random.normal(k_x, op.input_shape)
    z = jax.random.normal(k_z, op.code_shape)
    lhs = jnp.vdot(op.forward(x), z)
    rhs = jnp.vdot(x, op.adjoint(z))
    assert abs(lhs - rhs) <= 1e-5 * jnp.linalg.norm(x) * jnp.linalg.norm(z)


def test_paper_size_explicit_matrix_and_vmapped_filter_draws():
    """5×1×32×96, D = 32: explicit = matrix-free; operators batch over filter draws."""
    op = _op(KEY, 96, 32, (5,), 32)
    z = inv.sample_model_sparse(jax.random.PRNGKey(1), op.code_shape, (28,), 10)
    np.testing.assert_allclose(
        op.adjoint(z).ravel(), op.matrix().T @ np.asarray(z).ravel(), atol=1e-5
    )
    keys = jax.random.split(KEY, 3)

    def ratio(key):
        o = inv.ConvOperator(inv.gaussian_filters(key, 96, 32, (5,)), (32, 32))
        return jnp.linalg.norm(o.adjoint(z)) / jnp.linalg.norm(z)

    batched = jax.jit(jax.vmap(ratio))(keys)
    np.testing.assert_allclose(batched, [ratio(k) for k in keys], rtol=1e-5)


def test_swap_sides_is_the_transpose():
    op = _op(KEY, 6, 4, (5,), 16)
    swapped = inv.swap_sides(op)
    assert swapped.input_shape == op.code_shape and swapped.code_shape == op.input_shape
    np.testing.assert_allclose(swapped.matrix(), op.matrix().T, atol=1e-7)


def test_bad_operator_arguments_raise():
    filters = jnp.ones((6, 4, 5))
    with pytest.raises(ValueError, match="channels"):
        inv.ConvOperator(filters, (3, 16))
    with pytest.raises(ValueError, match="not an integer"):
        inv.ConvOperator(filters, (4, 16), stride=2)
    with pytest.raises(ValueError, match="padding"):
        inv.ConvOperator(filters, (4, 16), padding="same")
    with pytest.raises(ValueError, match="scale"):
        inv.gaussian_filters(KEY, 2, 2, (3,), scale="xavier")


def test_haar_bank_is_an_isometry():
    """Remark §3.2: the Haar filters (stride 2) form an orthogonal W, so r = 1 for every z."""
    haar = jnp.array([[[1.0, 1.0]], [[1.0, -1.0]]]) / jnp.sqrt(2.0)
    op = inv.ConvOperator(haar, (1, 16), stride=2)
    np.testing.assert_allclose(op.matrix() @ op.matrix().T, np.eye(16), atol=1e-7)
    z = jax.random.normal(KEY, (50, *op.code_shape))
    ratios = jax.jit(jax.vmap(lambda c: jnp.linalg.norm(op.adjoint(c)) / jnp.linalg.norm(c)))(z)
    np.testing.assert_allclose(ratios, 1.0, atol=1e-6)


# -- model-k-sparse codes and M(h, k) (§2.3, eq. 2) ------------------------------------------


def test_regions_round_trip_with_ceil_mode_borders():
    h = jax.random.normal(KEY, (3, 15, 15))
    blocks = inv.to_regions(h, (2, 2))
    assert blocks.shape == (3 * 64, 4)
    np.testing.assert_array_equal(inv.from_regions(blocks, h.shape, (2, 2)), h)
    table = inv.region_index_table(h.shape, (2, 2))
    assert np.sum(table >= 0) == h.size and np.all(table[63] == [224, -1, -1, -1])


@pytest.mark.parametrize(
    ("code_shape", "window", "k"), [((96, 28), (28,), 10), ((8, 15, 15), (2, 2), 120)]
)
def test_sampler_structure(code_shape, window, k):
    codes = jax.jit(jax.vmap(lambda key: inv.sample_model_sparse(key, code_shape, window, k)))(
        jax.random.split(KEY, 200)
    )
    per_region = jax.jit(jax.vmap(lambda z: jnp.sum(inv.to_regions(z, window) != 0, axis=1)))(codes)
    assert per_region.max() == 1
    np.testing.assert_array_equal(per_region.sum(axis=1), k)
    values = codes[codes != 0]
    assert values.min() >= -1 and values.max() <= 1 and abs(values.mean()) < 0.05
    if len(window) == 1:  # blocks and positions uniform: each block active k/K of the time
        active = per_region.mean(axis=0)
        assert np.all(np.abs(active - k / code_shape[0]) < 0.1)


def _nearest_model_sparse(h, k):
    """Brute force: the nearest point of M_k keeps h on the support of largest energy."""
    supports = inv.model_supports(h.shape, (h.shape[1],), k)
    flat = np.asarray(h).ravel()
    best = supports[np.argmax(np.sum(flat[supports] ** 2, axis=1))]
    out = np.zeros_like(flat)
    out[best] = flat[best]
    return out.reshape(h.shape)


def test_sparsify_is_the_projection_onto_model_sparse_codes():
    window, k = (5,), 2
    hs = jax.random.normal(KEY, (200, 4, 5))
    out = jax.jit(jax.vmap(lambda h: inv.sparsify(h, k, window)))(hs)
    for h, z in zip(hs, out, strict=True):
        np.testing.assert_array_equal(z, _nearest_model_sparse(h, k))
    per_block = np.count_nonzero(out, axis=2)
    assert per_block.max() == 1 and np.all(per_block.sum(axis=1) == k)
    np.testing.assert_array_equal(jax.jit(jax.vmap(lambda z: inv.sparsify(z, k, window)))(out), out)
    corner = jax.jit(jax.vmap(lambda h: inv.sparsify(h, k, window, placement="corner")))(hs)
    np.testing.assert_array_equal(corner[:, :, 1:], 0)
    np.testing.assert_array_equal(corner.sum(axis=2), out.sum(axis=2))


def test_sparsify_2d_keeps_one_entry_per_region_in_k_regions():
    h = jax.random.normal(KEY, (4, 7, 7))
    z = inv.sparsify(h, 10, (2, 2))
    per_region = np.count_nonzero(np.asarray(inv.to_regions(z, (2, 2))), axis=1)
    assert per_region.max() == 1 and per_region.sum() == 10
    pooled = np.abs(np.asarray(inv.to_regions(h, (2, 2)))).max(axis=1)
    assert np.sort(np.abs(z[z != 0])).tolist() == np.sort(pooled)[-10:].tolist()
    with pytest.raises(ValueError, match="k must be"):
        inv.sparsify(h, 65, (2, 2))


# -- RIP constants (§2.3, Thm 3.1, Cor 3.2) ---------------------------------------------------


def test_support_counts():
    assert len(inv.model_supports((4, 6), (6,), 2)) == 6**2 * math.comb(4, 2) == 216
    pairs = inv.pair_supports((4, 6), (6,), 2)
    assert pairs.shape == (9126, 4)
    blocks = pairs // 6
    assert max(np.bincount(row, minlength=4).max() for row in blocks) == 2


def test_exact_delta_matches_brute_force_svd_and_bounds_samples():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(8, 12)) / np.sqrt(8)
    supports = np.array(list(itertools.combinations(range(12), 2)))
    svd = max(
        max(s[0] ** 2 - 1, 1 - s[-1] ** 2)
        for s in (np.linalg.svd(phi[:, sup], compute_uv=False) for sup in supports)
    )
    delta = inv.exact_delta(phi, supports)
    assert delta == pytest.approx(svd, rel=1e-12)
    z = np.zeros((100_000, 12))
    cols = rng.integers(0, 12, (100_000, 2))
    z[np.arange(100_000)[:, None], cols] = rng.normal(size=(100_000, 2))
    ratios = np.linalg.norm(z @ phi.T, axis=1) / np.linalg.norm(z, axis=1)
    sampled = float(inv.delta_lower_bound(jnp.asarray(ratios)))
    assert 0.9 * delta <= sampled <= delta + 1e-12


@pytest.fixture(scope="module")
def toy_deltas():
    """Unit-row Gaussian filters ℓ = 3, K = 4, D = 8 (n = 6), k = 2; exact δ_k, δ_2k."""
    out = {}
    for channels in (16, 256):
        op = _op(jax.random.PRNGKey(channels), 4, channels, (3,), 8, scale="unit")
        phi = op.matrix().T
        delta_k = inv.exact_delta(phi, inv.model_supports(op.code_shape, (6,), 2))
        delta_2k = inv.exact_delta(phi, inv.pair_supports(op.code_shape, (6,), 2))
        out[channels] = op, delta_k, delta_2k
    return out


def test_model_rip_constants_fall_with_channels(toy_deltas):
    (_, dk16, d2k16), (_, dk256, d2k256) = toy_deltas[16], toy_deltas[256]
    assert dk16 <= d2k16 < 1 and dk256 <= d2k256 < 1
    assert dk256 < 0.5 * dk16 and d2k256 < 0.5 * d2k16


def test_one_layer_bound_and_lemma_hold_for_every_draw(toy_deltas):
    """Thm 3.3 (derived form) and the Lemma B.1 reading with exact constants, float64."""
    with jax.enable_x64(True):
        for op, delta_k, delta_2k in toy_deltas.values():
            op = inv.ConvOperator(op.filters.astype(jnp.float64), op.input_shape)
            code_bound, signal_bound = inv.one_layer_bound(delta_k, delta_2k)

            def draw(key, op=op):
                z = inv.sample_model_sparse(key, op.code_shape, (6,), 2, dtype=jnp.float64)
                x = op.adjoint(z)
                z_hat, x_hat = inv.reconstruct(op, x, 2, (6,))
                on_support = inv.rip_ratios(op, z, 2, (6,))["gram_on_support"]
                return (
                    jnp.linalg.norm(z_hat - z) / jnp.linalg.norm(z),
                    jnp.linalg.norm(x_hat - x) / jnp.linalg.norm(x),
                    on_support,
                )

            code_err, signal_err, on_support = jax.jit(jax.vmap(draw))(jax.random.split(KEY, 300))
            assert code_err.max() <= code_bound and signal_err.max() <= signal_bound
            assert on_support.min() >= 1 - delta_k and on_support.max() <= 1 + delta_k
    with pytest.raises(ValueError, match="δ"):
        inv.one_layer_bound(0.5, 0.4)


def test_coherence_equals_the_rows_of_w():
    filters = inv.gaussian_filters(KEY, 5, 3, (3, 3))
    flat = np.asarray(filters).reshape(5, -1)
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    gram = np.abs(unit @ unit.T) - np.eye(5)
    assert float(inv.coherence(filters)) == pytest.approx(gram.max(), rel=1e-6)
    w = inv.ConvOperator(filters, (3, 9, 9)).matrix()
    rows = w / np.linalg.norm(w, axis=1, keepdims=True)
    row_gram = np.abs(rows @ rows.T) - np.eye(len(rows))
    assert float(inv.coherence(filters, max_shift=2)) == pytest.approx(row_gram.max(), rel=1e-6)


# -- recovery: IHT (Alg. 1) and Alg. 2 -------------------------------------------------------


def test_iht_first_pass_is_one_layer_and_recovers_when_delta_is_small(toy_deltas):
    op, _, _ = toy_deltas[256]
    z = inv.sample_model_sparse(jax.random.PRNGKey(3), op.code_shape, (6,), 2)
    x = op.adjoint(z)
    z1, residual1 = inv.iht(op, x, 2, (6,), num_iters=1)
    z_hat, x_hat = inv.reconstruct(op, x, 2, (6,))
    np.testing.assert_allclose(z1, z_hat, atol=1e-6)  # same support, same values
    assert np.array_equal(z1 != 0, z_hat != 0)
    assert residual1[0] == pytest.approx(
        float(jnp.linalg.norm(x - x_hat) / jnp.linalg.norm(x)), rel=1e-4
    )
    z30, residuals = inv.iht(op, x, 2, (6,), num_iters=30)
    assert residuals[-1] < 1e-5 and float(jnp.abs(z30 - z).max()) < 1e-5
    assert np.all(np.diff(residuals) <= 1e-7)


def test_paper_size_fig2_numbers():
    """5×1×32×96, D = 32, k = 10: median ‖Wᵀz‖/‖z‖ within 0.05 of 1; one-layer error ≈ 0.3."""
    op = _op(KEY, 96, 32, (5,), 32)
    window = (op.code_shape[1],)

    def draw(key):
        z = inv.sample_model_sparse(key, op.code_shape, window, 10)
        x = op.adjoint(z)
        _, x_hat = inv.reconstruct(op, x, 10, window)
        ratios = inv.rip_ratios(op, z, 10, window)
        return ratios["code"], jnp.linalg.norm(x_hat - x) / jnp.linalg.norm(x)

    code, error = jax.jit(jax.vmap(draw))(jax.random.split(jax.random.PRNGKey(1), 1000))
    assert abs(np.median(code) - 1) < 0.05
    assert 0.92 <= np.percentile(code, 5) and np.percentile(code, 95) <= 1.08
    assert 0.25 <= np.median(error) <= 0.35  # the paper's 0.1–0.2 does not reproduce


def test_alg2_recovers_a_sparse_2d_code():
    """3×3×8×8 unit filters, 8×15×15 code at 10% density, x = Wᵀz by full transposed conv."""
    k_filters, k_code, k_norm = jax.random.split(KEY, 3)
    filters = inv.gaussian_filters(k_filters, 8, 8, (3, 3), scale="unit")
    op = inv.ConvOperator(filters, (8, 17, 17))
    window = (2, 2)
    z = inv.sample_model_sparse(k_code, op.code_shape, window, round(0.1 * 8 * 225))
    x = op.adjoint(z)
    lam = 1e-3 * float(jnp.abs(op.forward(x)).max())
    lipschitz = 2.02 * inv.operator_norm(op, k_norm) ** 2
    z_hat = inv.recover_sparse_code(op, x, lam, window, lipschitz, num_iters=200)
    assert np.count_nonzero(np.asarray(inv.to_regions(z_hat, window)), axis=1).max() <= 1
    assert jnp.linalg.norm(x - op.adjoint(z_hat)) / jnp.linalg.norm(x) < 0.05
    recall = np.sum((z != 0) & (z_hat != 0)) / np.sum(z != 0)
    assert recall >= 0.9
    grad = 2 * op.forward(x - op.adjoint(z_hat))  # KKT of step 3 on the kept support
    on = z_hat != 0
    np.testing.assert_allclose(grad[on], lam * jnp.sign(z_hat[on]), atol=1e-2 * lam)


# -- batched helpers of the VGG experiments (Tables 2–4, Fig 3) ----------------------------------


def test_same_conv_keeps_the_spatial_size_and_is_the_padded_operator():
    filters = inv.gaussian_filters(KEY, 6, 4, (3, 3), scale="unit")
    op = inv.same_conv(filters, (8, 8))
    assert op.input_shape == (4, 8, 8) and op.code_shape == (6, 8, 8)
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 8, 8))
    np.testing.assert_array_equal(
        op.forward(x), inv.ConvOperator(filters, (4, 8, 8), 1, 1).forward(x)
    )
    with pytest.raises(ValueError, match="odd"):
        inv.same_conv(jnp.ones((2, 2, 2, 2)), (8, 8))


def test_percent_positive_and_active_regions():
    h = jnp.array([[[1.0, -1.0], [0.0, 0.0]], [[0.0, 0.0], [-2.0, 3.0]]])  # (K=2, 2, 2)
    assert inv.percent_positive(h) == 25.0
    # one 2×1 region per column per channel: 4 regions, active: (0, col 0) and (1, col 1)
    batch = jnp.stack([h, -h])  # the second map has (0, col 1) and (1, col 0) active
    assert inv.active_regions(batch, (2, 1)) == (2, 4)
    assert inv.active_regions(-jnp.abs(batch), (2, 1)) == (1, 4)  # none active: k ≥ 1


def test_sampled_code_ratios_match_one_draw_at_a_time_and_summarise():
    op = _op(KEY, 8, 8, (3, 3), 10, scale="unit")
    ratios = inv.sampled_code_ratios(op, jax.random.PRNGKey(2), (2, 2), 6, 64)
    keys = jax.random.split(jax.random.PRNGKey(2), 64)
    one = [inv.rip_ratios(op, inv.sample_model_sparse(k, op.code_shape, (2, 2), 6), 6, (2, 2))
           for k in keys[:3]]  # fmt: skip
    np.testing.assert_allclose(ratios[:3], [r["code"] for r in one], rtol=1e-5)
    batched = inv.sampled_code_ratios(op, jax.random.PRNGKey(2), (2, 2), 6, 64, batch=16)
    np.testing.assert_allclose(batched, ratios, rtol=1e-5)  # the same codes, fewer at once
    stats = inv.ratio_summary(ratios)
    assert stats["p5"] <= stats["median"] <= stats["p95"]
    assert stats["spread"] == pytest.approx((stats["p95"] - stats["p5"]) / 2)
    assert stats["sampled δ̂"] == pytest.approx(float(np.max(np.abs(np.square(ratios) - 1))))
    assert abs(stats["median"] - 1) < 0.1  # unit Gaussian 3×3 filters: model-RIP near 1


def test_lambda_max_is_where_the_lasso_code_vanishes():
    op = _op(KEY, 6, 4, (3, 3), 9, scale="unit")
    x = op.adjoint(inv.sample_model_sparse(jax.random.PRNGKey(3), op.code_shape, (2, 2), 5))
    lam = inv.lambda_max(op, x)
    lipschitz = 2.02 * inv.operator_norm(op, KEY) ** 2
    assert not jnp.any(inv.lasso(op, x, 1.01 * lam, lipschitz, 50))
    assert jnp.any(inv.lasso(op, x, 0.9 * lam, lipschitz, 50))


def test_recover_sparse_codes_is_alg2_per_signal():
    op = _op(KEY, 8, 8, (3, 3), 11, scale="unit")
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    xs = jax.vmap(lambda k: op.adjoint(inv.sample_model_sparse(k, op.code_shape, (2, 2), 20)))(keys)
    codes = inv.recover_sparse_codes(op, xs, KEY, 0.01, (2, 2), 100)
    lipschitz = 2.02 * inv.operator_norm(op, KEY) ** 2
    one = inv.recover_sparse_code(
        op, xs[1], 0.01 * inv.lambda_max(op, xs[1]), (2, 2), lipschitz, 100
    )
    np.testing.assert_allclose(codes[1], one, atol=1e-5)
    fits = jax.vmap(lambda z, x: inv.relative_error(op.adjoint(z), x))(codes, xs)
    assert float(fits.max()) < 0.1


def test_rescale_to_norm_and_relative_error():
    x, x_hat = jnp.array([3.0, 4.0]), jnp.array([0.0, 2.0])
    np.testing.assert_allclose(inv.rescale_to_norm(x_hat, x), [0.0, 5.0])
    np.testing.assert_array_equal(inv.rescale_to_norm(jnp.zeros(2), x), jnp.zeros(2))
    assert float(inv.relative_error(x_hat, x)) == pytest.approx(np.sqrt(9 + 4) / 5)
    noise = jax.random.normal(KEY, (4096,))  # footnote 9: a random vector of equal norm, √2
    assert float(
        inv.relative_error(inv.rescale_to_norm(noise, x_hat.repeat(2048)), x_hat.repeat(2048))
    ) == pytest.approx(2**0.5, abs=0.05)
