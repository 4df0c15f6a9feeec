"""Readers for the real datasets: IDX files (MNIST, Fashion-MNIST), CIFAR-10 python batches and
folders of PNGs.

Every reader returns ``(images, labels)`` with images ``uint8`` of shape ``(n, C, H, W)`` and
labels ``int64`` of shape ``(n,)``; :func:`to_float` scales images to ``[0, 1]``.

The readers check what they read. A file that is missing raises ``FileNotFoundError``; one that
is not what was expected (wrong magic, truncated, corrupt gzip, header and payload that
disagree, wrong dtype or shape, NaN or inf, an image of another size or mode) raises one
``ValueError`` whose message names the file, what was expected and what was found, rather
than an error from inside NumPy, PIL, gzip or pickle, or a silently wrong array.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import re
import reprlib
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# IDX type codes (the third magic byte): http://yann.lecun.com/exdb/mnist/ "THE IDX FILE FORMAT"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path``, which should be ``what`` ("an IDX file")."""
    if path.is_dir():
        raise ValueError(f"{path}: expected {what}, found a directory")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (expected {what})")
    return path.read_bytes()


def _check_finite(array: np.ndarray, where: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where}: expected finite numbers, found {int(bad.sum())} NaN or inf "
            f"(first at index {first})"
        )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX array (the MNIST / Fashion-MNIST format), gzipped or raw.

    IDX: two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C``
    int32, ``0x0D`` float32, ``0x0E`` float64), the number of dimensions, each dimension as a
    big-endian uint32, then the values in C order, big-endian.

    Returns:
      The array, with the header's shape and dtype, in native byte order.

    Raises:
      FileNotFoundError: no file at ``path``.
      ValueError: corrupt gzip, bad magic, no dimensions, a header or payload shorter or
        longer than the header announces, or NaN / inf in float data.
    """
    path = Path(path)
    raw = _read_bytes(path, "an IDX file")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt gzip data ({error})") from None
    codes = ", ".join(f"{code:02x}" for code in _IDX_DTYPES)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: expected magic bytes 00 00, a type code ({codes}) "
            f"and a dimension count, found {raw[:4].hex(' ') or 'an empty file'}"
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    if ndim == 0:
        raise ValueError(f"{path}: IDX header gives 0 dimensions, expected at least 1")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(
            f"{path}: IDX header announces {ndim} dimensions ({offset} header bytes), "
            f"but the file has only {len(raw)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:offset])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} of {dtype.name}, i.e. {expected} data "
            f"bytes, but the file has {len(raw) - offset}"
        )
    array = np.frombuffer(raw, dtype, offset=offset).reshape(shape)
    array = array.astype(dtype.newbyteorder("="))
    if dtype.kind == "f":
        _check_finite(array, str(path))
    return array


def read_mnist(
    images_path: str | os.PathLike, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST images ``(n, 1, 28, 28)`` uint8 and labels from IDX files.

    Raises:
      FileNotFoundError: a file is missing.
      ValueError: see :func:`read_idx`; also images that are not uint8 ``(n, rows, cols)``,
        labels that are not non-negative integers ``(n,)``, or counts that differ.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, rows, cols), "
            f"found {images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{labels_path}: expected integer labels of shape (n,), "
            f"found {labels.dtype} of shape {labels.shape}"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"{labels_path}: expected labels >= 0, found {labels.min()}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    return images[:, None], labels.astype(np.int64)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles containers and NumPy arrays only, so that reading a batch cannot run code.

    A pickle can call any importable function; the CIFAR-10 batches need only these (old
    pickles name ``numpy.core``, NumPy 2 writes ``numpy._core``; ``_codecs.encode`` is how
    protocol 2 stores bytes).
    """

    ALLOWED = frozenset(
        [
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
            *(
                (f"{package}.{module}", name)
                for package in ("numpy.core", "numpy._core")
                for module, name in (
                    ("multiarray", "_reconstruct"),
                    ("multiarray", "scalar"),
                    ("numeric", "_frombuffer"),
                )
            ),
        ]
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load global {module}.{name}")
        return super().find_class(module, name)


def _load_cifar_batch(path: Path) -> dict[str, object]:
    raw = _read_bytes(path, "a CIFAR-10 batch")
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as error:  # arbitrary bytes fail inside pickle in many different ways
        raise ValueError(
            f"{path}: expected a CIFAR-10 python batch (a pickled dict), "
            f"unpickling failed with {type(error).__name__}: {error}"
        ) from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    # the published batches were pickled by Python 2 (bytes keys); Python 3 writes str keys
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [key for key in ("data", "labels") if key not in batch]
    if missing:
        found = ", ".join(sorted(map(repr, batch))) or "none"
        raise ValueError(f"{path}: expected keys 'data' and 'labels', found {found}")
    return batch


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, list | tuple):
        odd = [v for v in value if not isinstance(v, int | np.integer) or isinstance(v, bool)]
        if odd:
            return f"{type(value).__name__} holding {type(odd[0]).__name__} {reprlib.repr(odd[0])}"
    return type(value).__name__


def _cifar_labels(value: object, n: int, path: Path) -> np.ndarray:
    integers = (isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu") or (
        isinstance(value, list | tuple)
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
    )
    if not integers:
        raise ValueError(
            f"{path}: expected 'labels' as a list of n integers, found {_describe(value)}"
        )
    if len(value) != n:
        raise ValueError(f"{path}: {n} images but {len(value)} labels")
    outside = [int(v) for v in value if not 0 <= v <= 9]
    if outside:
        raise ValueError(f"{path}: expected CIFAR-10 labels 0..9, found {outside[0]}")
    return np.asarray(value, np.int64)


def read_cifar10_batches(
    directory: str | os.PathLike, batches: Sequence[str] = ("test_batch",)
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images ``(n, 3, 32, 32)`` uint8 and labels from its python batches.

    Args:
      directory: the extracted ``cifar-10-batches-py`` folder.
      batches: file names among ``data_batch_1`` … ``data_batch_5`` and ``test_batch``
        (10,000 images each), concatenated in this order.

    Each batch is a pickled dict with ``data``, a uint8 array ``(n, 3072)`` (the red, green and
    blue 32×32 planes of each image), and ``labels``, n integers in 0..9. Only NumPy arrays and
    plain containers are unpickled.

    Raises:
      FileNotFoundError: the folder or a batch is missing.
      ValueError: ``batches`` empty or a string, or a batch that is not such a dict.
    """
    if isinstance(batches, str) or not batches:
        raise ValueError(f"batches must name one or more batch files, got {batches!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder (expected cifar-10-batches-py)")
    images, labels = [], []
    for name in batches:
        path = directory / name
        batch = _load_cifar_batch(path)
        data = batch["data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape[1:] != (3072,):
            raise ValueError(
                f"{path}: expected 'data' as a uint8 array of shape (n, 3072), "
                f"found {_describe(data)}"
            )
        labels.append(_cifar_labels(batch["labels"], len(data), path))
        images.append(data.reshape(-1, 3, 32, 32))
    return np.concatenate(images), np.concatenate(labels)


_PNG_LABEL = re.compile(r"_(\d+)_(\d+)\.png$")
_PNG_MODES = {"L": "8-bit gray", "RGB": "8-bit color"}


def _read_png(path: Path) -> tuple[np.ndarray, str]:
    """One 8-bit gray or RGB PNG as ``(C, H, W)`` uint8, and its mode."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image_format, mode = image.format, image.mode
            pixels = np.asarray(image)  # decodes now: truncated or corrupt data raise here
    # PIL reports broken files as OSError (UnidentifiedImageError), SyntaxError (bad chunks),
    # EOFError, ValueError or zlib.error, and too many pixels as DecompressionBombError
    except (
        OSError,
        SyntaxError,
        EOFError,
        ValueError,
        zlib.error,
        Image.DecompressionBombError,
    ) as e:
        raise ValueError(
            f"{path}: expected a PNG image, cannot decode it ({type(e).__name__}: {e})"
        ) from None
    if image_format != "PNG":
        raise ValueError(f"{path}: expected a PNG image, found {image_format}")
    if mode not in _PNG_MODES:
        raise ValueError(
            f"{path}: expected an 8-bit gray (L) or RGB PNG, found mode {mode}; convert it first"
        )
    return (pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)), mode


def read_png_folder(
    directory: str | os.PathLike, pattern: str = "*.png"
) -> tuple[np.ndarray, np.ndarray]:
    """Images from PNG files named ``<anything>_<index>_<label>.png``, sorted by index.

    This is the layout of the CIFAR-10 and Fashion-MNIST samples in ``shared/data/``
    (e.g. ``cifar10_07_6.png``: test image 7, label 6). All files must be 8-bit gray (mode
    ``L``, giving C = 1) or all RGB (C = 3), of one size.

    Raises:
      FileNotFoundError: no folder, or no file matching ``pattern``.
      ValueError: a file name without index and label, two files with one index, a file
        that is not a decodable PNG, or images of different sizes or modes.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder (expected PNG files)")
    entries = []
    for path in sorted(directory.glob(pattern)):
        match = _PNG_LABEL.search(path.name)
        if match is None:
            raise ValueError(f"{path}: expected a name ending in _<index>_<label>.png")
        entries.append((int(match[1]), int(match[2]), path))
    if not entries:
        raise FileNotFoundError(f"no files matching {pattern} in {directory}")
    entries.sort()
    for (index, _, first), (next_index, _, second) in zip(entries, entries[1:], strict=False):
        if index == next_index:
            raise ValueError(f"{first} and {second} both claim index {index}")
    images, kinds = [], []
    for _, _, path in entries:
        pixels, mode = _read_png(path)
        kinds.append(f"{mode} of {pixels.shape[1]}×{pixels.shape[2]} pixels (height×width)")
        if kinds[-1] != kinds[0]:
            raise ValueError(
                f"{path}: {kinds[-1]}, but {entries[0][2].name} is {kinds[0]}; "
                "expected one size and mode for the whole folder"
            )
        images.append(pixels)
    return np.stack(images), np.array([label for _, label, _ in entries], np.int64)


def to_float(images: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Images as floats in ``[0, 1]``.

    Integer images (values 0..255, as the readers return) are divided by 255; float images
    must already lie in ``[0, 1]`` and are only cast, so ``to_float(to_float(x)) ==
    to_float(x)``.

    Raises:
      ValueError: ``dtype`` not floating; integers outside 0..255; floats that are NaN, inf or
        outside [0, 1]; any other dtype (e.g. bool).
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    images = np.asarray(images)
    if images.dtype.kind in "iu":
        if images.size and (images.min() < 0 or images.max() > 255):
            raise ValueError(
                f"integer images must lie in 0..255, found {images.min()}..{images.max()}"
            )
        return (images / 255.0).astype(dtype)
    if images.dtype.kind == "f":
        _check_finite(images, "images")
        if images.size and (images.min() < 0 or images.max() > 1):
            raise ValueError(
                f"float images must already lie in [0, 1], found [{images.min()}, "
                f"{images.max()}]; pass 0..255 values as integers"
            )
        return images.astype(dtype)
    raise ValueError(f"images must be integers in 0..255 or floats in [0, 1], got {images.dtype}")
