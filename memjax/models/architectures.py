"""The named architectures of the papers, as layer sequences for :class:`ConvAutoencoder`."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from memjax.models.conv import Conv, ConvAutoencoder, Upsample


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")


def network_ds_layers() -> tuple:
    """Network DS of [DS] Fig 4a on 1×2×2 images.

    A stride-2 conv with 4 filters takes the image to 4×1×1, ×2 nearest upsampling back to
    4×2×2, three convs with 4 filters and a last conv to 1 channel (App B: A5 A4 A3 A2 U A1).
    """
    return (Conv(4, stride=2), Upsample(2), Conv(4), Conv(4), Conv(4), Conv(1))


def network_ds(kernel_init: str = "pytorch", activation: str = "linear") -> ConvAutoencoder:
    return ConvAutoencoder(network_ds_layers(), activation=activation, kernel_init=kernel_init)


def network_ds_identity_params(dtype=jnp.float32) -> dict:
    """The hand-made initialization of [DS] App A, for which Network DS is the identity.

    App A gives PyTorch kernels ``(out, in, kh, kw)`` with 0-based positions; they are written
    here in that form and transposed to Flax's HWIO. Layer 1 copies pixel (r, c) of the 2×2
    image into channel 2r + c; after upsampling, layers 2 and 3 move each channel's value to
    position (0, 0) only, layer 4 moves channel k back to pixel k, and the last layer sums.
    """
    oihw = [
        np.zeros(shape)
        for shape in [(4, 1, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), (1, 4, 3, 3)]
    ]
    for f, (r, c) in enumerate([(1, 1), (1, 2), (2, 1), (2, 2)]):  # step 1
        oihw[0][f, 0, r, c] = 1.0
    for i in range(4):
        oihw[1][i, i, 1, 2] = 1.0  # step 3
        oihw[2][i, i, 2, 1] = 1.0  # step 4
        oihw[4][0, i, 1, 1] = 1.0  # step 6
    for f, (c, r, s) in enumerate([(0, 1, 1), (1, 1, 0), (2, 0, 1), (3, 0, 0)]):  # step 5
        oihw[3][f, c, r, s] = 1.0
    return {
        "params": {
            f"conv{i}": {"kernel": jnp.asarray(k.transpose(2, 3, 1, 0), dtype)}
            for i, k in enumerate(oihw)
        }
    }


def network_d_layers(
    channels: int = 3, filters: int = 128, convs_after_up: int = 1, downsample: bool = True
) -> tuple:
    """Network D / ND of [DS] Fig 2a: 128-filter convs, last conv to ``channels``.

    D starts with a stride-8 conv and upsamples ×8 after it; ND is the same without the
    striding and upsampling. Fig 2a is an image that the text does not spell out, so the number
    of 128-filter convs after the upsampling is ``convs_after_up`` (default 1:
    conv/8 → ×8 → conv 128 → conv ``channels``, the network that [DS] Fig 2's text implies).
    """
    _check_positive(channels=channels, filters=filters, convs_after_up=convs_after_up)
    first = Conv(filters, stride=8 if downsample else 1)
    up = (Upsample(8),) if downsample else ()
    middle = tuple(Conv(filters) for _ in range(convs_after_up))
    return (first, *up, *middle, Conv(channels))


def downsampling_layers(
    a: int, b: int, channels: int = 3, convs_after_up: int = 2, downsample: bool = True
) -> tuple:
    """``D_{a,b}`` (``downsample=True``) or ``ND_{a,b}`` of [DS] §5 / Fig 5.

    Three stride-2 convs with ``b`` filters, ×8 nearest upsampling, ``convs_after_up`` convs
    with ``a`` filters and a last conv to ``channels``. ND keeps the convs with stride 1 and
    drops the upsampling. Fig 5 is an image whose layer count after the upsampling is not in
    the text; it is a parameter here (default 2). FINDINGS.md: with 1 such conv
    ``D_{64,192}`` cannot fit a CIFAR image, because convs after a ×8 nearest upsampling see
    constant 8×8 blocks.
    """
    _check_positive(a=a, b=b, channels=channels, convs_after_up=convs_after_up)
    stride = 2 if downsample else 1
    down = tuple(Conv(b, stride=stride) for _ in range(3))
    up = (Upsample(8),) if downsample else ()
    return (*down, *up, *(Conv(a) for _ in range(convs_after_up)), Conv(channels))


def nld_network(
    filters: int,
    downsample: bool = True,
    convs_after_up: int = 2,
    use_bias: bool = False,
    kernel_init: str = "pytorch",
) -> ConvAutoencoder:
    """NLD_{a,a} (``downsample``) or NLND_{a,a} of [DS] §6, ``a = filters``: the layers of
    :func:`downsampling_layers` with a LeakyReLU after every convolution, the last one too."""
    layers = downsampling_layers(filters, filters, convs_after_up=convs_after_up,
                                 downsample=downsample)  # fmt: skip
    return ConvAutoencoder(layers, activation="leaky_relu", activate_last=True,
                           use_bias=use_bias, kernel_init=kernel_init)  # fmt: skip


def stride1_stack_layers(depth: int, filters: int = 1, channels: int = 1, kernel: int = 3) -> tuple:
    """``depth`` stride-1 convs: ``filters`` per hidden layer, the last to ``channels``."""
    _check_positive(depth=depth, filters=filters, channels=channels, kernel=kernel)
    hidden = tuple(Conv(filters, kernel=kernel) for _ in range(depth - 1))
    return (*hidden, Conv(channels, kernel=kernel))


def d1_layers(filters: int, levels: int = 5, channels: int = 3) -> tuple:
    """D1 of [MO1] Fig 2a: stride-2 convs down to 1×1, then a mirrored decoder.

    ``levels`` stride-2 3×3 convs with ``filters`` channels (32×32 → 1×1 for 5 levels), then
    ``levels`` stages of ×2 nearest upsampling and a 3×3 conv, and a last conv to ``channels``.
    Fig 2a is a drawing the text does not spell out; one ×32 upsampling from 1×1 would give
    constant maps that no convolution could turn into an image, hence the mirrored decoder.
    """
    _check_positive(filters=filters, levels=levels, channels=channels)
    down = tuple(Conv(filters, stride=2) for _ in range(levels))
    up = tuple(layer for _ in range(levels) for layer in (Upsample(2), Conv(filters)))
    return (*down, *up, Conv(channels))


def d2_layers(filters: int = 64, depth: int = 29, channels: int = 3) -> tuple:
    """D2 of [MO1] Fig 3a: ``depth`` 3×3 convs, the first with stride 8 (32×32 → 4×4).

    The text gives a 4×4 representation after layer 1 and 29 layers in all (the heuristic
    depth ⌈s⁴/9⌉ for s = 4); the rest is read from the drawing: stride-1 convs on the 4×4 map,
    then D1's decoder (×2 nearest upsampling and a conv, three times, since one ×8
    upsampling would leave constant 8×8 blocks) and a last conv to ``channels``.
    """
    _check_positive(filters=filters, channels=channels)
    middle = depth - 5  # the stride-8 conv, three upsampling convs and the last conv
    if middle < 0:
        raise ValueError(f"D2 needs at least 5 convolutions, got depth {depth}")
    up = tuple(layer for _ in range(3) for layer in (Upsample(2), Conv(filters)))
    return (Conv(filters, stride=8), *(Conv(filters) for _ in range(middle)), *up, Conv(channels))
