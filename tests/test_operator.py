import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral
from memjax.models import (
    Conv,
    ConvAutoencoder,
    Upsample,
    network_ds,
    network_ds_identity_params,
)
from memjax.operator import (
    conv_matrix,
    layer_matrices,
    operator,
    product,
    spectral_radius,
    top_eigenvalues,
    top_singular_values,
)

STACKS = [
    (Conv(5, stride=2), Conv(6), Upsample(2), Conv(4, stride=2), Upsample(2), Conv(3)),
    (Conv(4, stride=4), Upsample(4), Conv(2), Conv(3)),
    (Conv(2), Conv(2, kernel=5), Conv(3, kernel=1)),
]


def _plain_jacobian(model, params, x):
    return jax.jacfwd(lambda v: model.apply(params, v.reshape(x.shape)).ravel())(x.ravel())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("layers", STACKS)
def test_explicit_layer_matrices_equal_jacfwd(layers, seed):
    model = ConvAutoencoder(layers, kernel_init="xavier_normal")
    x = jax.random.normal(jax.random.PRNGKey(seed), (3, 8, 8))
    params = model.init(jax.random.PRNGKey(seed + 10), x)
    explicit = product(layer_matrices(model, params, x.shape))
    np.testing.assert_allclose(explicit, _plain_jacobian(model, params, x), atol=1e-5)


def test_conv_matrix_has_the_forced_zero_pattern():
    # One 3×3 stride-1 conv on 4×4: output pixel (0, 0) cannot see input pixel (3, 3).
    m = conv_matrix(np.ones((1, 1, 3, 3)), size=4)
    assert m.shape == (16, 16)
    assert m[0, 15] == 0 and m[0, 5] == 1
    reach = [sum(0 <= i < 4 for i in (r - 1, r, r + 1)) for r in range(4)]  # 2, 3, 3, 2
    assert np.count_nonzero(m) == sum(reach) ** 2


@pytest.mark.parametrize("activation", ["linear", "leaky_relu", "tanh"])
def test_chunked_operator_equals_plain_jacfwd(activation):
    model = ConvAutoencoder(STACKS[0], activation=activation, use_bias=True)
    x = jax.random.normal(jax.random.PRNGKey(2), (3, 8, 8))
    params = model.init(jax.random.PRNGKey(3), x)
    expected = _plain_jacobian(model, params, x)
    for chunk in (1, 7, 192, 1000):
        np.testing.assert_allclose(
            operator(functools.partial(model.apply, params), x, chunk_size=chunk),
            expected,
            atol=1e-6,
        )
    np.testing.assert_allclose(
        operator(model.apply, x, params=params, chunk_size=50), expected, atol=1e-6
    )


def test_operator_over_seeds_matches_each_seed():
    model = ConvAutoencoder(STACKS[1])
    x = jnp.ones((3, 8, 8))
    params = jax.vmap(lambda k: model.init(k, x))(jax.random.split(jax.random.PRNGKey(0), 3))
    batched = operator(model.apply, x, params=params, seeds=True)
    assert batched.shape == (3, 192, 192)
    for i in range(3):
        one = jax.tree.map(lambda a, i=i: a[i], params)
        np.testing.assert_allclose(batched[i], operator(model.apply, x, params=one), atol=1e-6)
    with pytest.raises(ValueError, match="seeds=True needs params"):
        operator(model.apply, x, seeds=True)


def test_operator_compiles_once_per_model_across_params_and_equal_models():
    # model.apply of two equal modules, called with different params, must hit the jit cache:
    # count the jaxpr traces of the network's forward pass.
    traces = []

    class Counted(ConvAutoencoder):
        def __call__(self, x):
            traces.append(1)
            return super().__call__(x)

    x = jnp.ones((3, 8, 8))
    first = Counted(STACKS[2])
    params = [first.init(jax.random.PRNGKey(i), x) for i in range(3)]
    traces.clear()
    models = [first, Counted(STACKS[2]), first]
    ops = [operator(m.apply, x, params=p) for m, p in zip(models, params, strict=True)]
    assert len(traces) == 1
    assert not np.allclose(ops[0], ops[1])  # the params did reach the compiled program


def test_network_ds_identity_initialization_is_exactly_identity():
    a = operator(network_ds().apply, jnp.zeros((1, 2, 2)), params=network_ds_identity_params())
    np.testing.assert_array_equal(a, np.eye(4))


def test_layer_matrices_refuse_nonlinear_models():
    model = ConvAutoencoder(STACKS[2], activation="relu")
    params = model.init(jax.random.PRNGKey(0), jnp.ones((3, 8, 8)))
    with pytest.raises(ValueError, match="linear"):
        layer_matrices(model, params, (3, 8, 8))


def test_operator_rejects_bad_chunk_size():
    with pytest.raises(ValueError, match="chunk_size"):
        operator(lambda v: v, jnp.ones(3), chunk_size=0)


@pytest.mark.parametrize("activation", ["linear", "leaky_relu"])
def test_matrix_free_top_eigenvalues_match_the_dense_spectrum(activation):
    model = ConvAutoencoder(STACKS[0], activation=activation, kernel_init="xavier_normal")
    x = jax.random.normal(jax.random.PRNGKey(4), (3, 8, 8))
    params = model.init(jax.random.PRNGKey(5), x)
    a = np.asarray(operator(model.apply, x, params=params), np.float64)
    dense = spectral.eigenspectrum(a)
    values, vectors = top_eigenvalues(model.apply, x, k=8, params=params)
    np.testing.assert_allclose(np.abs(values), dense.magnitudes[:8], atol=1e-5)
    residual = np.linalg.norm(a @ vectors - vectors * values, axis=0)
    assert residual.max() < 1e-4  # they are eigenvectors of the same operator
    with pytest.raises(ValueError, match="k must be"):
        top_eigenvalues(functools.partial(model.apply, params), x, k=191)


@pytest.mark.parametrize("activation", ["linear", "leaky_relu"])
def test_matrix_free_top_singular_values_match_the_dense_svd(activation):
    model = ConvAutoencoder(STACKS[0], activation=activation, kernel_init="xavier_normal")
    x = jax.random.normal(jax.random.PRNGKey(4), (3, 8, 8))
    params = model.init(jax.random.PRNGKey(5), x)
    a = np.asarray(operator(model.apply, x, params=params), np.float64)
    u, s, vt = top_singular_values(model.apply, x, k=6, params=params)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False)[:6], rtol=1e-5)
    np.testing.assert_allclose(a @ vt.T, u * s, atol=1e-4)  # singular pairs of the same A
    with pytest.raises(ValueError, match="k must be"):
        top_singular_values(functools.partial(model.apply, params), x, k=192)


def test_spectral_radius_at_many_points_matches_the_dense_spectra():
    model = ConvAutoencoder(STACKS[0], activation="leaky_relu", kernel_init="xavier_normal")
    points = jax.random.normal(jax.random.PRNGKey(6), (4, 3, 8, 8))
    params = model.init(jax.random.PRNGKey(5), points[0])
    apply = functools.partial(model.apply, params)
    radii = spectral_radius(model.apply, points, params=params, krylov_dim=64)
    dense = [spectral.eigenspectrum(operator(apply, x)).magnitudes[0] for x in points]
    np.testing.assert_allclose(radii, dense, rtol=1e-3)
    assert len(set(np.round(dense, 6))) > 1  # LeakyReLU: the Jacobian differs between points
    # a Krylov space as large as the input is exact
    exact = spectral_radius(apply, points[:1], krylov_dim=192)
    np.testing.assert_allclose(exact, dense[:1], rtol=1e-4)


def test_operator_runs_in_true_float32_whatever_the_default_precision():
    # On GPUs JAX's default float32 precision is TF32 (~1e-3 relative error): the operator's
    # convolutions must ask for HIGHEST themselves, also under an outer lower default.
    model = ConvAutoencoder(STACKS[0])
    x = jnp.ones((3, 8, 8))
    params = model.init(jax.random.PRNGKey(0), x)
    with jax.default_matmul_precision("bfloat16"):
        jaxpr = str(jax.make_jaxpr(lambda p: operator(model.apply, x, params=p))(params))
    precisions = set(re.findall(r"precision=\(?([\w.]+)", jaxpr))
    assert jaxpr.count("conv_general_dilated") >= 5
    assert precisions == {"Precision.HIGHEST"}
