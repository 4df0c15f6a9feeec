import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import (
    Conv,
    ConvAutoencoder,
    UNet,
    Upsample,
    d1_layers,
    d2_layers,
    downsampling_layers,
    network_d_layers,
    nld_network,
    output_shape,
    stride1_stack_layers,
)


def test_architectures_return_the_input_shape_and_count_parameters():
    d = ConvAutoencoder(downsampling_layers(64, 192))
    x = jnp.zeros((3, 32, 32))
    params = d.init(jax.random.PRNGKey(0), x)
    assert d.apply(params, x).shape == x.shape
    # 3 stride-2 convs (3→192→192→192), ×8 up, 2 convs 192→64→64, last 64→3: weights only.
    n = 9 * (3 * 192 + 192 * 192 * 2 + 192 * 64 + 64 * 64 + 64 * 3)
    assert sum(p.size for p in jax.tree.leaves(params)) == n
    assert output_shape(network_d_layers(), (3, 32, 32)) == (3, 32, 32)
    assert output_shape(downsampling_layers(4, 4, downsample=False), (3, 32, 32)) == (3, 32, 32)
    with_bias = ConvAutoencoder(stride1_stack_layers(3, 2), use_bias=True)
    assert (
        sum(
            p.size
            for p in jax.tree.leaves(with_bias.init(jax.random.PRNGKey(0), jnp.zeros((1, 4, 4))))
        )
        == 9 * 2 + 2 + 9 * 4 + 2 + 9 * 2 + 1
    )


def test_nld_is_d_aa_with_a_leaky_relu_after_every_conv_the_last_one_too():
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 16, 16))
    for downsample in (True, False):
        nld = nld_network(4, downsample=downsample, convs_after_up=1)
        layers = downsampling_layers(4, 4, convs_after_up=1, downsample=downsample)
        assert nld.layers == layers
        params = nld.init(jax.random.PRNGKey(0), x)
        # The same weights with a linear last layer: NLD's output is its LeakyReLU.
        open_last = ConvAutoencoder(layers, activation="leaky_relu")
        pre = open_last.apply(params, x)
        assert (pre < 0).any()
        np.testing.assert_allclose(nld.apply(params, x), jax.nn.leaky_relu(pre), rtol=1e-6)
    assert nld_network(4, kernel_init="xavier_uniform", use_bias=True).use_bias


def test_stride2_conv_pads_symmetrically_like_pytorch():
    # PyTorch conv2d(stride=2, padding=1) of a 4×4 ramp with a centre-only kernel samples
    # pixels (0, 0), (0, 2), (2, 0), (2, 2); Flax's "SAME" would sample (1, 1), ... instead.
    model = ConvAutoencoder((Conv(1, stride=2), Upsample(2)))
    kernel = jnp.zeros((3, 3, 1, 1)).at[1, 1, 0, 0].set(1.0)
    x = jnp.arange(16.0).reshape(1, 4, 4)
    y = model.apply({"params": {"conv0": {"kernel": kernel}}}, x)
    np.testing.assert_array_equal(y[0, ::2, ::2], [[0.0, 2.0], [8.0, 10.0]])


def test_skip_connections_add_block_inputs():
    model = ConvAutoencoder(stride1_stack_layers(4, 1), kernel_init="zero", skip_every=2)
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 4, 4))
    params = model.init(jax.random.PRNGKey(0), x)
    np.testing.assert_allclose(model.apply(params, x), x)  # zero blocks + skips = identity


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Conv(0), "Conv.features must be positive"),
        (lambda: Conv(3, stride=-1), "Conv.stride must be positive"),
        (lambda: Upsample(0), "Upsample.factor"),
        (lambda: stride1_stack_layers(0), "depth must be positive"),
        (lambda: downsampling_layers(64, 0), "b must be positive"),
        (lambda: d1_layers(4, levels=0), "levels must be positive"),
        (lambda: d2_layers(4, depth=4), "D2 needs at least 5 convolutions, got depth 4"),
        (lambda: output_shape((Conv(3, stride=4),), (3, 6, 6)), "stride 4 does not divide"),
        (lambda: output_shape((Conv(3),), (3, 6, 5)), "square"),
    ],
)
def test_bad_architectures_name_the_parameter(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_inputs_name_the_problem():
    model = ConvAutoencoder(downsampling_layers(4, 4))
    with pytest.raises(ValueError, match=r"one \(C, H, W\) image"):
        model.init(jax.random.PRNGKey(0), jnp.zeros((2, 3, 32, 32)))
    with pytest.raises(
        ValueError, match=r"layer 2 Conv.*\(3, 12, 12\).*stride 2 does not divide the input size 3"
    ):
        model.init(jax.random.PRNGKey(0), jnp.zeros((3, 12, 12)))
    with pytest.raises(ValueError, match="must return the input shape"):
        model.init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32)))
    with pytest.raises(ValueError, match="unknown activation"):
        ConvAutoencoder((Conv(1),), activation="gelu").init(
            jax.random.PRNGKey(0), jnp.zeros((1, 4, 4))
        )
    with pytest.raises(ValueError, match="unknown kernel_init 'he'"):
        ConvAutoencoder((Conv(1),), kernel_init="he").init(
            jax.random.PRNGKey(0), jnp.zeros((1, 4, 4))
        )


def test_unet_is_an_hourglass_by_default_and_skips_reach_the_input():
    image = jax.random.uniform(jax.random.PRNGKey(0), (3, 32, 32))
    hourglass = UNet()
    params = jax.eval_shape(hourglass.init, jax.random.PRNGKey(1), image)
    small = UNet(features=(4, 4, 4, 4, 4))
    out = small.apply(small.init(jax.random.PRNGKey(1), image), image)
    assert out.shape == image.shape and float(out.min()) > 0 and float(out.max()) < 1  # sigmoid
    # DIP's channels and kernels: 5×5 convs down, 3×3 up, 16 → 128 channels
    assert params["params"]["down0_a"]["kernel"].shape == (5, 5, 3, 16)
    assert params["params"]["up4_a"]["kernel"].shape == (3, 3, 128, 128)
    assert "skip0" not in params["params"]
    with_skips = UNet(features=(8, 8), skip_channels=4)
    params = with_skips.init(jax.random.PRNGKey(1), image)
    assert params["params"]["up0_a"]["kernel"].shape == (3, 3, 4 + 8, 8)
    with pytest.raises(ValueError, match="divisible by 32"):
        hourglass.apply(params, jnp.zeros((3, 24, 24)))


def test_mo1_d1_reaches_1x1_and_d2_reaches_4x4_after_one_layer():
    cifar = (3, 32, 32)
    d1 = d1_layers(8)
    assert output_shape(d1[:5], cifar) == (8, 1, 1)  # five stride-2 convs: 32 → 1
    assert output_shape(d1, cifar) == cifar and len(d1) == 5 + 2 * 5 + 1
    d2 = d2_layers(64)
    assert output_shape(d2[:1], cifar) == (64, 4, 4)  # [MO1] §3.3: 4×4 after layer 1
    assert sum(isinstance(layer, Conv) for layer in d2) == 29 and output_shape(d2, cifar) == cifar
    # constant 8×8 blocks would follow a ×8 upsampling: D2 upsamples ×2 three times instead
    assert [layer.factor for layer in d2 if isinstance(layer, Upsample)] == [2, 2, 2]
    params = jax.eval_shape(ConvAutoencoder(d2_layers(4, depth=6)).init, jax.random.PRNGKey(0),
                            jnp.zeros(cifar))  # fmt: skip
    assert sum(p.size for p in jax.tree.leaves(params)) == 9 * (3 * 4 + 4 * 4 * 4 + 4 * 3)


def test_constant_inits_stack_one_constant_start_per_value():
    from memjax.models import DeepConvStack, constant_inits

    model, x = DeepConvStack(3), jnp.ones((1, 3, 3))
    init = constant_inits(model, x, (0.1, 0.2))
    random = model.init(jax.random.PRNGKey(1), x)
    for leaf, other in zip(jax.tree.leaves(init), jax.tree.leaves(random), strict=True):
        shape = other.shape
        assert leaf.shape == (2, *shape)
        np.testing.assert_array_equal(leaf[0], np.full(shape, 0.1, np.float32))
        np.testing.assert_array_equal(leaf[1], np.full(shape, 0.2, np.float32))


def test_hidden_channel_spread_is_zero_for_equal_filters_and_ignores_the_last_layer():
    from memjax.models import ConvAutoencoder, d2_layers, hidden_channel_spread

    model, x = ConvAutoencoder(d2_layers(4, 5), kernel_init="constant:0.01"), jnp.ones((3, 32, 32))
    params = model.init(jax.random.PRNGKey(0), x)
    assert hidden_channel_spread(params) == 0.0  # the last layer's filters are equal too here
    kernel = params["params"]["conv1"]["kernel"]
    params["params"]["conv1"]["kernel"] = kernel.at[..., 1].add(0.5)
    assert hidden_channel_spread(params) == pytest.approx(0.5)
    last = sorted(params["params"], key=lambda n: int(n.removeprefix("conv")))[-1]
    params["params"]["conv1"]["kernel"] = kernel
    params["params"][last]["kernel"] = params["params"][last]["kernel"].at[..., 2].add(9.0)
    assert hidden_channel_spread(params) == 0.0


def test_output_norm_at_init_is_the_norm_of_the_output_at_init():
    from memjax.models import ConvAutoencoder, d2_layers, output_norm_at_init

    model, key = ConvAutoencoder(d2_layers(4, 5)), jax.random.PRNGKey(2)
    x = np.ones((3, 32, 32), np.float32)
    expected = jnp.linalg.norm(model.apply(model.init(key, x), x))
    assert output_norm_at_init(model, key, x) == float(expected) > 0
    small = ConvAutoencoder(d2_layers(4, 5), kernel_init="constant:1e-3")
    assert output_norm_at_init(small, key, x) < output_norm_at_init(model, key, x)


def test_layer_index_orders_layers_by_their_trailing_number():
    from memjax.models import layer_index

    assert sorted(["conv10", "conv2", "conv0"], key=layer_index) == ["conv0", "conv2", "conv10"]
    assert layer_index("dense3") == 3
    with pytest.raises(ValueError, match="does not end in its index"):
        layer_index("Dense_")
