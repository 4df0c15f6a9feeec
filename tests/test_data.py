import gzip
import pickle

import jax
import numpy as np
import pytest

from memjax.data import (
    app_c_training_sets,
    gaussian_images,
    load_sample,
    mnist_split,
    mnist_test_set,
    read_cifar10_batches,
    read_idx,
    read_mnist,
    read_png_folder,
    to_float,
    white_squares,
)
from memjax.data.sample import CIFAR10_CLASSES, shipped_cifar10_label
from memjax.spectral import span_dimension

CIFAR_LABELS_0_19 = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
FASHION_LABELS_0_19 = [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0]
MNIST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_idx_files_read_with_the_known_test_distribution(shared_data):
    images, labels = read_mnist(
        shared_data / "mnist" / "t10k-images-idx3-ubyte.gz",
        shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz",
    )
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    assert np.bincount(labels).tolist() == MNIST_CLASS_COUNTS
    fashion = read_idx(shared_data / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz")
    assert fashion.shape == (10000,) and np.bincount(fashion).tolist() == [1000] * 10
    assert fashion[:20].tolist() == FASHION_LABELS_0_19


def test_png_folders_read_with_labels_from_names(shared_data):
    images, labels = read_png_folder(
        shared_data / "cifar10-sample" / "foolbox-test-first20-png", "cifar10_*.png"
    )
    assert images.shape == (20, 3, 32, 32) and labels.tolist() == CIFAR_LABELS_0_19
    # PROVENANCE.txt: the first row of test image 0 starts 158, 159, 165, 166 (red channel).
    assert images[0, 0, 0, :4].tolist() == [158, 159, 165, 166]
    images, labels = read_png_folder(
        shared_data / "fashion-mnist" / "foolbox-test-first20-png", "fashionMNIST_*.png"
    )
    assert images.shape == (20, 1, 28, 28) and labels.tolist() == FASHION_LABELS_0_19


def test_shipped_sample_equals_the_source_files(shared_data):
    cifar, cifar_labels = load_sample("cifar10")
    source, _ = read_png_folder(shared_data / "cifar10-sample" / "foolbox-test-first20-png")
    np.testing.assert_array_equal(cifar, source)
    assert cifar_labels.tolist() == CIFAR_LABELS_0_19
    mnist, mnist_labels = load_sample("mnist")
    full, full_labels = read_mnist(
        shared_data / "mnist" / "t10k-images-idx3-ubyte.gz",
        shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz",
    )
    np.testing.assert_array_equal(mnist, full[: len(mnist)])
    np.testing.assert_array_equal(mnist_labels, full_labels[: len(mnist)])
    fashion, fashion_labels = load_sample("fashion_mnist")
    assert fashion.shape == (20, 1, 28, 28) and fashion_labels.tolist() == FASHION_LABELS_0_19


def test_idx_reader_takes_raw_files_and_rejects_others(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + np.array([2, 3, 4], ">u4").tobytes() + array.tobytes()
    (tmp_path / "a.idx").write_bytes(raw)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), array)
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


def test_cifar10_python_batches(tmp_path):
    images, labels = load_sample("cifar10")
    batch = {b"data": images.reshape(20, -1), b"labels": labels.tolist()}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch))
    read_images, read_labels = read_cifar10_batches(tmp_path)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        read_cifar10_batches(tmp_path, ("data_batch_1",))


def test_synthetic_images():
    squares = np.asarray(white_squares(jax.random.PRNGKey(0), 50, (3, 8, 8), 2, 4))
    assert set(np.unique(squares)) <= {0.0, 1.0}
    sides = np.sqrt(squares[:, 0].sum(axis=(1, 2)))
    assert np.all((sides >= 2) & (sides <= 4)) and np.allclose(sides, np.round(sides))
    assert np.all(squares[:, 0] == squares[:, 2])
    gauss = np.asarray(gaussian_images(jax.random.PRNGKey(1), 100, (1, 8, 8)))
    assert abs(gauss.std() - 1) < 0.05
    sets = app_c_training_sets()
    assert {k: span_dimension(v) for k, v in sets.items()} == {
        "basis_1": 1,
        "basis_2": 2,
        "basis_3": 3,
        "basis_4": 4,
        "dependent_4": 3,
    }
    assert to_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="image shape"):
        gaussian_images(jax.random.PRNGKey(0), 2, (8, 8))
    with pytest.raises(ValueError, match="unknown sample"):
        load_sample("imagenet")


def test_shipped_cifar10_label_returns_the_label_and_notes_another_class(capsys):
    assert shipped_cifar10_label(4, "frog") == CIFAR10_CLASSES.index("frog")  # no note
    assert capsys.readouterr().out == ""
    assert shipped_cifar10_label(3, "frog") == CIFAR10_CLASSES.index("plane")
    assert "shipped image 3 is a plane, not a frog" in capsys.readouterr().out


def test_mnist_test_set_reads_the_idx_files_or_falls_back_to_the_shipped_digits(shared_data):
    images, labels, source = mnist_test_set(shared_data / "mnist")
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == np.uint8
    assert source == "MNIST test set" and labels.shape == (10_000,)
    sample, sample_labels, source = mnist_test_set(None)
    assert source == "shipped 200 MNIST digits" and sample.shape == (200, 1, 28, 28)
    # the shipped digits are the test set's first 200
    np.testing.assert_array_equal(sample, images[:200])
    np.testing.assert_array_equal(sample_labels, labels[:200])


def test_mnist_split_is_a_keyed_disjoint_split(shared_data):
    key = jax.random.PRNGKey(0)
    (x, y), (xt, yt), _ = mnist_split(key, shared_data / "mnist", 300, 100)
    assert x.shape == (300, 1, 28, 28) and xt.shape == (100, 1, 28, 28) and x.dtype == np.float32
    again = mnist_split(key, shared_data / "mnist", 300, 100)
    np.testing.assert_array_equal(x, again[0][0])
    assert not (set(map(bytes, x.reshape(300, -1))) & set(map(bytes, xt.reshape(100, -1))))
    (x, _), (xt, _), source = mnist_split(key, None, 4000, 1000)
    assert (len(x), len(xt), source) == (150, 50, "shipped 200 MNIST digits")
    with pytest.raises(ValueError, match="num_train \\+ num_test must be ≤ 10000"):
        mnist_split(key, shared_data / "mnist", 9000, 2000)
