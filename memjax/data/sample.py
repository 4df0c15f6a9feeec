"""The small real-image sample shipped inside the package, so experiments run offline.

Built by ``scripts/build_sample.py`` from the files in ``shared/data/``; the attribution of each
source is in ``memjax/data/sample/PROVENANCE-*.txt``.

Datasets: ``cifar10`` (test images 0–19, 3×32×32), ``mnist`` (test images 0–199, 1×28×28),
``fashion_mnist`` (test images 0–19, 1×28×28).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

SAMPLE_FILE = "sample.npz"
DATASETS = ("cifar10", "mnist", "fashion_mnist")
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The first shipped CIFAR-10 image of each class the sample holds (it has no bird or deer), in
# label order: plane, car, cat, dog, frog, horse, ship, truck ([DS] Fig 8 and Fig 9 sets).
SHIPPED_ONE_PER_CLASS = (3, 6, 0, 12, 4, 13, 1, 11)


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
