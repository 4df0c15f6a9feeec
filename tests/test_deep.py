import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import ConvAutoencoder, DeepConvStack, stride1_stack_layers


def test_scanned_stack_equals_the_unrolled_stack():
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 5, 5))
    deep = DeepConvStack(7, activation="leaky_relu", kernel_init="xavier_normal")
    params = deep.init(jax.random.PRNGKey(1), x)
    kernels = params["params"]["tail"]["conv"]["kernel"]
    assert kernels.shape == (7, 3, 3, 1, 1) and not np.allclose(kernels[0], kernels[1])
    flat = ConvAutoencoder(stride1_stack_layers(7, 1), activation="leaky_relu", activate_last=True)
    flat_params = {"params": {f"conv{i}": {"kernel": kernels[i]} for i in range(7)}}
    np.testing.assert_allclose(deep.apply(params, x), flat.apply(flat_params, x), atol=1e-6)


def test_skip_blocks_and_leftover_layers():
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 4, 4))
    deep = DeepConvStack(23, skip_every=10, kernel_init="zero")
    params = deep.init(jax.random.PRNGKey(0), x)
    assert params["params"]["blocks"]["layers"]["conv"]["kernel"].shape == (2, 10, 3, 3, 1, 1)
    assert params["params"]["tail"]["conv"]["kernel"].shape == (3, 3, 3, 1, 1)
    # zero blocks with skips pass x through; the zero tail (no skip) then gives 0
    assert np.allclose(deep.apply(params, x), 0)
    no_tail = DeepConvStack(20, skip_every=10, kernel_init="zero")
    np.testing.assert_allclose(no_tail.apply(no_tail.init(jax.random.PRNGKey(0), x), x), x)


def test_program_size_does_not_grow_with_depth():
    x = jnp.ones((1, 7, 7))

    def convolutions(depth):
        model = DeepConvStack(depth, skip_every=10 if depth > 100 else 0)
        params = model.init(jax.random.PRNGKey(0), x)
        return str(jax.make_jaxpr(model.apply)(params, x)).count("conv_general_dilated")

    assert convolutions(10) == convolutions(350 - 350 % 10) == 1  # one conv, scanned


def test_bad_deep_stack_arguments():
    with pytest.raises(ValueError, match="depth must be positive"):
        DeepConvStack(0).init(jax.random.PRNGKey(0), jnp.ones((1, 4, 4)))
    with pytest.raises(ValueError, match=r"one \(1, H, W\) image"):
        DeepConvStack(3).init(jax.random.PRNGKey(0), jnp.ones((3, 4, 4)))
