"""Fully connected autoencoders acting on one example of any shape."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from memjax.models.conv import get_activation
from memjax.models.initializers import get_initializer


class SingleLayerFC(nn.Module):
    """``x ↦ φ(A x)`` on the flattened example, no bias ([MO1] §2–3).

    The kernel is stored as ``(d_in, d_out)``, so the operator of the linear case is
    ``A = kernel.T``.
    """

    activation: str = "linear"
    kernel_init: str = "zero"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        d = math.prod(x.shape)
        kernel = self.param("kernel", get_initializer(self.kernel_init), (d, d), x.dtype)
        return get_activation(self.activation)(jnp.ravel(x) @ kernel).reshape(x.shape)


class MLPAutoencoder(nn.Module):
    """A fully connected autoencoder on the flattened example: ``hidden`` layers, then back to
    the input size; ``activation`` after every hidden layer (PyTorch-default kernels, zero
    biases)."""

    hidden: tuple[int, ...] = (2048, 2048, 2048)
    activation: str = "relu"
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation)
        h = jnp.ravel(x)
        for i, width in enumerate((*self.hidden, h.shape[0])):
            h = nn.Dense(width, use_bias=self.use_bias, kernel_init=get_initializer("pytorch"),
                         name=f"dense{i}")(h)  # fmt: skip
            if i < len(self.hidden):
                h = act(h)
        return h.reshape(x.shape)
