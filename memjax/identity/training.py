"""[IC]'s networks and training recipe (App A): SGD 0.01, momentum 0.9, ×0.2 at 30/60/80 %.

The stage-wise schedule is ``TrainConfig.decay_steps`` / ``decay_factor``: one optimizer state
runs through the decays, so the momentum buffer carries over as in PyTorch's ``MultiStepLR``
(the paper's framework).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import ml_collections

from memjax.experiment import train_block
from memjax.models import ConvAutoencoder, MLPAutoencoder, stride1_stack_layers

# App A.
LEARNING_RATE = 0.01
MOMENTUM = 0.9
DECAY_FACTOR = 0.2
DECAY_FRACTIONS = (0.3, 0.6, 0.8)
PAPER_STEPS = 2_000_000
FCN_WIDTH = 2048
CNN_CHANNELS = 128
CNN_KERNEL = 5


def ic_cnn(
    depth: int,
    channels: int = CNN_CHANNELS,
    kernel: int = CNN_KERNEL,
    image_channels: int = 1,
    kernel_init: str = "ic_default",
    use_bias: bool = True,
    activation: str = "relu",
) -> ConvAutoencoder:
    """[IC]'s CNN: ``depth`` K × K stride-1 convs with padding (K−1)/2, ``image_channels →
    channels → … → image_channels`` (depth 1: one ``image_channels → image_channels`` conv),
    ReLU after all but the last. Works on any square input size (Figs 6–8).

    Biases, when used, start from U(±1/√fan_in) (``ConvAutoencoder``'s PyTorch default);
    :func:`zero_biases` sets them to 0, the reading the project uses (bias init unstated).
    """
    layers = stride1_stack_layers(depth, channels, image_channels, kernel)
    return ConvAutoencoder(
        layers, activation=activation, use_bias=use_bias, kernel_init=kernel_init
    )


def ic_fcn(
    hidden_layers: int,
    width: int = FCN_WIDTH,
    activation: str = "relu",
    kernel_init: str = "ic_default",
    use_bias: bool = True,
) -> MLPAutoencoder:
    """[IC]'s FCN ``H_k``: ``hidden_layers`` hidden layers of ``width`` (``k + 1`` weight
    layers); ``activation="linear"`` for the linear nets. Biases start at 0."""
    if hidden_layers < 0:
        raise ValueError(f"hidden_layers must be ≥ 0, got {hidden_layers}")
    return MLPAutoencoder(
        (width,) * hidden_layers, activation=activation, use_bias=use_bias, kernel_init=kernel_init
    )


def zero_biases(params):
    """``params`` with every ``bias`` leaf set to 0."""

    def zero(path, leaf):
        return jnp.zeros_like(leaf) if getattr(path[-1], "key", None) == "bias" else leaf

    return jax.tree_util.tree_map_with_path(zero, params)


def init_params(key, model, example, zero_bias: bool = True):
    """``model.init`` on one example (or one init per key, vmapped, for a batch of keys),
    with biases set to 0 if ``zero_bias``."""
    init = lambda k: model.init(k, example)  # noqa: E731
    params = jax.vmap(init)(key) if _is_batch(key) else init(key)
    return zero_biases(params) if zero_bias else params


def _is_batch(key) -> bool:
    key = jnp.asarray(key) if not hasattr(key, "dtype") else key
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    return key.ndim >= (1 if typed else 2)


def stage_boundaries(total_steps: int, fractions: Sequence[float] = DECAY_FRACTIONS) -> tuple:
    """The steps at which the learning rate decays: 600,000 / 1,200,000 / 1,600,000 of
    2,000,000 for the paper's fractions."""
    if (
        total_steps < 0
        or any(not 0 < f < 1 for f in fractions)
        or list(fractions) != sorted(fractions)
    ):
        raise ValueError(
            f"need total_steps ≥ 0 and increasing fractions in (0, 1); got {total_steps}, "
            f"{tuple(fractions)}"
        )
    return tuple(round(f * total_steps) for f in fractions)


def app_a_block(fit_loss: float, max_steps: int = PAPER_STEPS) -> ml_collections.ConfigDict:
    """A config's train block for App A: SGD 0.01 with momentum 0.9, ×0.2 at 30/60/80 % of
    ``max_steps`` (``decay_steps`` is in the block: a run that overrides ``max_steps`` should
    override it too), a NaN/inf loss stopping that run only."""
    fields = stagewise_fields(max_steps)
    return train_block("momentum", LEARNING_RATE, max_steps=max_steps, nonfinite="stop",
                       fit_loss=fit_loss, **fields)  # fmt: skip


def q_cnn_block(max_steps: int = 1500, fit_loss: float = 1e-3) -> ml_collections.ConfigDict:
    """The quick CNN recipe of the claims file (Q-CNN): Adam 3e-4 on the pixel-mean loss; SGD
    0.01/0.9 diverges at depth 8 with PyTorch-style init (see ic-cnn-training)."""
    return train_block("adam", 3e-4, max_steps=max_steps, nonfinite="stop", fit_loss=fit_loss)


def q_fcn_block(max_steps: int = 1000, fit_loss: float = 1e-4) -> ml_collections.ConfigDict:
    """The quick FCN recipe of the claims file (Q-FCN): App A's SGD 0.01/0.9 at a constant
    rate."""
    return train_block("momentum", LEARNING_RATE, max_steps=max_steps, nonfinite="stop",
                       fit_loss=fit_loss)  # fmt: skip


def stagewise_fields(
    total_steps: int, factor: float = DECAY_FACTOR, fractions: Sequence[float] = DECAY_FRACTIONS
) -> dict:
    """The ``TrainConfig`` fields of App A's schedule over ``total_steps`` (a boundary that
    rounds to step 0 of a tiny run is dropped)."""
    boundaries = tuple(b for b in stage_boundaries(total_steps, fractions) if b > 0)
    return {"decay_steps": boundaries, "decay_factor": factor}
