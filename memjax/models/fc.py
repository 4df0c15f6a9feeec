"""Fully connected autoencoders acting on one example of any shape."""

from __future__ import annotations

import functools
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
    the input size; ``activation`` after every hidden layer, none after the last (zero biases).

    ``hidden=()`` is the one-layer net of [IC] Thm 1 (with ``use_bias=False``); [IC]'s
    ``H_k`` nets are ``hidden=(width,) * k``, i.e. ``k + 1`` weight layers (Table 1's "num
    layers"). Layers are named ``dense0 … dense{k}``, bottom to top.

    Attributes:
      kernel_init: a name from ``memjax.models.initializers`` (``pytorch`` by default;
        [IC] App I's "default" is ``ic_default``).
    """

    hidden: tuple[int, ...] = (2048, 2048, 2048)
    activation: str = "relu"
    use_bias: bool = True
    kernel_init: str = "pytorch"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation)
        h = jnp.ravel(x)
        init = get_initializer(self.kernel_init)
        for i, width in enumerate((*self.hidden, h.shape[0])):
            h = nn.Dense(width, use_bias=self.use_bias, kernel_init=init, name=f"dense{i}")(h)
            if i < len(self.hidden):
                h = act(h)
        return h.reshape(x.shape)


class ResidualMLP(nn.Module):
    """The residual fully connected autoencoder of [IC] App N (Fig 41), width = input size.

    ``blocks`` two-layer blocks ``h ↦ h + ReLU(W₂ ReLU(W₁ h))``; the last block has no outer
    ReLU (``h + W₂ ReLU(W₁ h)``), since the output must take the standardised image's negative
    pixels. The skip comes after the ReLU, so the input passes straight to the output.
    Layers are named ``dense0 … dense{2·blocks−1}``.
    """

    blocks: int = 1
    use_bias: bool = True
    kernel_init: str = "pytorch"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.blocks < 1:
            raise ValueError(f"blocks must be positive, got {self.blocks}")
        h = jnp.ravel(x)
        d = h.shape[0]
        dense = functools.partial(
            nn.Dense, d, use_bias=self.use_bias, kernel_init=get_initializer(self.kernel_init)
        )
        for block in range(self.blocks):
            residual = dense(name=f"dense{2 * block + 1}")(
                nn.relu(dense(name=f"dense{2 * block}")(h))
            )
            h = h + (residual if block == self.blocks - 1 else nn.relu(residual))
        return h.reshape(x.shape)
