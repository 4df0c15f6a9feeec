"""Readers for the real datasets: MNIST-format IDX files and CIFAR-10.

Every reader returns ``(images, labels)`` with images ``uint8`` of shape ``(n, C, H, W)`` and
labels ``int64`` of shape ``(n,)``; :func:`to_float` scales images to ``[0, 1]``.
"""

from __future__ import annotations

import gzip
import pickle
import re
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """An IDX array (the MNIST / Fashion-MNIST format), gzipped or raw.

    Raises:
      ValueError: the file is not IDX (bad magic, unknown type code, or wrong length).
    """
    path = Path(path)
    with path.open("rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(int)
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header says {expected} bytes, file has {len(raw)}")
    return np.frombuffer(raw, dtype, offset=offset).reshape(dims).astype(dtype.newbyteorder("="))


def read_mnist(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST images ``(n, 1, 28, 28)`` and labels from IDX files."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"IDX images {images.shape} and labels {labels.shape} do not match")
    return images[:, None], labels.astype(np.int64)


def read_cifar10_batches(directory, batches=("test_batch",)) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from its python pickles (``data_batch_1`` … ``data_batch_5``, ``test_batch``)."""
    images, labels = [], []
    for name in batches:
        path = Path(directory) / name
        if not path.exists():
            raise FileNotFoundError(f"no CIFAR-10 batch {path}")
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{path}: expected data of shape (n, 3072), got {data.shape}")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], np.int64))
    return np.concatenate(images), np.concatenate(labels)


_PNG_LABEL = re.compile(r"_(\d+)_(\d+)\.png$")


def read_png_folder(directory, pattern: str = "*.png") -> tuple[np.ndarray, np.ndarray]:
    """Images from PNG files named ``<anything>_<index>_<label>.png``, sorted by index.

    This is the layout of the CIFAR-10 and Fashion-MNIST samples in ``shared/data/``
    (e.g. ``cifar10_07_6.png``: test image 7, label 6).
    """
    from PIL import Image

    entries = []
    for path in Path(directory).glob(pattern):
        match = _PNG_LABEL.search(path.name)
        if match is None:
            raise ValueError(f"{path.name} does not end in _<index>_<label>.png")
        entries.append((int(match[1]), int(match[2]), path))
    if not entries:
        raise FileNotFoundError(f"no files matching {pattern} in {directory}")
    entries.sort()
    arrays = [np.asarray(Image.open(path)) for _, _, path in entries]
    images = np.stack([a[..., None] if a.ndim == 2 else a for a in arrays]).transpose(0, 3, 1, 2)
    return images.astype(np.uint8), np.array([label for _, label, _ in entries], np.int64)


def to_float(images: np.ndarray, dtype=np.float32) -> np.ndarray:
    """``uint8`` images scaled to ``[0, 1]``."""
    return (np.asarray(images) / 255.0).astype(dtype)
