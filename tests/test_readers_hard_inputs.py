"""Hard inputs for the dataset readers: each gives one ValueError / FileNotFoundError that names
the file, what was expected and what was found, or a correct array; never an error from inside
NumPy, PIL, gzip or pickle, nor a silently wrong array."""

import gzip
import io
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from memjax.data import (
    load_sample,
    read_cifar10_batches,
    read_idx,
    read_mnist,
    read_png_folder,
    to_float,
)
from memjax.data.sample import DATASETS

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
IDX_CODES |= {np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` in the IDX format (big-endian, as the MNIST files)."""
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return header + np.array(array.shape, ">u4").tobytes() + big_endian.tobytes()


def png_bytes(mode: str, size=(4, 4), image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=image_format)
    return buffer.getvalue()


def prints_one_exception(error: BaseException) -> bool:
    """Whether a traceback of ``error`` shows no chained gzip / PIL / pickle error."""
    return error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder shared by hypothesis examples (function-scoped tmp_path is not allowed)."""
    return tmp_path_factory.mktemp("hard")


# ---------------------------------------------------------------- IDX

GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
BAD_IDX = {
    "empty": (b"", "is not an IDX file: expected magic bytes 00 00.*found an empty file"),
    "three_bytes": (b"\0\0\x08", "is not an IDX file.*found 00 00 08$"),
    "zip_magic": (b"PK\x03\x04 not idx", "is not an IDX file.*found 50 4b 03 04"),
    "type_code_07": (b"\0\0\x07\x01\0\0\0\x01\x05", "type code .*found 00 00 07 01"),
    "zero_dims": (b"\0\0\x08\0", "IDX header gives 0 dimensions, expected at least 1"),
    "header_cut": (GOOD[:9], r"announces 3 dimensions \(16 header bytes\).*only 9 bytes"),
    "payload_short": (GOOD[:-1], r"shape \(2, 3, 4\) of uint8, i.e. 24 data bytes.*has 23"),
    "payload_long": (GOOD + b"\0", r"24 data bytes, but the file has 25"),
    "huge_dims": (b"\0\0\x08\x02" + b"\xff" * 8 + b"\0", r"\(4294967295, 4294967295\)"),
    "gzip_cut": (gzip.compress(GOOD)[:-12], r"corrupt gzip data \(Compressed file ended"),
    "gzip_crc": (gzip.compress(GOOD)[:-8] + bytes(8), r"corrupt gzip data \(CRC check failed"),
    "gzip_garbage": (b"\x1f\x8bgarbage", r"corrupt gzip data"),
    "float_nan": (
        idx_bytes(np.array([1, np.nan, np.inf], np.float32)),
        r"expected finite numbers, found 2 NaN or inf \(first at index \(1,\)\)",
    ),
    "float64_inf": (
        idx_bytes(np.array([[1.0, -np.inf]])),
        r"found 1 NaN or inf \(first at index \(0, 1\)\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_IDX))
def test_bad_idx_files_raise_one_value_error_naming_the_file(tmp_path, case):
    data, message = BAD_IDX[case]
    path = tmp_path / case
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path)
    assert str(error.value).startswith(str(path))
    assert prints_one_exception(error.value)


def test_missing_idx_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope'}: no such file"):
        read_idx(tmp_path / "nope")
    with pytest.raises(ValueError, match=f"{tmp_path}: expected an IDX file, found a directory"):
        read_idx(tmp_path)


idx_arrays = st.sampled_from(list(IDX_CODES)).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
        elements={"allow_nan": False, "allow_infinity": False}
        if dtype().dtype.kind == "f"
        else None,
    )
)


@FUZZ
@given(array=idx_arrays, compress=st.booleans())
def test_idx_round_trip(scratch, array, compress):
    data = idx_bytes(array)
    (scratch / "a.idx").write_bytes(gzip.compress(data) if compress else data)
    read = read_idx(scratch / "a.idx")
    assert read.dtype == array.dtype and read.shape == array.shape
    np.testing.assert_array_equal(read, array)


@FUZZ
@given(array=idx_arrays.filter(lambda a: a.size > 0), cut=st.integers(1, 10**6))
def test_every_truncated_idx_raises(scratch, array, cut):
    data = idx_bytes(array)
    (scratch / "cut.idx").write_bytes(data[: cut % len(data)])
    with pytest.raises(ValueError, match=re.escape(str(scratch / "cut.idx"))):
        read_idx(scratch / "cut.idx")


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=80),
        st.tuples(
            st.sampled_from([8, 9, 0x0B, 0x0D]), st.integers(0, 3), st.binary(max_size=40)
        ).map(lambda t: bytes([0, 0, t[0], t[1]]) + t[2]),
    ),
    compress=st.booleans(),
)
def test_arbitrary_bytes_parse_consistently_or_raise_naming_the_file(scratch, data, compress):
    path = scratch / "any.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    try:
        array = read_idx(path)
    except ValueError as error:
        assert str(error).startswith(str(path))
        return
    ndim = data[3]
    assert array.shape == tuple(np.frombuffer(data, ">u4", ndim, 4))
    assert 4 + 4 * ndim + array.nbytes == len(data)
    payload = np.frombuffer(data, array.dtype.newbyteorder(">"), offset=4 + 4 * ndim)
    np.testing.assert_array_equal(array.ravel(), payload)


# ---------------------------------------------------------------- MNIST pairs


def test_mnist_pairs_must_match(tmp_path):
    files = {
        "images": np.zeros((3, 2, 2), np.uint8),
        "labels": np.zeros(3, np.uint8),
        "two_labels": np.zeros(2, np.uint8),
        "float_images": np.zeros((3, 2, 2), np.float32),
        "flat_images": np.zeros((3, 4), np.uint8),
        "column_labels": np.zeros((3, 1), np.uint8),
        "float_labels": np.zeros(3),
        "negative_labels": np.array([0, -1, 2], np.int8),
    }
    for name, array in files.items():
        (tmp_path / name).write_bytes(idx_bytes(array))
    p = {name: tmp_path / name for name in files}
    cases = [
        ("images", "two_labels", f"{p['images']} has 3 images but {p['two_labels']} has 2 labels"),
        ("float_images", "labels", "expected uint8 images of shape (n, rows, cols), found float32"),
        ("flat_images", "labels", "found uint8 of shape (3, 4)"),
        ("labels", "images", "expected uint8 images .* found uint8 of shape (3,)"),
        (
            "images",
            "column_labels",
            "expected integer labels of shape (n,), found uint8 of shape (3, 1)",
        ),
        ("images", "float_labels", "expected integer labels of shape (n,), found float64"),
        ("images", "negative_labels", "expected labels >= 0, found -1"),
    ]
    for images, labels, message in cases:
        with pytest.raises(ValueError, match=re.escape(message).replace(r"\.\*", ".*")):
            read_mnist(p[images], p[labels])
    images, labels = read_mnist(p["images"], p["labels"])
    assert images.shape == (3, 1, 2, 2) and labels.dtype == np.int64


# ---------------------------------------------------------------- CIFAR-10 batches

DATA = np.arange(2 * 3072).reshape(2, 3072).astype(np.uint8)
BAD_BATCHES = {
    "empty_file": (b"", "unpickling failed with EOFError"),
    "text_file": (b"hello world", "unpickling failed with UnpicklingError"),
    "not_a_dict": ([1, 2], "expected a pickled dict, found list"),
    "no_labels": ({b"data": DATA}, "expected keys 'data' and 'labels', found 'data'"),
    "no_data": ({"labels": [0, 1]}, "expected keys 'data' and 'labels', found 'labels'"),
    "float_data": ({b"data": DATA / 255, b"labels": [0, 1]}, "found float64 array of shape"),
    "nan_data": (
        {b"data": np.full((2, 3072), np.nan), b"labels": [0, 1]},
        "found float64 array",
    ),
    "int64_data": ({b"data": DATA.astype(np.int64), b"labels": [0, 1]}, "found int64 array"),
    "list_data": (
        {b"data": DATA.tolist(), b"labels": [0, 1]},
        r"found list holding list \[0, 1, 2, 3, 4, 5, \.\.\.\]",
    ),
    "3071_columns": (
        {b"data": DATA[:, :3071], b"labels": [0, 1]},
        r"shape \(n, 3072\), found uint8 array of shape \(2, 3071\)",
    ),
    "flat_data": ({b"data": DATA[0], b"labels": [0]}, r"found uint8 array of shape \(3072,\)"),
    "three_labels": ({b"data": DATA, b"labels": [0, 1, 2]}, "2 images but 3 labels"),
    "label_10": ({b"data": DATA, b"labels": [0, 10]}, "expected CIFAR-10 labels 0..9, found 10"),
    "float_label": ({b"data": DATA, b"labels": [0, 1.5]}, "list holding float 1.5"),
    "bool_labels": ({b"data": DATA, b"labels": [True, False]}, "list holding bool True"),
    "string_labels": ({b"data": DATA, b"labels": "01"}, "list of n integers, found str"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_bad_cifar_batches_raise_one_value_error_naming_the_file(tmp_path, case):
    content, message = BAD_BATCHES[case]
    raw = content if isinstance(content, bytes) else pickle.dumps(content)
    (tmp_path / case).write_bytes(raw)
    with pytest.raises(ValueError, match=message) as error:
        read_cifar10_batches(tmp_path, (case,))
    assert str(error.value).startswith(f"{tmp_path / case}: ")
    assert prints_one_exception(error.value)


def test_cifar_batches_from_python_2_and_3(tmp_path):
    # python-2 batches have bytes keys, python-3 ones str keys; labels a list or an array
    (tmp_path / "py2").write_bytes(pickle.dumps({b"data": DATA, b"labels": [3, 9]}, protocol=2))
    (tmp_path / "py3").write_bytes(pickle.dumps({"data": DATA, "labels": np.array([0, 1])}))
    images, labels = read_cifar10_batches(tmp_path, ("py2", "py3"))
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == [3, 9, 0, 1]
    np.testing.assert_array_equal(images[1, 2, 31, 31], DATA[1, 3071])


class _MakesADirectory:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def test_cifar_pickle_cannot_run_code(tmp_path):
    witness = tmp_path / "created_by_pickle"
    evil = {b"data": DATA, b"labels": [0, 1], b"x": _MakesADirectory(witness)}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(evil))
    with pytest.raises(ValueError, match=r"refused to load global posix\.mkdir"):
        read_cifar10_batches(tmp_path)
    assert not witness.exists()


def test_cifar_arguments_and_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope'}: no such folder"):
        read_cifar10_batches(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'data_batch_1'}: no such file"):
        read_cifar10_batches(tmp_path, ("data_batch_1",))
    for batches in ((), "test_batch"):
        with pytest.raises(ValueError, match="batches must name one or more batch files"):
            read_cifar10_batches(tmp_path, batches)


@FUZZ
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_as_cifar_batch_raise_naming_the_file(scratch, data):
    (scratch / "test_batch").write_bytes(data)
    with pytest.raises(ValueError) as error:
        read_cifar10_batches(scratch)
    assert str(error.value).startswith(f"{scratch / 'test_batch'}: expected")


# ---------------------------------------------------------------- PNG folders

BAD_PNGS = {
    "text_named_png": ({"a_0_1.png": b"hello"}, "expected a PNG image, cannot decode it"),
    "empty_png": ({"a_0_1.png": b""}, "cannot decode it (UnidentifiedImageError"),
    "truncated_png": (
        {"a_0_1.png": png_bytes("RGB", (32, 32))[:-20]},
        "cannot decode it (OSError: image file is truncated)",
    ),
    "jpeg_named_png": ({"a_0_1.png": png_bytes("RGB", image_format="JPEG")}, "found JPEG"),
    "rgba": (
        {"a_0_1.png": png_bytes("RGBA")},
        "expected an 8-bit gray (L) or RGB PNG, found mode RGBA",
    ),
    "palette": ({"a_0_1.png": png_bytes("P")}, "found mode P"),
    "16_bit": ({"a_0_1.png": png_bytes("I;16")}, "found mode I;16"),
    "bilevel": ({"a_0_1.png": png_bytes("1")}, "found mode 1"),
    "sizes": (
        {"a_0_1.png": png_bytes("L", (4, 4)), "a_1_1.png": png_bytes("L", (5, 4))},
        "a_1_1.png: L of 4×5 pixels (height×width), but a_0_1.png is L of 4×4 pixels",
    ),
    "modes": (
        {"a_0_1.png": png_bytes("L"), "a_1_1.png": png_bytes("RGB")},
        "a_1_1.png: RGB of 4×4 pixels (height×width), but a_0_1.png is L of 4×4",
    ),
    "no_label": (
        {"a_0.png": png_bytes("L")},
        "a_0.png: expected a name ending in _<index>_<label>.png",
    ),
    "same_index": (
        {"a_0_1.png": png_bytes("L"), "b_0_2.png": png_bytes("L")},
        "a_0_1.png and .*b_0_2.png both claim index 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PNGS))
def test_bad_png_folders_raise_one_value_error_naming_the_file(tmp_path, case):
    files, message = BAD_PNGS[case]
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    pattern = re.escape(message).replace(r"\.\*", ".*")
    with pytest.raises(ValueError, match=pattern) as error:
        read_png_folder(tmp_path)
    assert str(error.value).startswith(str(tmp_path))
    assert prints_one_exception(error.value)


def test_png_folder_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope'}: no such folder"):
        read_png_folder(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(FileNotFoundError, match=f"no files matching \\*.png in {tmp_path}"):
        read_png_folder(tmp_path)


@FUZZ
@given(
    pixels=hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3))),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_damaged_pngs_read_exactly_or_raise_naming_the_file(scratch, pixels, edits, cut):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    for position, value in edits:
        data[position % len(data)] = value
    folder = scratch / "png"
    folder.mkdir(exist_ok=True)
    path = folder / "x_0_3.png"
    path.write_bytes(bytes(data if cut is None else data[: cut % len(data)]))
    try:
        images, labels = read_png_folder(folder)
    except ValueError as error:
        assert str(error).startswith(f"{path}: expected")
        return
    assert images.dtype == np.uint8 and images.shape[:2] == (1, 3) and labels.tolist() == [3]
    if not edits and cut is None:
        np.testing.assert_array_equal(images[0], pixels.transpose(2, 0, 1))


# ---------------------------------------------------------------- to_float, load_sample

BAD_IMAGES = {
    "int_256": (np.array([0, 256]), {}, "integer images must lie in 0..255, found 0..256"),
    "negative": (np.array([-1, 3]), {}, "integer images must lie in 0..255, found -1..3"),
    "float_0_255": (np.array([0.0, 255.0]), {}, r"float images must already lie in \[0, 1\]"),
    "nan": (np.array([0.0, np.nan]), {}, r"images: expected finite numbers, found 1 NaN or inf"),
    "inf": (np.array([[0.0, np.inf]], np.float32), {}, r"first at index \(0, 1\)"),
    "bool": (np.array([True]), {}, "images must be integers in 0..255 or floats in .* got bool"),
    "int_dtype": (np.array([1], np.uint8), {"dtype": np.int32}, "floating dtype, got int32"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_to_float_refuses_what_it_cannot_scale(case):
    images, kwargs, message = BAD_IMAGES[case]
    with pytest.raises(ValueError, match=message):
        to_float(images, **kwargs)


@FUZZ
@given(images=hnp.arrays(np.uint8, hnp.array_shapes(max_dims=4, max_side=4)))
def test_to_float_scales_uint8_and_is_idempotent(images):
    scaled = to_float(images)
    assert scaled.dtype == np.float32 and scaled.shape == images.shape
    np.testing.assert_allclose(scaled * 255, images, atol=1e-4)
    np.testing.assert_array_equal(to_float(scaled), scaled)
    assert to_float(images.astype(np.int64), np.float64).dtype == np.float64


@FUZZ
@given(name=st.one_of(st.text(max_size=12), st.sampled_from(["MNIST", "fashion-mnist", "cifar"])))
def test_load_sample_names(name):
    if name in DATASETS:
        return
    with pytest.raises(
        ValueError, match=f"unknown sample dataset .*choose one of {', '.join(DATASETS)}"
    ):
        load_sample(name)
