"""The encoder–decoder of [DS] Fig 1, after Deep Image Prior's ``skip`` network.

[DS] Fig 1 trains "a typical U-Net architecture (the same as e.g. used in Ulyanov et al. (2017)
for large hole inpainting)" on one CIFAR-10 image, without giving sizes. Deep Image Prior's
network has, per level, an optional 1×1 conv taking ``skip_channels`` aside, a stride-2 conv
and a conv (kernel ``down_kernel``) on the way down, and on the way up a ×2 nearest
upsampling, the skip channels concatenated, a conv (kernel ``up_kernel``) and optionally a 1×1
conv; a last 1×1 conv and a sigmoid give the image. The defaults are DIP's large-hole
inpainting setting (its ``library.png`` example): channels 16, 32, 64, 128, 128 (DIP's sixth
level would take a 32×32 image below 1×1), no skip channels, kernels 5 down and 3 up, no 1×1
up, LeakyReLU(0.2), biases. DIP's batch normalization is left out so the network stays a
pure function of one image.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from memjax.models.conv import Conv, Conv2d, get_activation, upsample_nearest


class UNet(nn.Module):
    """A U-Net autoencoder on one ``(C, H, W)`` image; H and W must divide by 2**levels.

    Attributes:
      features: channels at each level, top to bottom (its length is the depth).
      skip_channels: channels of each skip connection (0: an hourglass without skips).
      down_kernel, up_kernel: kernel sizes of the encoder's and the decoder's convs.
      up_1x1: a 1×1 conv after each decoder conv (DIP's ``need1x1_up``).
      activation: after every conv but the last; ``output_activation`` after the last.
      kernel_init: a name from ``memjax.models.initializers``.
      use_bias: PyTorch's (and DIP's) convolutions have biases.
    """

    features: tuple[int, ...] = (16, 32, 64, 128, 128)
    skip_channels: int = 0
    down_kernel: int = 5
    up_kernel: int = 3
    up_1x1: bool = False
    activation: str = "leaky_relu_0.2"
    output_activation: str = "sigmoid"
    kernel_init: str = "pytorch"
    use_bias: bool = True

    def _conv(self, features: int, kernel: int, name: str, stride: int = 1):
        spec = Conv(features, kernel=kernel, stride=stride)
        return Conv2d(spec, self.use_bias, self.kernel_init, name=name)

    @nn.compact
    def __call__(self, image):
        depth = len(self.features)
        c, h, w = image.shape
        if h % 2**depth or w % 2**depth:
            raise ValueError(
                f"a {depth}-level U-Net needs H and W divisible by {2**depth}, got {h}×{w}"
            )
        act = get_activation(self.activation)
        x = jnp.moveaxis(image, 0, -1)
        skips = []
        for level, features in enumerate(self.features):
            if self.skip_channels:
                skips.append(act(self._conv(self.skip_channels, 1, f"skip{level}")(x)))
            x = act(self._conv(features, self.down_kernel, f"down{level}_a", stride=2)(x))
            x = act(self._conv(features, self.down_kernel, f"down{level}_b")(x))
        for level in reversed(range(depth)):
            x = upsample_nearest(x, 2)
            if self.skip_channels:
                x = jnp.concatenate([skips[level], x], axis=-1)
            x = act(self._conv(self.features[level], self.up_kernel, f"up{level}_a")(x))
            if self.up_1x1:
                x = act(self._conv(self.features[level], 1, f"up{level}_b")(x))
        out = get_activation(self.output_activation)(self._conv(c, 1, "out")(x))
        return jnp.moveaxis(out, -1, 0)
