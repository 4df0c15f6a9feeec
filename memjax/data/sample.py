"""The small real-image sample shipped inside the package, so experiments run offline.

Built by ``scripts/build_sample.py`` from the files in ``shared/data/``; the attribution of each
source is in ``memjax/data/sample/PROVENANCE-*.txt``.

Datasets: ``cifar10`` (test images 0–19, 3×32×32), ``mnist`` (test images 0–199, 1×28×28),
``fashion_mnist`` (test images 0–19, 1×28×28).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jax
import numpy as np

from memjax.data.download import split_files
from memjax.data.readers import read_mnist, to_float

SAMPLE_FILE = "sample.npz"
DATASETS = ("cifar10", "mnist", "fashion_mnist")
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The first shipped CIFAR-10 image of each class the sample holds (it has no bird or deer), in
# label order: plane, car, cat, dog, frog, horse, ship, truck ([DS] Fig 8 and Fig 9 sets).
SHIPPED_ONE_PER_CLASS = (3, 6, 0, 12, 4, 13, 1, 11)
# The project's copy of MNIST's 10k test set beside a checkout (``shared/data/mnist``): the
# experiments' default ``mnist_dir``. Where it is absent the shipped 200 digits stand in.
CHECKOUT_MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def load_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (n, C, H, W), labels int64 (n,))`` of a shipped dataset."""
    if name not in DATASETS:
        raise ValueError(f"unknown sample dataset {name!r}; choose one of {', '.join(DATASETS)}")
    with resources.files("memjax.data").joinpath("sample", SAMPLE_FILE).open("rb") as f:
        with np.load(f) as archive:
            return archive[f"{name}_images"], archive[f"{name}_labels"]


def shipped_cifar10_label(index: int, expected: str) -> int:
    """The label of shipped CIFAR-10 test image ``index``; prints a note when its class is not
    ``expected`` (e.g. "frog"), so a config that picks another image still runs but says so."""
    label = int(load_sample("cifar10")[1][index])
    if CIFAR10_CLASSES[label] != expected:
        print(f"note: shipped image {index} is a {CIFAR10_CLASSES[label]}, not a {expected}")
    return label


def mnist_test_set(mnist_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST's test digits ``(images uint8 (n, 1, 28, 28), labels (n,), source)``: the 10,000
    of the IDX files in ``mnist_dir`` when it holds both, else the 200 shipped in the package;
    ``source`` says which, for the run's metrics."""
    files = split_files("mnist", "test", Path(mnist_dir or ""))
    if mnist_dir and all(f.is_file() for f in files):
        return (*read_mnist(*files), "MNIST test set")
    images, labels = load_sample("mnist")
    return images, np.asarray(labels), "shipped 200 MNIST digits"


def mnist_split(key, mnist_dir, num_train: int, num_test: int):
    """``((x, y) train, (x, y) test, source)``: MNIST's test digits (:func:`mnist_test_set`) as
    float images, shuffled by ``key`` and split; the shipped sample splits 150 / 50."""
    images, labels, source = mnist_test_set(mnist_dir)
    if len(images) < 10_000:
        num_train, num_test = 150, 50
    if num_train + num_test > len(images):
        total = num_train + num_test
        raise ValueError(f"num_train + num_test must be ≤ {len(images)}, got {total}")
    order = np.asarray(jax.random.permutation(key, len(images)))
    x, y = to_float(images[order]), labels[order]
    end = num_train + num_test
    return (x[:num_train], y[:num_train]), (x[num_train:end], y[num_train:end]), source
