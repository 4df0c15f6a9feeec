"""A small VGG-style classifier with its max-pool switches, and what-where decoders ([INV] §4).

``VGGMini`` stands in for VGG-16 (model D) where pretrained weights are out of reach: macro
layers of ``[3×3 conv ("same" zero padding), ReLU] × n`` closed by a 2×2 max pool (stride 2),
then one linear layer on the flattened last pool. Acting on one ``(C, H, W)`` image it returns
the class logits; ``apply(params, image, taps=True)`` also returns every layer's activation in
the paper's names: ``conv{i}_{j}`` (before ReLU, ``(K, H, W)``), ``pool{i}`` and ``switches{i}``
(the argmax position 0..3 inside each 2×2 region, row-major, the "where" of Zhao et al. 2016).

``ConvDecoder`` maps a macro layer's activation back to the image (the pretrained decoding
nets of Table 4 and Fig 4): its input is the pooled activation unpooled with the encoder's
switches (``unpool_2x2``), so it sees "what" and, for that layer, "where".
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from memjax.models.conv import Conv, Conv2d, Upsample, upsample_nearest

Blocks = tuple[tuple[int, ...], ...]


def max_pool_2x2(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """2×2 max pooling of ``(C, H, W)`` (H, W even) with switches.

    Returns:
      ``(pooled (C, H/2, W/2), switches (C, H/2, W/2))``; a switch is the row-major position
      0..3 of the region's maximum (the first one on ties).
    """
    c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"2×2 pooling needs even sizes, got {x.shape}")
    regions = x.reshape(c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4)
    regions = regions.reshape(c, h // 2, w // 2, 4)
    return regions.max(axis=-1), jnp.argmax(regions, axis=-1)


def unpool_2x2(pooled: jax.Array, switches: jax.Array) -> jax.Array:
    """The inverse of ``max_pool_2x2``'s layout: each value back at its switch, zeros elsewhere.

    ``switches = 0`` everywhere is the paper's naive unpooling (the top-left corner).
    """
    c, h, w = pooled.shape
    spread = jax.nn.one_hot(switches, 4, dtype=pooled.dtype) * pooled[..., None]
    return spread.reshape(c, h, w, 2, 2).transpose(0, 1, 3, 2, 4).reshape(c, 2 * h, 2 * w)


class VGGMini(nn.Module):
    """VGG-style classifier on one ``(C, H, W)`` image.

    Pooling is in floor mode (an odd last row or column is dropped, as PyTorch's MaxPool2d);
    with H, W divisible by ``2**len(blocks)`` nothing is dropped and every switch unpools.

    Attributes:
      blocks: output channels of the convs of each macro layer, e.g. ``((16, 16), (32, 32))``
        is conv1_1, conv1_2, pool1, conv2_1, conv2_2, pool2.
      num_classes: logits returned.
      kernel: the convs' size (3 in VGG; "same" zero padding).
      kernel_init: a name from ``memjax.models.initializers``.
    """

    blocks: Blocks
    num_classes: int = 10
    kernel: int = 3
    kernel_init: str = "pytorch"

    @nn.compact
    def __call__(self, image: jax.Array, taps: bool = False):
        if image.ndim != 3:
            raise ValueError(f"VGGMini acts on one (C, H, W) image, got {image.shape}")
        activations = {}
        x = jnp.moveaxis(image, 0, -1)
        for i, block in enumerate(self.blocks, start=1):
            for j, features in enumerate(block, start=1):
                conv = Conv2d(Conv(features, kernel=self.kernel), True, self.kernel_init,
                              name=f"conv{i}_{j}")  # fmt: skip
                x = conv(x)
                activations[f"conv{i}_{j}"] = jnp.moveaxis(x, -1, 0)
                x = nn.relu(x)
            h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2  # floor mode on odd sizes
            pooled, switches = max_pool_2x2(jnp.moveaxis(x[:h, :w], -1, 0))
            activations[f"pool{i}"], activations[f"switches{i}"] = pooled, switches
            x = jnp.moveaxis(pooled, 0, -1)
        logits = nn.Dense(self.num_classes, name="classifier")(x.reshape(-1))
        return (logits, activations) if taps else logits


def vgg_conv_filters(params, layer: str) -> jax.Array:
    """The kernel of ``layer`` (e.g. ``"conv2_1"``) as ``(K, M, 3, 3)`` (flax stores HWIO)."""
    return jnp.transpose(params["params"][layer]["kernel"], (3, 2, 0, 1))


def decoder_layers(blocks: Blocks, layer: int, image_channels: int = 1) -> tuple:
    """A decoder for macro layer ``layer``'s pool output, mirroring the encoder.

    From the unpooled map (the resolution of conv``{layer}``) each macro layer down to the
    first gets one conv to the channels of the macro layer below, then a 2× nearest-neighbour
    upsampling; a last conv gives the image channels.
    """
    if not 1 <= layer <= len(blocks):
        raise ValueError(f"layer must be in [1, {len(blocks)}], got {layer}")
    layers = []
    for below in range(layer - 1, 0, -1):
        layers += [Conv(blocks[below - 1][-1]), Upsample(2)]
    return (*layers, Conv(blocks[0][-1]), Conv(image_channels))


class ConvDecoder(nn.Module):
    """Convs (ReLU between, linear last) and upsamplings on one ``(C, H, W)`` map → image.

    Attributes:
      layers: ``Conv`` and ``Upsample`` specs (``decoder_layers``).
    """

    layers: tuple
    kernel_init: str = "pytorch"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 3:
            raise ValueError(f"ConvDecoder acts on one (C, H, W) map, got {x.shape}")
        x = jnp.moveaxis(x, 0, -1)
        convs = [layer for layer in self.layers if isinstance(layer, Conv)]
        index = 0
        for layer in self.layers:
            if isinstance(layer, Upsample):
                x = upsample_nearest(x, layer.factor)
                continue
            x = Conv2d(layer, True, self.kernel_init, name=f"conv{index}")(x)
            index += 1
            if index < len(convs):
                x = nn.relu(x)
        return jnp.moveaxis(x, -1, 0)
