"""A small VGG-style classifier with its max-pool switches, and what-where decoders ([INV] §4).

``VGGMini`` stands in for VGG-16 (model D) where pretrained weights are out of reach: macro
layers of ``[3×3 conv ("same" zero padding), ReLU] × n`` closed by a 2×2 max pool (stride 2),
then one linear layer on the flattened last pool. Acting on one ``(C, H, W)`` image it returns
the class logits; ``apply(params, image, taps=True)`` also returns every layer's activation in
the paper's names: ``conv{i}_{j}`` (before ReLU, ``(K, H, W)``), ``pool{i}`` and ``switches{i}``
(the argmax position 0..3 inside each 2×2 region, row-major, the "where" of Zhao et al. 2016).

``ConvDecoder`` maps a macro layer's activation back to the image (the pretrained decoding
nets of Table 4 and Fig 4): its input is the pooled activation unpooled with the encoder's
switches (``unpool_2x2``), so it sees "what" and, for that layer, "where". With
``decoder_layers(..., switches="all")`` it also unpools with the switches of every macro layer
below (``Unpool`` in place of nearest-neighbour upsampling), as the what-where decoders of
Zhang et al. (2016) that the paper borrows; its input is then ``what_where_input``'s flat vector.
"""

from __future__ import annotations

import dataclasses
import math

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


SWITCH_USES = ("own", "all")


@dataclasses.dataclass(frozen=True)
class Unpool:
    """A decoder layer: 2×2 unpooling with the encoder's switches of macro layer ``layer``."""

    layer: int


def decoder_layers(
    blocks: Blocks, layer: int, image_channels: int = 1, switches: str = "own"
) -> tuple:
    """A decoder for macro layer ``layer``'s pool output, mirroring the encoder.

    From the unpooled map (the resolution of conv``{layer}``) each macro layer down to the
    first gets one conv to the channels of the macro layer below, then a 2× upsampling; a last
    conv gives the image channels.

    Args:
      switches: ``"own"``: only ``layer``'s switches (in the input), nearest-neighbour
        upsampling below; ``"all"``: each upsampling is ``Unpool`` with the switches of the
        macro layer below (``what_where_input``).
    """
    if not 1 <= layer <= len(blocks):
        raise ValueError(f"layer must be in [1, {len(blocks)}], got {layer}")
    if switches not in SWITCH_USES:
        raise ValueError(f"switches must be one of {SWITCH_USES}, got {switches!r}")
    layers = []
    for below in range(layer - 1, 0, -1):
        up = Unpool(below) if switches == "all" else Upsample(2)
        layers += [Conv(blocks[below - 1][-1]), up]
    return (*layers, Conv(blocks[0][-1]), Conv(image_channels))


def what_where_input(unpooled: jax.Array, lower_switches) -> jax.Array:
    """One flat input for a decoder with ``Unpool`` layers (``train`` takes one array).

    Args:
      unpooled: ``(C, H, W)``, the top layer's pool unpooled with its switches.
      lower_switches: the switch maps of the macro layers below, in decoding order
        (``layer − 1`` down to 1), each ``(C_i, H_i, W_i)`` integers 0..3.

    Returns:
      ``unpooled`` and then each switch map, raveled and concatenated (switches as floats,
      exact); ``ConvDecoder(map_shape=unpooled.shape)`` splits it back.
    """
    parts = [unpooled.ravel(), *(s.ravel().astype(unpooled.dtype) for s in lower_switches)]
    return jnp.concatenate(parts)


class ConvDecoder(nn.Module):
    """Convs (ReLU between, linear last) and upsamplings on one ``(C, H, W)`` map → image.

    Attributes:
      layers: ``Conv``, ``Upsample`` and ``Unpool`` specs (``decoder_layers``).
      map_shape: the ``(C, H, W)`` of the unpooled map that opens a flat ``what_where_input``
        (needed with ``Unpool`` layers); each ``Unpool`` reads the next switch map, of the
        shape of the activation it unpools.
    """

    layers: tuple
    kernel_init: str = "pytorch"
    map_shape: tuple[int, ...] | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        unpools = any(isinstance(layer, Unpool) for layer in self.layers)
        if unpools and self.map_shape is None:
            raise ValueError("Unpool layers (switches='all') read a flat input: give map_shape")
        switches = None
        if self.map_shape is not None:
            size = math.prod(self.map_shape)
            x, switches = x[:size].reshape(self.map_shape), x[size:]
        if x.ndim != 3:
            raise ValueError(f"ConvDecoder acts on one (C, H, W) map, got {x.shape}")
        x = jnp.moveaxis(x, 0, -1)
        n_convs = sum(isinstance(layer, Conv) for layer in self.layers)
        index = 0
        for layer in self.layers:
            if isinstance(layer, Upsample):
                x = upsample_nearest(x, layer.factor)
                continue
            if isinstance(layer, Unpool):
                h, w, c = x.shape
                where = switches[: c * h * w].reshape(c, h, w).astype(jnp.int32)
                switches = switches[c * h * w :]
                x = jnp.moveaxis(unpool_2x2(jnp.moveaxis(x, -1, 0), where), 0, -1)
                continue
            x = Conv2d(layer, True, self.kernel_init, name=f"conv{index}")(x)
            index += 1
            if index < n_convs:
                x = nn.relu(x)
        return jnp.moveaxis(x, -1, 0)
