"""Convolutional autoencoders acting on one ``(C, H, W)`` image.

A network is a sequence of layer specs, :class:`Conv` and :class:`Upsample`, so that one module
covers every architecture of the papers (Network D/ND/DS, ``D_{a,b}``, stride-1 stacks) and the
explicit layer matrices of [DS] App B (``memjax.operator.layer_matrices``) can walk the same
sequence. Images are channels-first like the papers, so ``jax.jacfwd`` of ``apply`` on a
flattened image is the ``c·s·s × c·s·s`` operator in the papers' vectorisation order.
"""

from __future__ import annotations

import dataclasses
import re

import flax.linen as nn
import jax
import jax.numpy as jnp

from memjax.models.initializers import fans, get_initializer, pytorch_bias_init

ACTIVATIONS = {
    "linear": lambda x: x,
    "leaky_relu": nn.leaky_relu,  # slope 0.01, PyTorch's default
    "leaky_relu_0.2": lambda x: nn.leaky_relu(x, 0.2),  # Deep Image Prior's networks
    "relu": nn.relu,
    "sigmoid": nn.sigmoid,
    "tanh": jnp.tanh,
}


def get_activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


PADDING_MODES = ("zeros", "circular", "reflect")


@dataclasses.dataclass(frozen=True)
class Conv:
    """A ``kernel × kernel`` convolution (cross-correlation, as PyTorch).

    ``padding=None`` means ``(kernel - 1) // 2``, the papers' "same" padding on both sides.
    ``padding_mode`` is PyTorch's ``Conv2d(padding_mode=...)``: "zeros" (the papers' and the
    default), "circular" (the image wraps around, so a conv whose stride divides a shift
    commutes with that circular shift; ``memjax.symmetry``) or "reflect" (mirrored about the
    border pixel, which is not repeated: ``numpy.pad(mode="reflect")``).
    """

    features: int
    stride: int = 1
    kernel: int = 3
    padding: int | None = None
    padding_mode: str = "zeros"

    def __post_init__(self):
        for name in ("features", "stride", "kernel"):
            if getattr(self, name) < 1:
                raise ValueError(f"Conv.{name} must be positive, got {getattr(self, name)}")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(
                f"Conv.padding_mode must be one of {', '.join(PADDING_MODES)}, "
                f"got {self.padding_mode!r}"
            )
        if self.padding is not None and self.padding < 0:
            raise ValueError(f"Conv.padding must be non-negative, got {self.padding}")

    @property
    def pad(self) -> int:
        return (self.kernel - 1) // 2 if self.padding is None else self.padding

    def output_size(self, size: int) -> int:
        """PyTorch's ``floor((size + 2·pad - kernel) / stride) + 1``.

        The papers assume sizes divisible by the stride ([DS] §2); anything else would make
        the upsampling path return a different size, so it is refused here.
        """
        if size % self.stride:
            raise ValueError(
                f"Conv stride {self.stride} does not divide the input size {size}: the "
                "downsampling and upsampling paths would not return the input size"
            )
        span = size + 2 * self.pad - self.kernel
        if self.padding_mode == "reflect" and self.pad >= size:
            raise ValueError(f"reflect padding {self.pad} needs an input larger than {size}")
        if self.padding_mode == "circular" and self.pad > size:
            raise ValueError(f"circular padding {self.pad} is larger than the input size {size}")
        if span < 0:
            raise ValueError(f"Conv kernel {self.kernel} is larger than the padded size {size}")
        return span // self.stride + 1


@dataclasses.dataclass(frozen=True)
class Upsample:
    """Nearest-neighbour upsampling by an integer ``factor``."""

    factor: int

    def __post_init__(self):
        if self.factor < 1:
            raise ValueError(f"Upsample.factor must be positive, got {self.factor}")

    def output_size(self, size: int) -> int:
        return size * self.factor


Layer = Conv | Upsample


def output_shape(layers: tuple[Layer, ...], input_shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Shape ``(C, H, W)`` after ``layers``; raises ValueError on sizes that do not fit."""
    channels, height, width = input_shape
    if height != width:
        raise ValueError(f"images must be square, got input_shape {input_shape}")
    for index, layer in enumerate(layers):
        try:
            height = layer.output_size(height)
        except ValueError as error:
            raise ValueError(
                f"layer {index} {layer} on input shape {input_shape}: {error}"
            ) from None
        if isinstance(layer, Conv):
            channels = layer.features
    return channels, height, height


def pad_image(x: jax.Array, pad: int, mode: str) -> jax.Array:
    """Pads the two spatial axes of an ``(H, W, C)`` image by ``pad`` on every side.

    ``mode`` is a :data:`PADDING_MODES` name; "circular" is ``numpy.pad``'s "wrap".
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    numpy_mode = {"zeros": "constant", "circular": "wrap", "reflect": "reflect"}[mode]
    return jnp.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode=numpy_mode)


class Conv2d(nn.Module):
    """One convolution on an ``(H, W, C)`` image with explicit symmetric padding.

    Flax's ``padding="SAME"`` pads stride-2 convolutions asymmetrically; the papers (PyTorch)
    pad 1 on every side, so the padding is written out. Zero padding goes to the convolution
    itself (as before); circular and reflect padding pad the image first.
    """

    spec: Conv
    use_bias: bool
    kernel_init: str
    init_scale: float = 1.0

    @nn.compact
    def __call__(self, x):
        k, c_in = self.spec.kernel, x.shape[-1]
        shape = (k, k, c_in, self.spec.features)
        init = get_initializer(self.kernel_init)
        kernel = self.param("kernel", lambda *a: self.init_scale * init(*a), shape, x.dtype)
        pad = self.spec.pad
        if self.spec.padding_mode != "zeros":
            x, pad = pad_image(x, pad, self.spec.padding_mode), 0
        y = jax.lax.conv_general_dilated(
            x[None],
            kernel,
            window_strides=(self.spec.stride, self.spec.stride),
            padding=((pad, pad), (pad, pad)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )[0]
        if self.use_bias:
            bias_init = (
                get_initializer(self.kernel_init)
                if self.kernel_init == "zero" or self.kernel_init.startswith("constant:")
                else pytorch_bias_init(fans(shape)[0])
            )
            bias = self.param("bias", bias_init, (self.spec.features,), x.dtype)
            y = y + bias[None, None, :]
        return y


def upsample_nearest(x: jax.Array, factor: int) -> jax.Array:
    """Nearest-neighbour upsampling of an ``(H, W, C)`` image."""
    return jnp.repeat(jnp.repeat(x, factor, axis=0), factor, axis=1)


class ConvAutoencoder(nn.Module):
    """A convolutional autoencoder on one ``(C, H, W)`` image.

    Attributes:
      layers: the layer specs in order; the last conv's ``features`` must equal C.
      activation: applied after every convolution ("linear" for the linear papers).
      activate_last: whether the activation also follows the last convolution ([DS] §6 puts
        LeakyReLU after every conv; a linear last layer lets outputs take any sign).
      use_bias: the linear papers use no bias.
      kernel_init: a name from ``memjax.models.initializers``.
      init_scale: multiplies every initial kernel ([MO1] initializes "as close to zero as
        training allows"; this is the knob for that).
      skip_every: if > 0, adds a block's input to its output every ``skip_every`` convolutions
        where the shapes agree ([MO1] Table 2 uses 10 for stacks deeper than 100 layers).
    """

    layers: tuple[Layer, ...]
    activation: str = "linear"
    activate_last: bool = False
    use_bias: bool = False
    kernel_init: str = "pytorch"
    init_scale: float = 1.0
    skip_every: int = 0

    @nn.compact
    def __call__(self, image: jax.Array) -> jax.Array:
        if image.ndim != 3:
            raise ValueError(
                f"ConvAutoencoder acts on one (C, H, W) image, got shape {image.shape}; "
                "batch with jax.vmap"
            )
        out_shape = output_shape(self.layers, image.shape)
        if out_shape != image.shape:
            raise ValueError(
                f"layers map an image of shape {image.shape} to {out_shape}; an autoencoder "
                "must return the input shape"
            )
        act = get_activation(self.activation)
        n_convs = sum(isinstance(layer, Conv) for layer in self.layers)
        x = jnp.moveaxis(image, 0, -1)
        block_input, conv_index = x, 0
        for layer in self.layers:
            if isinstance(layer, Upsample):
                x = upsample_nearest(x, layer.factor)
                continue
            conv = Conv2d(
                layer, self.use_bias, self.kernel_init, self.init_scale, name=f"conv{conv_index}"
            )
            x = conv(x)
            conv_index += 1
            if conv_index < n_convs or self.activate_last:
                x = act(x)
            if self.skip_every and conv_index % self.skip_every == 0:
                if x.shape == block_input.shape:
                    x = x + block_input
                block_input = x
        return jnp.moveaxis(x, -1, 0)


def layer_index(name: str) -> int:
    """The number a layer's name ends in (``conv3`` → 3, ``dense0`` → 0): the order of the
    layers of ``ConvAutoencoder`` and ``MLPAutoencoder`` bottom to top."""
    match = re.search(r"(\d+)$", name)
    if match is None:
        raise ValueError(f"layer name {name!r} does not end in its index")
    return int(match.group(1))


def hidden_channel_spread(params) -> float:
    """Largest difference between two filters of one hidden layer of a :class:`ConvAutoencoder`
    (0: the channels are equal, as a constant init keeps them, since every filter of a layer
    gets the same gradient; [MO1] Fig 3's D2).

    The last layer is left out: its filters write different image channels, so they differ.
    """
    layers = params["params"]
    hidden = sorted(layers, key=layer_index)[:-1]
    return max(float(jnp.max(jnp.abs(k - k[..., :1]))) for k in
               (layers[name]["kernel"] for name in hidden))  # fmt: skip
