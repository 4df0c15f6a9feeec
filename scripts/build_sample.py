"""Builds memjax/data/sample/ from the dataset files in shared/data/ (run from the repo root).

    python scripts/build_sample.py [--shared ../shared]

Writes sample.npz (CIFAR-10 test 0–19, MNIST test 0–199, Fashion-MNIST test 0–19, uint8
channels-first, with labels) and copies each source's PROVENANCE.txt beside it.
"""

import argparse
import shutil
from pathlib import Path

import numpy as np

from memjax.data.readers import read_mnist, read_png_folder

N_MNIST = 200


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default="../shared", type=Path)
    data = parser.parse_args().shared / "data"
    out = Path(__file__).resolve().parents[1] / "memjax" / "data" / "sample"
    out.mkdir(parents=True, exist_ok=True)

    cifar = read_png_folder(data / "cifar10-sample" / "foolbox-test-first20-png", "cifar10_*.png")
    fashion = read_png_folder(
        data / "fashion-mnist" / "foolbox-test-first20-png", "fashionMNIST_*.png"
    )
    mnist_images, mnist_labels = read_mnist(
        data / "mnist" / "t10k-images-idx3-ubyte.gz", data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    )
    np.savez_compressed(
        out / "sample.npz",
        cifar10_images=cifar[0],
        cifar10_labels=cifar[1],
        mnist_images=mnist_images[:N_MNIST],
        mnist_labels=mnist_labels[:N_MNIST],
        fashion_mnist_images=fashion[0],
        fashion_mnist_labels=fashion[1],
    )
    for source, name in [
        ("cifar10-sample", "cifar10"),
        ("mnist", "mnist"),
        ("fashion-mnist", "fashion_mnist"),
    ]:
        shutil.copyfile(data / source / "PROVENANCE.txt", out / f"PROVENANCE-{name}.txt")
    print(
        f"wrote {out}: cifar10 {cifar[0].shape}, mnist {mnist_images[:N_MNIST].shape}, "
        f"fashion_mnist {fashion[0].shape}"
    )


if __name__ == "__main__":
    main()
