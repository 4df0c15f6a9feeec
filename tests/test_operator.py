import dataclasses
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import memjax.operator
from memjax import spectral
from memjax.models import (
    Conv,
    ConvAutoencoder,
    Upsample,
    network_ds,
    network_ds_identity_params,
)
from memjax.operator import (
    _choose_loop,
    _costly_with_convolutions,
    _Flat,
    _JacobianProduct,
    conv_matrix,
    layer_matrices,
    operator,
    product,
    spectral_radius,
    top_eigenvalues,
    top_singular_values,
)
from memjax.spectral import (
    _host_restart,
    _host_stage,
    _host_update,
    _krylov_start,
    _solve_on_device,
)
from memjax.train import TrainConfig, train

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


@functools.cache
def _trained(activation):
    """STACKS[0] trained on two images (300 Adam steps): memorization clusters its top
    eigenvalues near 1, the hard case for a Krylov solver."""
    model = ConvAutoencoder(STACKS[0], activation=activation, kernel_init="xavier_normal")
    data = jax.random.uniform(jax.random.PRNGKey(7), (2, 3, 8, 8))
    config = TrainConfig("adam", 1e-2, max_steps=300, progress=False)
    params, _ = train(jax.random.PRNGKey(5), model, data, config)
    return model, params, data[0]


def _dense(model, params, x):
    return np.asarray(operator(model.apply, x, params=params), np.float64)


@pytest.mark.parametrize("activation", ["linear", "leaky_relu"])
def test_top_eigenvalues_of_trained_nets_match_the_dense_spectrum(activation):
    model, params, x = _trained(activation)
    a = _dense(model, params, x)
    dense = spectral.eigenspectrum(a)
    assert np.sum(np.abs(dense.magnitudes[:8] - 1) < 0.1) >= 2  # trained: |λ| ≈ 1 cluster
    values, vectors = top_eigenvalues(model.apply, x, k=8, params=params)
    np.testing.assert_allclose(np.abs(values), dense.magnitudes[:8], atol=1e-5)
    np.testing.assert_allclose(values, dense.values[:8], atol=1e-4)  # conjugates in order
    residual = np.linalg.norm(a @ vectors - vectors * values, axis=0)
    assert residual.max() < 1e-5  # they are eigenvectors of the same operator
    if activation == "leaky_relu":  # the host-driven loop is the same solver
        host = top_eigenvalues(model.apply, x, k=8, params=params, loop="host")
        np.testing.assert_allclose(host.values, values, atol=1e-5)
    with pytest.raises(ValueError, match="k must be"):
        top_eigenvalues(model.apply, x, k=191, params=params)


def test_top_eigenvalues_compile_once_across_params():
    model, params, x = _trained("linear")
    top_eigenvalues(model.apply, x, k=8, params=params)
    compiled = _solve_on_device._cache_size()
    init = model.init(jax.random.PRNGKey(0), x)
    new = top_eigenvalues(ConvAutoencoder(**_fields(model)).apply, x, k=8, params=init)
    assert _solve_on_device._cache_size() == compiled  # an equal model, new params: no compile
    np.testing.assert_allclose(
        np.abs(new.values),
        spectral.eigenspectrum(_dense(model, init, x)).magnitudes[:8],
        atol=1e-5,
    )


def _fields(model):
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(model)
            if f.name not in ("parent", "name")}  # fmt: skip


def test_top_singular_values_over_seeds_match_the_dense_svd():
    model, trained, x = _trained("leaky_relu")
    init = model.init(jax.random.PRNGKey(0), x)
    params = jax.tree.map(lambda *p: jnp.stack(p), trained, init)
    u, s, vt = top_singular_values(model.apply, x, k=6, params=params, seeds=True)
    assert u.shape == (2, 192, 6) and s.shape == (2, 6) and vt.shape == (2, 6, 192)
    for i, p in enumerate((trained, init)):
        a = _dense(model, p, x)
        np.testing.assert_allclose(s[i], np.linalg.svd(a, compute_uv=False)[:6], rtol=1e-5)
        np.testing.assert_allclose(a @ vt[i].T, u[i] * s[i], atol=1e-5)  # singular pairs of A
        np.testing.assert_allclose(vt[i] @ vt[i].T, np.eye(6), atol=1e-5)
    with pytest.raises(ValueError, match="k must be"):
        top_singular_values(model.apply, x, k=191, params=trained)


def test_spectral_radius_at_many_points_matches_the_dense_spectra():
    model, params, _ = _trained("leaky_relu")
    points = jax.random.normal(jax.random.PRNGKey(6), (4, 3, 8, 8))
    radii = spectral_radius(model.apply, points, params=params)
    apply = functools.partial(model.apply, params)
    dense = [spectral.eigenspectrum(operator(apply, x)).magnitudes[0] for x in points]
    np.testing.assert_allclose(radii, dense, rtol=1e-5)
    assert len(set(np.round(dense, 4))) > 1  # LeakyReLU: the Jacobian differs between points


def test_solvers_on_an_explicit_matrix_warn_and_refuse_bad_input():
    # apply(params, x) = params @ x: the solvers on a matrix with known spectrum.
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=(60, 60)) / np.sqrt(60), jnp.float32)
    matmul = jnp.matmul
    with pytest.warns(RuntimeWarning, match="did not reach tol"):
        top_eigenvalues(matmul, jnp.ones(60), k=4, params=a, tol=1e-9, max_restarts=1)
    with pytest.raises(ValueError, match="square Jacobian"):
        top_eigenvalues(matmul, jnp.ones(60), k=4, params=a[:50])
    u, s, vt = top_singular_values(matmul, jnp.ones(60), k=4, params=a[:50])  # 50 × 60
    np.testing.assert_allclose(s, np.linalg.svd(np.asarray(a[:50]), compute_uv=False)[:4],
                               rtol=1e-5)  # fmt: skip
    assert u.shape == (50, 4)
    with pytest.raises(ValueError, match="loop"):
        spectral_radius(matmul, jnp.ones((2, 60)), params=a, loop="gpu")
    with pytest.raises(ValueError, match="seeds=True needs params"):
        top_eigenvalues(lambda v: v, jnp.ones(60), seeds=True)


def test_the_loop_is_chosen_by_convolutions_and_cost(monkeypatch):
    matmul = _JacobianProduct(_Flat(jnp.matmul, (60,), with_params=True), gram=False)
    model = ConvAutoencoder(STACKS[2])
    x = jnp.ones((3, 8, 8))
    conv = _JacobianProduct(_Flat(model.apply, x.shape, with_params=True), gram=True)
    conv_operand = (model.init(jax.random.PRNGKey(0), x), x.ravel())
    assert _choose_loop("auto", conv, conv_operand) == "device"  # a cheap conv net
    _costly_with_convolutions.cache_clear()
    monkeypatch.setattr(memjax.operator, "SCAN_FLOP_LIMIT", 0.0)  # now every product is costly
    on_cpu = "host" if jax.default_backend() == "cpu" else "device"
    assert _choose_loop("auto", conv, conv_operand) == on_cpu
    assert _choose_loop("auto", matmul, (jnp.eye(60), jnp.ones(60))) == "device"  # no convolutions
    assert _choose_loop("device", conv, conv_operand) == "device"
    _costly_with_convolutions.cache_clear()


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


def test_krylov_solvers_run_in_true_float32_whatever_the_default_precision():
    # Products and the Gram–Schmidt dots of both loops, under an outer bfloat16 default.
    model = ConvAutoencoder(STACKS[0])
    x = jnp.ones(192)
    params = model.init(jax.random.PRNGKey(0), x.reshape(3, 8, 8))
    product = _JacobianProduct(_Flat(model.apply, (3, 8, 8), with_params=True), gram=True)
    state = _krylov_start(jnp.arange(192.0), 20)
    config = (4, 20, 12, 1e-6, 10, True)
    programs = {
        "device": lambda p: _solve_on_device(product, (p, x), x, None, config),
        "jvp": lambda p: _host_stage(product, 0, (p, x), x, None),
        "vjp": lambda p: _host_stage(product, 1, (p, x), x, None),
        "update": lambda p: _host_update(state, x, None),
        "restart": lambda p: _host_restart(state, None, config),
    }
    for name, program in programs.items():
        with jax.default_matmul_precision("bfloat16"):
            jaxpr = str(jax.make_jaxpr(program)(params))
        assert set(re.findall(r"precision=\(?([\w.]+)", jaxpr)) == {"Precision.HIGHEST"}, name


def test_seed_spectra_are_each_seeds_dense_spectrum_and_mask_drops_seeds():
    # apply(params, x) = params @ x with two "seeds": diag(3, 2, 1) and a rotation by 90°.
    mats = jnp.stack([jnp.diag(jnp.array([3.0, 2.0, 1.0])),
                      jnp.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.5]])])  # fmt: skip
    both = memjax.operator.seed_spectra(jnp.matmul, jnp.ones(3), params=mats)
    np.testing.assert_allclose(both[0].magnitudes, [3, 2, 1], rtol=1e-6)
    np.testing.assert_allclose(both[1].magnitudes, [1, 1, 0.5], rtol=1e-6)  # the pair ±i
    np.testing.assert_allclose(sorted(both[1].values[:2].imag), [-1, 1], atol=1e-6)
    kept = memjax.operator.seed_spectra(jnp.matmul, jnp.ones(3), params=mats, mask=[False, True])
    assert len(kept) == 1
    np.testing.assert_array_equal(kept[0].values, both[1].values)


def test_krylov_solvers_refuse_an_unknown_option():
    with pytest.raises(TypeError, match="tolerance"):
        top_eigenvalues(lambda v: v, jnp.ones(60), k=4, tolerance=1e-3)
