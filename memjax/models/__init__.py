"""Flax modules acting on one example; batch with ``jax.vmap``."""

from memjax.models.architectures import (
    d1_layers,
    d2_layers,
    downsampling_layers,
    network_d_layers,
    network_ds,
    network_ds_identity_params,
    network_ds_layers,
    stride1_stack_layers,
)
from memjax.models.conv import ACTIVATIONS, Conv, ConvAutoencoder, Upsample, output_shape
from memjax.models.deep import DeepConvStack
from memjax.models.fc import MLPAutoencoder, ResidualMLP, SingleLayerFC
from memjax.models.initializers import INITIALIZERS, get_initializer
from memjax.models.two_layer import RandomFeatureAutoencoder, contractive_interpolant, fit_readout
from memjax.models.unet import UNet

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "MLPAutoencoder",
    "Conv",
    "ConvAutoencoder",
    "DeepConvStack",
    "RandomFeatureAutoencoder",
    "ResidualMLP",
    "SingleLayerFC",
    "UNet",
    "Upsample",
    "contractive_interpolant",
    "d1_layers",
    "d2_layers",
    "downsampling_layers",
    "fit_readout",
    "get_initializer",
    "network_d_layers",
    "network_ds",
    "network_ds_identity_params",
    "network_ds_layers",
    "output_shape",
    "stride1_stack_layers",
]
