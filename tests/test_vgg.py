"""VGGMini's taps and switches, 2×2 pooling / unpooling, the what-where decoder ([INV] §4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax.models import ConvDecoder, VGGMini, decoder_layers, max_pool_2x2, unpool_2x2


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
    with pytest.raises(ValueError, match="layer"):
        decoder_layers(blocks, 4)
