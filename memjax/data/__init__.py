"""Synthetic image sets, dataset readers and the shipped real sample."""

from memjax.data.readers import (
    read_cifar10_batches,
    read_idx,
    read_mnist,
    read_png_folder,
    to_float,
)
from memjax.data.sample import load_sample
from memjax.data.synthetic import app_c_training_sets, basis_image, gaussian_images, white_squares

__all__ = [
    "app_c_training_sets",
    "basis_image",
    "gaussian_images",
    "load_sample",
    "read_cifar10_batches",
    "read_idx",
    "read_mnist",
    "read_png_folder",
    "to_float",
    "white_squares",
]
