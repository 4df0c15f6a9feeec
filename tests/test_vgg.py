"""VGGMini's taps and switches, 2×2 pooling / unpooling, the what-where decoder ([INV] §4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import (
    Conv,
    ConvDecoder,
    Upsample,
    VGGMini,
    decoder_layers,
    max_pool_2x2,
    unpool_2x2,
)
from memjax.models.vgg import Unpool, what_where_input


def test_pool_switches_and_unpool():
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 8))
    pooled, switches = max_pool_2x2(x)
    regions = np.asarray(x).reshape(3, 3, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(3, 3, 4, 4)
    np.testing.assert_array_equal(pooled, regions.max(-1))
    np.testing.assert_array_equal(switches, regions.argmax(-1))
    up = unpool_2x2(pooled, switches)
    # each region keeps exactly its maximum, in place
    assert up.shape == x.shape and int((up != 0).sum()) == pooled.size
    np.testing.assert_array_equal(jnp.where(up != 0, x, 0), up)
    corner = unpool_2x2(pooled, jnp.zeros_like(switches))
    np.testing.assert_array_equal(corner[:, ::2, ::2], pooled)
    with pytest.raises(ValueError, match="even"):
        max_pool_2x2(x[:, :5])


def test_vgg_taps_match_logits_and_pooling():
    model = VGGMini(((4, 4), (8,)))
    image = jax.random.uniform(jax.random.PRNGKey(1), (1, 8, 8))
    params = model.init(jax.random.PRNGKey(2), image)
    logits, taps = model.apply(params, image, taps=True)
    np.testing.assert_array_equal(logits, model.apply(params, image))
    assert taps["conv1_2"].shape == (4, 8, 8) and taps["pool2"].shape == (8, 2, 2)
    pooled, switches = max_pool_2x2(jax.nn.relu(taps["conv2_1"]))
    np.testing.assert_array_equal(taps["pool2"], pooled)
    np.testing.assert_array_equal(taps["switches2"], switches)
    # a pool of non-negative maps is at least as dense as the conv it pools
    dense = lambda a: float(jnp.mean(a > 0))  # noqa: E731
    assert dense(taps["pool1"]) >= dense(jax.nn.relu(taps["conv1_2"]))


def test_decoder_maps_each_layer_back_to_the_image():
    blocks = ((4, 4), (8, 8), (16, 16))
    for layer, size in ((1, 16), (2, 8), (3, 4)):
        decoder = ConvDecoder(decoder_layers(blocks, layer))
        x = jnp.ones((blocks[layer - 1][-1], size, size))
        params = decoder.init(jax.random.PRNGKey(0), x)
        assert decoder.apply(params, x).shape == (1, 16, 16)
    # mirrored: a conv to the channels of the macro layer below, then ×2, down to the image
    assert decoder_layers(blocks, 3) == (Conv(8), Upsample(2), Conv(4), Upsample(2), Conv(4),
                                         Conv(1))  # fmt: skip
    assert decoder_layers(blocks, 1, image_channels=3) == (Conv(4), Conv(3))
    with pytest.raises(ValueError, match="layer"):
        decoder_layers(blocks, 4)


def test_all_switch_decoder_unpools_with_every_layer():
    """switches="all": each upsampling unpools with the switches read from the flat input."""
    blocks = ((2,), (3,))
    model = VGGMini(blocks)
    image = jax.random.uniform(jax.random.PRNGKey(3), (1, 8, 8))
    _, taps = model.apply(model.init(jax.random.PRNGKey(4), image), image, taps=True)
    layers = decoder_layers(blocks, 2, switches="all")
    assert layers[1] == Unpool(1)
    unpooled = unpool_2x2(taps["pool2"], taps["switches2"])
    flat = what_where_input(unpooled, [taps["switches1"]])
    assert flat.shape == (unpooled.size + taps["switches1"].size,)
    decoder = ConvDecoder(layers, map_shape=unpooled.shape)
    params = decoder.init(jax.random.PRNGKey(5), flat)
    assert decoder.apply(params, flat).shape == (1, 8, 8)
    # the lower switches matter: moving them changes the image, as the same map does not
    corner = what_where_input(unpooled, [jnp.zeros_like(taps["switches1"])])
    assert not np.allclose(decoder.apply(params, flat), decoder.apply(params, corner))
    with pytest.raises(ValueError, match="map_shape"):
        ConvDecoder(layers).init(jax.random.PRNGKey(5), flat)
    with pytest.raises(ValueError, match="switches"):
        decoder_layers(blocks, 2, switches="some")
