"""Flax modules acting on one example; batch with ``jax.vmap``."""

from memjax.models.architectures import (
    d1_layers,
    d2_layers,
    downsampling_layers,
    network_d_layers,
    network_ds,
    network_ds_identity_params,
    network_ds_layers,
    nld_network,
    stride1_stack_layers,
)
from memjax.models.conv import (
    ACTIVATIONS,
    Conv,
    ConvAutoencoder,
    Upsample,
    hidden_channel_spread,
    layer_index,
    output_shape,
)
from memjax.models.deep import DeepConvStack
from memjax.models.fc import MLPAutoencoder, ResidualMLP, SingleLayerFC
from memjax.models.initializers import (
    INITIALIZERS,
    constant_inits,
    get_initializer,
    output_norm_at_init,
)
from memjax.models.two_layer import RandomFeatureAutoencoder, contractive_interpolant, fit_readout
from memjax.models.unet import UNet
from memjax.models.vgg import (
    ConvDecoder,
    VGGMini,
    decoder_layers,
    max_pool_2x2,
    unpool_2x2,
    vgg_conv_filters,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "MLPAutoencoder",
    "Conv",
    "ConvAutoencoder",
    "ConvDecoder",
    "DeepConvStack",
    "RandomFeatureAutoencoder",
    "ResidualMLP",
    "SingleLayerFC",
    "UNet",
    "Upsample",
    "VGGMini",
    "constant_inits",
    "contractive_interpolant",
    "d1_layers",
    "d2_layers",
    "decoder_layers",
    "downsampling_layers",
    "fit_readout",
    "get_initializer",
    "hidden_channel_spread",
    "layer_index",
    "max_pool_2x2",
    "network_d_layers",
    "network_ds",
    "network_ds_identity_params",
    "network_ds_layers",
    "nld_network",
    "output_norm_at_init",
    "output_shape",
    "stride1_stack_layers",
    "unpool_2x2",
    "vgg_conv_filters",
]
