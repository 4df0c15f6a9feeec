"""Synthetic image sets, dataset readers, the shipped real sample, and dataset downloads."""

from memjax.data.download import (
    DownloadError,
    download_dataset,
    load_dataset,
    resolve_data_dir,
)
from memjax.data.readers import (
    read_cifar10_batches,
    read_idx,
    read_mnist,
    read_png_folder,
    to_float,
)
from memjax.data.sample import (
    CHECKOUT_MNIST_DIR,
    CIFAR10_CLASSES,
    SHIPPED_ONE_PER_CLASS,
    load_sample,
    mnist_split,
    mnist_test_set,
)
from memjax.data.swiss_roll import swiss_roll
from memjax.data.synthetic import app_c_training_sets, basis_image, gaussian_images, white_squares

__all__ = [
    "CHECKOUT_MNIST_DIR",
    "CIFAR10_CLASSES",
    "SHIPPED_ONE_PER_CLASS",
    "swiss_roll",
    "DownloadError",
    "app_c_training_sets",
    "basis_image",
    "download_dataset",
    "gaussian_images",
    "load_dataset",
    "load_sample",
    "mnist_split",
    "mnist_test_set",
    "read_cifar10_batches",
    "read_idx",
    "read_mnist",
    "read_png_folder",
    "resolve_data_dir",
    "to_float",
    "white_squares",
]
