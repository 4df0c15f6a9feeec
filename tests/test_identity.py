"""memjax.identity ([IC]): test inputs and scores, layer views, closed forms (float64), counts,
App B's identity weights, the stage-wise schedule, and Thm 1 / Lemma 1 / Thm 2 against nets
trained with memjax.train."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import identity as ic
from memjax import theory
from memjax.data import load_sample
from memjax.models import Conv, ConvAutoencoder, MLPAutoencoder, ResidualMLP
from memjax.probes import apply_batch
from memjax.train import TrainConfig, train


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_sample("mnist")
    return ic.standardize(images), labels


def _projector(x_hat):
    u = np.ravel(x_hat) / np.linalg.norm(x_hat)
    return np.outer(u, u)


# --- test inputs and scores ---------------------------------------------------------------


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
def test_inputs_have_the_requested_correlation_and_norm(mnist, rho, centred):
    x_hat = mnist[0][0]
    x = ic.inputs_at_correlation(jax.random.PRNGKey(0), x_hat, rho, 5, centred)
    assert x.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(ic.correlation(x, x_hat[None], centred), rho, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(x.reshape(5, -1), axis=1), np.linalg.norm(x_hat))
    if rho < 1:  # different random parts
        assert ic.correlation(x[:1], x[1:2], centred)[0] < 0.5


def test_standardize_matches_app_a():
    values = ic.standardize(np.array([[[[0, 255]]]], np.uint8))
    np.testing.assert_allclose(values.ravel(), [-0.4242, 2.8215], atol=1e-4)
    with pytest.raises(ValueError, match="uint8"):
        ic.standardize(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="rho"):
        ic.inputs_at_correlation(jax.random.PRNGKey(0), values[0], 1.5, 2)


def test_scores_of_the_two_reference_maps(mnist):
    """Identity: corr_id 1, corr_const ρ; constant map: corr_const 1, corr_id ρ (uncentred)."""
    x_hat, rho = mnist[0][0], 0.4
    x = ic.inputs_at_correlation(jax.random.PRNGKey(1), x_hat, rho, 4)
    ident = ic.identity_scores(x, x, x_hat, centred=False)
    np.testing.assert_allclose(ident.corr_id, 1.0)
    np.testing.assert_allclose(ident.corr_const, rho, atol=1e-12)
    np.testing.assert_allclose(ident.mse_id, 0.0)
    const = ic.identity_scores(np.broadcast_to(x_hat, x.shape), x, x_hat, centred=False)
    np.testing.assert_allclose(const.corr_const, 1.0)
    np.testing.assert_allclose(const.corr_id, rho, atol=1e-12)
    np.testing.assert_allclose(const.mse_const, 0.0)
    dead = ic.identity_scores(np.zeros_like(x), x, x_hat)  # a dead ReLU net: 0, not NaN
    np.testing.assert_array_equal(dead.corr_id, 0.0)
    with pytest.raises(FloatingPointError):
        ic.identity_scores(np.full_like(x, np.nan), x, x_hat)


def test_laplacian_energy_ratio_is_one_for_the_identity_and_small_for_blur():
    images = np.random.default_rng(0).normal(size=(3, 1, 12, 12))
    np.testing.assert_allclose(ic.laplacian_energy_ratio(images, images), 1.0)
    blurred = (images + np.roll(images, 1, -1) + np.roll(images, 1, -2)) / 3
    assert np.all(ic.laplacian_energy_ratio(blurred, images) < 0.7)


def test_patterns_at_any_size_and_resize():
    for size in (7, 28):
        images = ic.patterns(jax.random.PRNGKey(0), size, channels=3)
        assert set(images) == set(ic.PATTERNS)
        for image in images.values():
            assert image.shape == (3, size, size) and 0 <= image.min() <= image.max() <= 1
            assert image.std() > 0.1
    square = ic.patterns(jax.random.PRNGKey(0), 28)["square"]
    round_trip = ic.resize(ic.resize(square[None], 56), 28)
    assert round_trip.shape == (1, 1, 28, 28) and np.mean(np.abs(round_trip - square)) < 0.05


def test_one_digit_setup_is_the_training_seven_then_the_display_inputs():
    setup = ic.one_digit_setup(0, jax.random.PRNGKey(3))
    assert setup.x_hat.shape == (1, 1, 28, 28)
    assert np.array_equal(setup.x_hat, ic.standardize(load_sample("mnist")[0][:1]))
    assert setup.batch.shape == (1 + len(setup.inputs), 1, 28, 28)
    assert np.array_equal(setup.batch[0], setup.x_hat[0])
    assert np.array_equal(setup.batch[1:], np.stack(list(setup.inputs.values())))
    assert set(ic.PATTERNS) <= set(setup.inputs) and "blend" in setup.inputs
    quick, paper = ic.one_digit_data(False, [0.0, 1.0]), ic.one_digit_data(True, (0.0,), sizes=(7,))
    assert quick == {"train_index": 0, "rhos": (0.0, 1.0), "inputs_per_rho": 4, "centred": True}
    assert paper["inputs_per_rho"] == 16 and paper["sizes"] == (7,)


# --- models and layers --------------------------------------------------------------------


def _small_cnn(depth=4, channels=6):
    model = ic.ic_cnn(depth, channels=channels, kernel=3, kernel_init="pytorch")
    params = ic.init_params(jax.random.PRNGKey(0), model, jnp.zeros((1, 8, 8)), zero_bias=False)
    return model, params


def test_cnn_is_size_agnostic_and_layers_reproduce_the_output():
    model, params = _small_cnn()
    rng = np.random.default_rng(0)
    for size in (40,):
        x = rng.normal(size=(2, 1, size, size)).astype(np.float32)
        layers = ic.batched_layer_activations(model, params, x)
        assert [a.shape for a in layers] == [(2, 6, size, size)] * 3 + [(2, 1, size, size)]
        np.testing.assert_allclose(layers[-1], apply_batch(model, params, x), rtol=1e-5, atol=1e-6)
        assert layers[0].min() >= 0 and layers[-1].min() < 0  # ReLU inside, none at the output


def test_upper_subnetwork_gets_the_grayscale_image_on_every_channel():
    model, params = _small_cnn()
    x = np.random.default_rng(0).normal(size=(1, 1, 8, 8)).astype(np.float32)
    top = ic.batched_layer_activations(model, params, x, start=3)
    copies = np.broadcast_to(x, (1, 6, 8, 8))
    np.testing.assert_array_equal(
        top[-1], ic.batched_layer_activations(model, params, copies, 3)[-1]
    )
    upper_two = ic.batched_layer_activations(model, params, x, start=2)
    assert len(top) == 1 and [a.shape for a in upper_two] == [(1, 6, 8, 8), (1, 1, 8, 8)]
    with pytest.raises(ValueError, match="channels"):
        ic.layer_activations(model, params, jnp.zeros((2, 8, 8)), start=3)


def test_layer_views_pick_the_planted_structure():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(5, 5))
    weights = np.array([0.5, -2.0, 1.0])
    h = weights[:, None, None] * image  # rank one: the singular image is ±image
    singular = ic.top_singular_image(h, reference=image)
    np.testing.assert_allclose(singular, image / np.linalg.norm(image), atol=1e-12)
    noise = rng.normal(size=(4, 5, 5))
    noise[2] = 3 * image + 1
    assert ic.most_correlated_channel(noise, image) == 2
    views = ic.layer_views(noise, image, channel=0)
    np.testing.assert_array_equal(views["correlated"], noise[2])
    np.testing.assert_array_equal(views["channel"], noise[0])


def test_relative_weight_change_per_layer_in_order():
    model, params = _small_cnn()
    scale = {f"conv{i}": 1.0 + 0.1 * i for i in range(4)}
    moved = {
        "params": {n: {k: v * scale[n] for k, v in p.items()} for n, p in params["params"].items()}
    }
    np.testing.assert_allclose(
        ic.relative_weight_change(params, moved), [0, 0.1, 0.2, 0.3], atol=1e-6
    )


def test_similarity_classifier_on_planted_classes(mnist):
    features = np.array([[1.0, 0], [0.9, 0.1], [0, 1], [0.1, 0.8]])
    sums = ic.class_sums(features, [0, 0, 1, 1], n_classes=2)
    np.testing.assert_allclose(sums, [[1.9, 0.1], [0.1, 1.8]])
    assert ic.similarity_classifier_error(sums, [[1.0, 0.2], [0.2, 1.0]], [0, 1]) == 0.0
    assert ic.similarity_classifier_error(sums, [[1.0, 0.2], [0.2, 1.0]], [1, 0]) == 1.0
    images, labels = mnist
    model, params = _small_cnn(depth=2, channels=4)
    errors = ic.layerwise_classifier_errors(
        model, params, (images[:100], labels[:100]), (images[100:], labels[100:]), batch_size=64
    )
    assert errors.shape == (3,)
    direct = ic.similarity_classifier_error(
        ic.class_sums(images[:100], labels[:100]), images[100:], labels[100:]
    )
    assert errors[0] == direct and direct < 0.6  # raw pixels beat chance (0.9) by far


def test_residual_mlp_is_the_identity_when_its_blocks_output_zero():
    model = ResidualMLP(blocks=2, kernel_init="zero")
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 4, 4))
    params = model.init(jax.random.PRNGKey(1), x)
    assert sorted(params["params"]) == ["dense0", "dense1", "dense2", "dense3"]
    np.testing.assert_array_equal(model.apply(params, x), x)
    params = jax.tree.map(lambda p: p + 0.3, ResidualMLP(2).init(jax.random.PRNGKey(2), x))
    # positive weights and biases: the last block adds W₂ReLU(·) with no outer ReLU
    assert not np.allclose(model.apply(params, x), x)


# --- weight counts (Table 1 / App M) ------------------------------------------------------

FCN_TABLE = {
    784: {1: 614_656, 2: 1_229_312, 4: 2_458_624, 6: 3_687_936, 8: 4_917_248, 10: 6_146_560},
    2048: {2: 3_211_264, 4: 11_599_872, 6: 19_988_480, 8: 28_377_088, 10: 36_765_696},
}
DEPTHS = (1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 24)
CNN_ROWS = {  # (kernel, channels): counts at DEPTHS (None: not in the table)
    (5, 3): (25, 375, 825, 1050, 1275, 1500, 1725, 1950, 2175, 2400, 2625, 2850, 3075, 3300,
             3525, 3975, 4200, 5100),
    (5, 128): (25, 416_000, 1_235_200, 1_644_800, 2_054_400, 2_464_000, 2_873_600, 3_283_200,
               3_692_800, 4_102_400, 4_512_000, 4_921_600, 5_331_200, 5_740_800, 6_150_400,
               6_969_600, 7_379_200, 9_017_600),
    (5, 1024): (None, None, 78_694_400, None, 131_123_200, None, None, None, None, 262_195_200,
                None, 314_624_000, None, None, None, None, 471_910_400, None),
    (7, 3): (49, 735, 1617, 2058, 2499, 2940, 3381, 3822, 4263, 4704, 5145, 5586, 6027, 6468,
             6909, 7791, 8232, 9996),
    (7, 128): (49, 815_360, 2_420_992, 3_223_808, 4_026_624, 4_829_440, 5_632_256, 6_435_072,
               7_237_888, 8_040_704, 8_843_520, 9_646_336, 10_449_152, 11_251_968, 12_054_784,
               13_660_416, 14_463_232, 17_674_496),
    (7, 1024): (None, None, 154_241_024, None, 257_001_472, None, None, None, None, 513_902_592,
                None, 616_663_040, None, None, None, None, 924_944_384, None),
}  # fmt: skip
KERNEL_TABLE = {9: 4_002_048, 13: 8_349_952, 17: 14_278_912, 25: 30_880_000, 29: 41_552_128,
                57: 160_526_592}  # fmt: skip


def _built_count(model, shape):
    return ic.weight_count(jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros(shape)))


def test_table1_fcn_counts_formula_and_built_models():
    for width, row in FCN_TABLE.items():
        for layers, count in row.items():
            assert ic.fcn_weight_count(layers, width) == count
            assert _built_count(ic.ic_fcn(layers - 1, width), (1, 28, 28)) == count


def test_table1_cnn_counts_formula_and_built_models():
    for (kernel, channels), counts in CNN_ROWS.items():
        for depth, count in zip(DEPTHS, counts, strict=True):
            if count is None:
                continue
            assert ic.cnn_weight_count(depth, channels, kernel) == count
            # building every net costs ~1 s per 100 layers of tracing; one per row suffices
            if depth in (1, 5, 20):
                model = ic.ic_cnn(depth, channels, kernel)
                assert _built_count(model, (1, 28, 28)) == count
    for kernel, count in KERNEL_TABLE.items():
        assert _built_count(ic.ic_cnn(5, 128, kernel), (1, 28, 28)) == count


# --- App B: the identity is representable (float64, exact) -------------------------------


@pytest.mark.parametrize(("kernel", "size", "depth", "activation"), [
    (3, 7, 2, "relu"), (5, 28, 5, "relu"), (7, 112, 3, "relu"), (57, 28, 2, "relu"),
    (5, 28, 1, "relu"), (5, 28, 24, "relu"), (5, 28, 6, "linear"), (57, 7, 3, "linear"),
])  # fmt: skip
def test_app_b_identity_cnn_is_exact(x64, kernel, size, depth, activation):
    model = ic.ic_cnn(depth, 2, kernel, activation=activation)
    x = jax.random.normal(jax.random.PRNGKey(depth), (3, 1, size, size), jnp.float64)
    params = ic.identity_params(model, x[0], jnp.float64)
    assert np.abs(apply_batch(model, params, x) - x).max() == 0.0


@pytest.mark.parametrize(("hidden", "width", "activation"), [
    (0, 2048, "relu"), (1, 2048, "relu"), (9, 2048, "relu"), (3, 784, "linear"),
    (5, 2048, "linear"),
])  # fmt: skip
def test_app_b_identity_fcn_is_exact(x64, mnist, hidden, width, activation):
    model = ic.ic_fcn(hidden, width, activation)
    x = jnp.concatenate(
        [
            jnp.asarray(mnist[0][:2], jnp.float64),
            jax.random.normal(jax.random.PRNGKey(0), (2, 1, 28, 28), jnp.float64),
        ]
    )
    params = ic.identity_params(model, x[0], jnp.float64)
    assert np.abs(apply_batch(model, params, x) - x).max() == 0.0


def test_app_b_needs_twice_the_width_for_relu():
    x = np.zeros((1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="≥ the copies"):
        ic.identity_params(ic.ic_fcn(1, 784, "relu"), x)  # 784 < 2·784
    with pytest.raises(ValueError, match="≥ the copies"):
        ic.identity_params(ic.ic_cnn(3, 1, 5), x)  # a ReLU CNN needs two channels
    linear = ic.ic_cnn(3, 1, 5, activation="linear")  # one channel carries +x
    assert np.abs(apply_batch(linear, ic.identity_params(linear, x), x[None]) - x).max() == 0
    model = ic.ic_cnn(4, 2, 5)  # float32: still exact (products with 1 and sums with 0)
    x = np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32)
    assert np.abs(apply_batch(model, ic.identity_params(model, x[0]), x) - x).max() <= 1e-6


# --- App A's schedule and stage-wise training ---------------------------------------------


def test_app_a_schedule_is_decay_steps_at_30_60_80_percent():
    assert ic.stage_boundaries(2_000_000) == (600_000, 1_200_000, 1_600_000)
    fields = ic.stagewise_fields(2_000_000)
    assert fields == {"decay_steps": (600_000, 1_200_000, 1_600_000), "decay_factor": 0.2}
    assert ic.stagewise_fields(40)["decay_steps"] == (12, 24, 32)
    assert ic.stagewise_fields(1)["decay_steps"] == (1, 1)  # round(0.3) = 0 is dropped
    block = ic.app_a_block(1e-4, max_steps=40)  # SGD 0.01, momentum 0.9, one state throughout
    assert (block.optimizer, block.learning_rate, block.decay_factor) == ("momentum", 0.01, 0.2)
    assert tuple(block.decay_steps) == (12, 24, 32) and block.fit_loss == 1e-4
    with pytest.raises(ValueError, match="fractions"):
        ic.stage_boundaries(100, (0.6, 0.3))


def test_init_params_one_per_key_with_zero_biases():
    model, x = ic.ic_cnn(2, channels=2, kernel=3), jnp.zeros((1, 5, 5))  # biases U(±1/√fan_in)
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    batch = ic.init_params(keys, model, x)  # vmapped over the keys
    for i, key in enumerate(keys):
        one = ic.init_params(key, model, x)
        jax.tree.map(lambda a, b, i=i: np.testing.assert_array_equal(a[i], b), batch, one)
    biases = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(batch)
              if path[-1].key == "bias"]  # fmt: skip
    assert len(biases) == 2 and not any(np.any(b) for b in biases)
    kept = ic.init_params(keys[0], model, x, zero_bias=False)["params"]
    assert np.any(kept["conv0"]["bias"]) and np.any(kept["conv1"]["bias"])


# --- Theorem 1, eqs 15–18, Lemmas 1–2, Theorem 2 (float64) ---------------------------------


def test_theorem1_one_layer_linear_fcn_with_the_papers_optimizer(x64, mnist):
    """f(x) = Π∥x + W⁰Π⊥x after SGD 0.01/0.9 on the mean loss; W_t − W⁰ ∝ ·x̂ᵀ at every step."""
    x_hat = jnp.asarray(mnist[0][:1], jnp.float64)
    model = MLPAutoencoder((), activation="linear", use_bias=False, kernel_init="xavier_normal")
    params0 = model.init(jax.random.PRNGKey(0), x_hat[0])  # N(0, 1/d)
    config = TrainConfig("momentum", 0.01, max_steps=1000, snapshot_steps=(10, 300, 1000),
                         progress=False)  # fmt: skip
    params, history = train(jax.random.PRNGKey(0), model, x_hat, config, params0)
    w0 = np.asarray(params0["params"]["dense0"]["kernel"]).T  # f(x) = W x
    off_span = np.eye(784) - _projector(x_hat)
    for snapshot in history.snapshots.values():
        w = np.asarray(snapshot["params"]["dense0"]["kernel"]).T
        assert np.max(np.abs((w - w0) @ off_span)) <= 1e-12
    predicted = theory.gd_limit_from_init(w0, x_hat.reshape(1, -1))
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (10, 1, 28, 28)), np.float64)
    outputs = apply_batch(model, params, x).reshape(10, -1)
    assert float(history.final_loss) < 1e-25
    assert np.max(np.abs(outputs - x.reshape(10, -1) @ predicted.T)) <= 1e-10


@pytest.mark.parametrize("variant", ["adam", "bias"])
def test_theorem1_breaks_with_adam_or_a_bias(x64, mnist, variant):
    x_hat = jnp.asarray(mnist[0][:1], jnp.float64)
    model = MLPAutoencoder((), activation="linear", use_bias=variant == "bias",
                           kernel_init="xavier_normal")  # fmt: skip
    params0 = model.init(jax.random.PRNGKey(0), x_hat[0])
    optimizer = ("adam", 1e-3) if variant == "adam" else ("momentum", 0.01)
    config = TrainConfig(*optimizer, max_steps=300, progress=False)
    params, _ = train(jax.random.PRNGKey(0), model, x_hat, config, params0)
    w0 = np.asarray(params0["params"]["dense0"]["kernel"]).T
    predicted = theory.gd_limit_from_init(w0, x_hat.reshape(1, -1))
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (10, 1, 28, 28)), np.float64)
    outputs = apply_batch(model, params, x).reshape(10, -1)
    assert np.max(np.abs(outputs - x.reshape(10, -1) @ predicted.T)) > 1e-3


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_first_layer_update_stays_in_the_span_of_the_training_image(x64, mnist, activation):
    """App E.2 eqs 15–18: W₁ = W₁⁰ + u x̂ᵀ for a deep FCN with biases, SGD with momentum."""
    x_hat = jnp.asarray(mnist[0][:1], jnp.float64)
    model = ic.ic_fcn(2, width=32, activation=activation, kernel_init="pytorch")
    params0 = model.init(jax.random.PRNGKey(0), x_hat[0])
    config = TrainConfig("momentum", 0.01, max_steps=300, progress=False)
    params, history = train(jax.random.PRNGKey(0), model, x_hat, config, params0)
    assert float(history.final_loss) < float(history.losses[0]) / 10
    moved = np.asarray(params["params"]["dense0"]["kernel"] - params0["params"]["dense0"]["kernel"])
    assert np.max(np.abs(moved.T @ (np.eye(784) - _projector(x_hat)))) <= 1e-10
    assert np.max(np.abs(moved)) > 1e-3


def test_lemma1_and_lemma2_closed_forms_match_gradient_descent(x64):
    rng = np.random.default_rng(0)
    x, y, w0 = rng.normal(size=(5, 20)), rng.normal(size=(5, 3)), rng.normal(size=(20, 3))
    limit = ic.least_squares_gd_limit(w0, x, y)
    np.testing.assert_allclose(limit, w0 + x.T @ np.linalg.solve(x @ x.T, y - x @ w0), atol=1e-12)
    w, lr = w0.copy(), 1.0 / np.linalg.eigvalsh(x @ x.T).max()
    for _ in range(20_000):
        w -= lr * x.T @ (x @ w - y)
    assert np.max(np.abs(w - limit)) <= 1e-10
    x, y = rng.normal(size=(50, 10)), rng.normal(size=(50, 3))  # Lemma 2: rank D
    first = ic.least_squares_gd_limit(rng.normal(size=(10, 3)), x, y)
    second = ic.least_squares_gd_limit(rng.normal(size=(10, 3)), x, y)
    np.testing.assert_allclose(first, second, atol=1e-8)
    np.testing.assert_allclose(first, np.linalg.lstsq(x, y, rcond=None)[0], atol=1e-10)
    with pytest.raises(ValueError, match="W0"):
        ic.least_squares_gd_limit(w0[:3], x, y)


def test_patch_matrix_is_the_convolution(x64):
    image = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 6), jnp.float64)
    kernel = jax.random.normal(jax.random.PRNGKey(1), (5, 5, 3, 2), jnp.float64)
    conv = jax.lax.conv_general_dilated(
        jnp.moveaxis(image, 0, -1)[None], kernel, (1, 1), ((2, 2), (2, 2)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"), precision="highest",
    )[0]  # fmt: skip
    via_patches = ic.patch_matrix(image, 5) @ np.asarray(kernel).reshape(75, 2)
    np.testing.assert_allclose(via_patches, np.asarray(conv).reshape(36, 2), atol=1e-12)
    np.testing.assert_allclose(ic.patch_matrix(image, 5) @ ic.centre_tap(3, 5),
                               np.asarray(image).reshape(3, 36).T)  # fmt: skip


def _one_conv(kernel, channels=1):
    return ConvAutoencoder((Conv(channels, kernel=kernel),), kernel_init="xavier_normal")


def _train_one_conv(x_hat, kernel, steps, lr):
    model = _one_conv(kernel, x_hat.shape[0])
    params0 = model.init(jax.random.PRNGKey(0), x_hat)
    config = TrainConfig("momentum", lr, max_steps=steps, progress=False)
    params, history = train(jax.random.PRNGKey(0), model, x_hat[None], config, params0)
    return model, params0["params"]["conv0"]["kernel"], params, history


def test_theorem2_full_rank_patches_give_the_identity(x64, mnist):
    """K = 5 on the '7': the 784 × 25 patch matrix has rank 25, so GD finds the centre tap."""
    x_hat = jnp.asarray(mnist[0][0], jnp.float64)
    assert ic.patch_rank(x_hat, 5) == 25
    assert ic.patch_rank(jnp.pad(x_hat, ((0, 0), (4, 4), (4, 4))), 5) == 25  # padding: same r
    model, _, params, history = _train_one_conv(x_hat, 5, 1000, 0.2)  # lr·λ_max = 2.7 < 3.8
    assert float(history.final_loss) < 1e-20
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (10, 1, 28, 28)), np.float64)
    assert np.max(np.abs(apply_batch(model, params, x) - x)) <= 1e-8


def test_theorem2_rank_deficient_patches_error_matches_closed_form(x64):
    """A 6 × 6 image with K = 9: 36 patches span 36 of 81 dimensions (nullity 45); the trained
    conv equals Lemma 1's Ŵ and its test error equals ‖(W⁰ − Λ)ᵀΠ⊥P_ij(x)‖²."""
    x_hat = jnp.asarray(np.random.default_rng(0).normal(size=(1, 6, 6)))
    patches = ic.patch_matrix(x_hat, 9)
    assert ic.patch_rank(x_hat, 9) == 36
    model, w0, params, history = _train_one_conv(x_hat, 9, 500, 0.2)  # κ(XXᵀ) = 27
    assert float(history.final_loss) < 1e-20
    expected = ic.least_squares_gd_limit(
        np.asarray(w0).reshape(81, 1), patches, np.asarray(x_hat).reshape(36, 1)
    )
    trained = np.asarray(params["params"]["conv0"]["kernel"]).reshape(81, 1)
    np.testing.assert_allclose(trained, expected, atol=1e-10)
    x = np.random.default_rng(1).normal(size=(1, 1, 6, 6))
    measured = ((apply_batch(model, params, x)[0] - x[0]) ** 2).sum(axis=0)
    np.testing.assert_allclose(ic.theorem2_pixel_errors(w0, x_hat, x[0]), measured, atol=1e-10)
    assert measured.mean() > 1e-2  # not the identity


def test_theorem2_bound_holds_and_error_grows_with_the_nullity(mnist):
    """(d) over 100 inits the bound holds for δ = 0.05; (b) the test MSE (σ = 0.01, a ρ = 0
    input) grows with the nullity. (b) runs on the '7' resized to 10 × 10 (100 patches) to stay
    cheap; on the 28 × 28 '7', K = 29 / 33 / 41 / 57 give nullity 57 / 305 / 897 / 2,465
    (measured once: too slow for the suite on a shared 2-core CPU)."""
    rng = np.random.default_rng(0)
    x_hat = rng.normal(size=(1, 6, 6))
    x = np.clip(rng.normal(size=(1, 6, 6)), -2, 2)
    sigma, nullity = 0.01, 81 - ic.patch_rank(x_hat, 9)
    bound = ic.theorem2_bound(nullity, 1, 9, sigma, pixel_bound=2.0, delta=0.05)
    errors = [
        ic.theorem2_pixel_errors(sigma * rng.normal(size=(9, 9, 1, 1)), x_hat, x).mean()
        for _ in range(100)
    ]
    assert np.mean(np.array(errors) <= bound) >= 0.95
    seven = ic.resize(mnist[0][:1], 10)[0].astype(np.float64)
    test = ic.inputs_at_correlation(jax.random.PRNGKey(0), seven, 0.0, 1)[0]
    nullities, mses = [], []
    for kernel in (11, 13, 17):
        nullities.append(kernel**2 - ic.patch_rank(seven, kernel))
        w0 = sigma * rng.normal(size=(kernel, kernel, 1, 1))
        mses.append(ic.theorem2_pixel_errors(w0, seven, test).mean())
    assert 0 < nullities[0] < nullities[1] < nullities[2]
    assert mses[0] < mses[1] < mses[2]
