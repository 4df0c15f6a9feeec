"""Conv padding modes: PyTorch's padding_mode "zeros" / "circular" / "reflect"."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import Conv, ConvAutoencoder, Upsample, downsampling_layers
from memjax.models.conv import pad_image


def reference_conv(image_hwc, kernel_hwio, stride, pad, mode):
    """Direct cross-correlation on a numpy-padded image (numpy's "wrap" is circular)."""
    numpy_mode = {"zeros": "constant", "circular": "wrap", "reflect": "reflect"}[mode]
    x = np.pad(image_hwc, ((pad, pad), (pad, pad), (0, 0)), mode=numpy_mode)
    k = kernel_hwio.shape[0]
    out = (x.shape[0] - k) // stride + 1
    y = np.zeros((out, out, kernel_hwio.shape[-1]))
    for r in range(out):
        for c in range(out):
            patch = x[r * stride : r * stride + k, c * stride : c * stride + k]
            y[r, c] = np.einsum("hwi,hwio->o", patch, kernel_hwio)
    return y


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_matches_padded_cross_correlation(mode, stride):
    model = ConvAutoencoder((Conv(2, stride=stride, padding_mode=mode), Upsample(stride)))
    image = np.random.default_rng(0).normal(size=(2, 8, 8))
    with jax.enable_x64(True):
        image = jnp.asarray(image, jnp.float64)
        params = model.init(jax.random.PRNGKey(1), image)
        out = np.asarray(model.apply(params, image))
    kernel = np.asarray(params["params"]["conv0"]["kernel"])
    expected = reference_conv(np.moveaxis(np.asarray(image), 0, -1), kernel, stride, 1, mode)
    expected = np.repeat(np.repeat(expected, stride, 0), stride, 1)
    np.testing.assert_allclose(out, np.moveaxis(expected, -1, 0), atol=1e-12)


def test_modes_differ_only_at_the_border():
    image = jax.random.normal(jax.random.PRNGKey(2), (1, 8, 8))
    outs = {}
    for mode in ("zeros", "circular", "reflect"):
        model = ConvAutoencoder((Conv(1, padding_mode=mode),))
        params = model.init(jax.random.PRNGKey(3), image)  # same key: same kernel
        outs[mode] = np.asarray(model.apply(params, image))[0]
    for mode in ("circular", "reflect"):
        np.testing.assert_allclose(outs[mode][1:-1, 1:-1], outs["zeros"][1:-1, 1:-1], atol=1e-6)
        assert np.abs(outs[mode][0] - outs["zeros"][0]).max() > 1e-3


def test_default_is_zero_padding_and_unchanged():
    layers = downsampling_layers(4, 4, channels=1)
    assert all(layer.padding_mode == "zeros" for layer in layers if isinstance(layer, Conv))
    zero = ConvAutoencoder(layers)
    explicit = ConvAutoencoder(
        tuple(
            dataclasses.replace(layer, padding_mode="zeros") if isinstance(layer, Conv) else layer
            for layer in layers
        )
    )
    image = jax.random.normal(jax.random.PRNGKey(4), (1, 16, 16))
    params = zero.init(jax.random.PRNGKey(5), image)
    np.testing.assert_array_equal(zero.apply(params, image), explicit.apply(params, image))


def test_pad_image_wraps_and_reflects():
    x = jnp.arange(4.0).reshape(1, 4, 1)
    np.testing.assert_array_equal(pad_image(x, 1, "circular")[1, :, 0], [3, 0, 1, 2, 3, 0])
    np.testing.assert_array_equal(pad_image(x, 1, "reflect")[1, :, 0], [1, 0, 1, 2, 3, 2])
    np.testing.assert_array_equal(pad_image(x, 1, "zeros")[1, :, 0], [0, 0, 1, 2, 3, 0])


def test_bad_padding_mode_is_refused():
    with pytest.raises(ValueError, match="padding_mode"):
        Conv(3, padding_mode="replicate")
    with pytest.raises(ValueError, match="reflect padding"):
        Conv(3, kernel=5, padding_mode="reflect").output_size(2)
