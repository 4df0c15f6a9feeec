"""Download MNIST, Fashion-MNIST and CIFAR-10 from their canonical sources, and load them.

``memjax data download NAME [--dir DIR]`` (wired to :func:`cli`) fetches every file of a
dataset, checks it against its published MD5, and leaves this layout under the data directory
(:func:`resolve_data_dir`)::

    DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    DIR/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    DIR/cifar10/cifar-10-python.tar.gz and the extracted DIR/cifar10/cifar-10-batches-py/

A download is written to ``NAME.part``, resumed with an HTTP ``Range`` request if interrupted
(started over if the server ignores ``Range``), and moved to ``NAME`` only after its checksum
matches, so a file under its final name is always the published one. Files already present
and verified are not fetched again. :func:`load_dataset` then reads a split with the readers
of :mod:`memjax.data.readers`.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shlex
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from memjax.data.readers import read_cifar10_batches, read_mnist

DATA_DIR_ENV = "MEMJAX_DATA"
USER_AGENT = "memjax-data-download/0.1"
SPLITS = ("train", "test")


class DownloadError(RuntimeError):
    """A file could not be fetched from any mirror, or failed its checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name on the server, MD5, and the split it holds.

    ``split`` is ``"train"``, ``"test"`` or ``"all"`` (an archive with both). An archive lists
    the files it extracts to, with their MD5s, in ``members``: paths relative to the dataset
    folder, all in one top folder.
    """

    name: str
    md5: str
    split: str
    members: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset lives: its folder under the data directory and its mirrors, in order."""

    folder: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]


def _idx_files(md5s: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(n, md5, "test" if n.startswith("t10k") else "train") for n, md5 in md5s.items()
    )


CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))

SOURCES = {
    # torchvision/datasets/mnist.py (class MNIST: `mirrors`, `resources`). torchvision lists
    # yann.lecun.com first; it has answered 403 since 2024 (pytorch/vision#8572, #8864), so
    # the ossci mirror comes first here. The CVDF mirror is the one TensorFlow's MNIST uses.
    "mnist": DatasetSource(
        folder="mnist",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        files=_idx_files(
            {
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            }
        ),
    ),
    # zalandoresearch/fashion-mnist README.md, "Get the Data" (links and MD5 column; the same
    # in torchvision's FashionMNIST). The README's other source is the repository's
    # data/fashion/ folder, served raw by GitHub.
    "fashion-mnist": DatasetSource(
        folder="fashion-mnist",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=_idx_files(
            {
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            }
        ),
    ),
    # torchvision/datasets/cifar.py (class CIFAR10: `url`, `tgz_md5`, `train_list`,
    # `test_list`); Krizhevsky's page https://www.cs.toronto.edu/~kriz/cifar.html.
    "cifar10": DatasetSource(
        folder="cifar10",
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(
            RemoteFile(
                "cifar-10-python.tar.gz",
                "c58f30108f718f92721af3b95e74349a",
                "all",
                members=(
                    (f"{CIFAR10_FOLDER}/data_batch_1", "c99cafc152244af753f735de768cd75f"),
                    (f"{CIFAR10_FOLDER}/data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
                    (f"{CIFAR10_FOLDER}/data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
                    (f"{CIFAR10_FOLDER}/data_batch_4", "634d18415352ddfa80567beed471001a"),
                    (f"{CIFAR10_FOLDER}/data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
                    (f"{CIFAR10_FOLDER}/test_batch", "40351d587109b95175f43aff81a1287e"),
                ),
            ),
        ),
    ),
}


def dataset_source(name: str) -> DatasetSource:
    """The source of ``name`` (``mnist``, ``fashion-mnist`` or ``cifar10``; ``_`` for ``-``)."""
    key = str(name).replace("_", "-")
    if key not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(SOURCES)}")
    return SOURCES[key]


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The directory that holds downloaded datasets.

    In order: ``explicit`` (e.g. a config's ``data_dir``; ``None`` or ``""`` means unset), the
    environment variable ``MEMJAX_DATA``, else ``$XDG_CACHE_HOME/memjax`` (``~/.cache/memjax``
    when ``XDG_CACHE_HOME`` is unset). ``~`` is expanded; the directory need not exist.
    """
    for value in (explicit, os.environ.get(DATA_DIR_ENV)):
        if value:
            return Path(value).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "memjax"


def file_md5(path: Path) -> str:
    """Hex MD5 of a file, read in 1 MiB blocks (constant memory)."""
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fetch_into_part(url: str, part: Path, timeout: float) -> None:
    """GET ``url`` into ``part``, resuming from its current size with a ``Range`` request.

    Raises:
      urllib.error.URLError / OSError / http.client.HTTPException: the request failed;
        ``ConnectionError`` when the connection closed before ``Content-Length`` bytes came.
        Whatever arrived stays in ``part`` for the next attempt.
    """
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the part already holds every byte: verify it
            return
        raise
    with response:
        if offset and response.status != 206:  # the server ignored Range: start over
            offset = 0
        elif offset and not response.headers.get("Content-Range", "").startswith(
            f"bytes {offset}-"
        ):
            raise ConnectionError(
                f"asked for bytes {offset}- but got Content-Range "
                f"{response.headers.get('Content-Range')!r}"
            )
        remaining = response.length  # None when the server sends no Content-Length
        total = None if remaining is None else offset + remaining
        received = 0
        with (
            part.open("ab" if offset else "wb") as f,
            tqdm(
                total=total,
                initial=offset,
                desc=part.name.removesuffix(".part"),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                disable=None,  # a bar on terminals only
            ) as bar,
        ):
            while chunk := response.read(1 << 16):
                f.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns b"" instead of raising when a connection closes early
    if remaining is not None and received < remaining:
        raise ConnectionError(
            f"connection closed after {offset + received} of {total} bytes "
            f"({part.name} keeps them; run again to resume)"
        )


def download_file(
    urls: Sequence[str], target: str | os.PathLike, md5: str, timeout: float = 60.0
) -> Path:
    """Fetch ``target`` from the first of ``urls`` that delivers it with the right MD5.

    Writes ``target.part``, resuming it if a previous call left one, and renames it to
    ``target`` only once its MD5 matches. A target already present is checked, not fetched.

    Args:
      urls: the file's address on each mirror, tried in order.
      target: where the verified file goes; its folder is created.
      md5: the published hex MD5 of the file.
      timeout: seconds without data before a connection counts as failed.

    Returns:
      ``target`` as a ``Path``.

    Raises:
      DownloadError: no mirror delivered a verified file (the message has one reason per
        URL: HTTP status, network error, interruption, or expected and received MD5), or
        ``target`` exists with another MD5.
    """
    target = Path(target)
    if target.exists():
        got = file_md5(target)
        if got != md5:
            raise DownloadError(
                f"{target} exists but its md5 is {got}, expected {md5}; delete it and run again"
            )
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    failures = []
    for url in urls:
        try:
            _fetch_into_part(url, part, timeout)
        except urllib.error.HTTPError as error:
            failures.append(f"{url}: HTTP {error.code} {error.reason}")
            continue
        except urllib.error.URLError as error:
            failures.append(f"{url}: cannot connect ({error.reason})")
            continue
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{url}: {type(error).__name__}: {error}")
            continue
        got = file_md5(part)
        if got != md5:
            part.unlink()
            failures.append(f"{url}: checksum mismatch, expected md5 {md5}, got {got}")
            continue
        os.replace(part, target)
        return target
    raise DownloadError(f"could not download {target.name}: " + "; ".join(failures))


def _member_problems(folder: Path, members: Sequence[tuple[str, str]]) -> list[str]:
    """What is wrong with the extracted ``members`` under ``folder``: missing or wrong MD5."""
    problems = []
    for name, md5 in members:
        if not (folder / name).exists():
            problems.append(f"{name} is missing")
        elif (got := file_md5(folder / name)) != md5:
            problems.append(f"{name} has md5 {got}, expected {md5}")
    return problems


def _extract(archive: Path, folder: Path, members: Sequence[tuple[str, str]]) -> None:
    """Extract a verified tar.gz into ``folder``: into a temporary folder, check, then move.

    ``filter="data"`` refuses absolute paths, ``..``, links out of the folder and device
    files, so a crafted archive cannot write outside ``folder``.
    """
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=folder) as scratch:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DownloadError(f"cannot extract {archive}: {error}") from error
        problems = _member_problems(Path(scratch), members)
        if problems:
            raise DownloadError(f"{archive} does not hold the published files: {problems[0]}")
        for top in sorted({Path(name).parts[0] for name, _ in members}):
            os.replace(Path(scratch) / top, folder / top)


def download_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    split: str = "all",
    base_url: str | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Download (or check) every file of one split of a dataset.

    Args:
      name: ``mnist``, ``fashion-mnist`` or ``cifar10``.
      data_dir: see :func:`resolve_data_dir`; files go to ``data_dir/<folder>/``.
      split: ``train``, ``test`` or ``all``; CIFAR-10 is one archive holding both.
      base_url: one URL to fetch ``base_url/<file name>`` from instead of the mirrors.
      timeout: seconds without data before a connection counts as failed.

    Returns:
      The verified files (for CIFAR-10 also the extracted ``cifar-10-batches-py`` folder).

    Raises:
      ValueError: unknown ``name`` or ``split``.
      DownloadError: see :func:`download_file`; also a corrupt archive.
    """
    source = dataset_source(name)
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of train, test, all; got {split!r}")
    folder = resolve_data_dir(data_dir) / source.folder
    mirrors = (base_url.rstrip("/") + "/",) if base_url else source.mirrors
    paths = []
    for remote in source.files:
        if split != "all" and remote.split not in (split, "all"):
            continue
        extracted = folder / Path(remote.members[0][0]).parts[0] if remote.members else None
        if extracted is not None and extracted.exists():
            problems = _member_problems(folder, remote.members)
            if problems:
                raise DownloadError(f"{extracted}: {problems[0]}; delete it and run again")
            paths.append(extracted)
            continue
        archive = download_file(
            [m + remote.name for m in mirrors], folder / remote.name, remote.md5, timeout
        )
        paths.append(archive)
        if extracted is not None:
            _extract(archive, folder, remote.members)
            paths.append(extracted)
    return paths


def split_files(name: str, split: str, folder: Path) -> list[Path]:
    """The files of dataset ``name``'s ``split`` as they lie in ``folder`` (the dataset's own
    folder: the IDX pair for MNIST-like sets, the batch files under ``cifar-10-batches-py``)."""
    if dataset_source(name).folder == "cifar10":
        batches = CIFAR10_TRAIN if split == "train" else ("test_batch",)
        return [folder / CIFAR10_FOLDER / b for b in batches]
    prefix = "train" if split == "train" else "t10k"
    return [folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"]


def load_dataset(
    name: str, split: str = "test", data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A downloaded split as ``(images uint8 (n, C, H, W), labels int64 (n,))``.

    MNIST and Fashion-MNIST give ``(n, 1, 28, 28)`` (train n = 60000, test 10000), CIFAR-10
    ``(n, 3, 32, 32)`` (train 50000, test 10000). Memory: 47 MB for MNIST train, 154 MB for
    CIFAR-10 train.

    Raises:
      ValueError: unknown ``name`` or ``split``, or a file that does not parse.
      FileNotFoundError: a file of the split is missing; the message names it and the
        ``memjax data download`` command that fetches it.
    """
    source = dataset_source(name)
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = resolve_data_dir(data_dir)
    files = split_files(name, split, root / source.folder)
    missing = [path for path in files if not path.exists()]
    if missing:
        command = f"memjax data download {source.folder} --dir {shlex.quote(str(root))}"
        raise FileNotFoundError(
            f"{source.folder} {split} split not found: {missing[0]} is missing; "
            f"download it with `{command}`"
        )
    if source.folder == "cifar10":
        return read_cifar10_batches(files[0].parent, [path.name for path in files])
    return read_mnist(*files)


class _UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so errors are one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="memjax data", description="Fetch the real datasets.")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    download = commands.add_parser(
        "download",
        help="download and verify a dataset",
        description=f"Files go to DIR/NAME/ (DIR: --dir, else ${DATA_DIR_ENV}, else "
        "~/.cache/memjax).",
    )
    download.add_argument("name", choices=tuple(SOURCES))
    download.add_argument("--dir", default=None, help="data directory")
    download.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    download.add_argument("--base-url", default=None, help="fetch BASE_URL/FILE, not the mirrors")
    return parser


def cli(argv: Sequence[str] | None = None) -> int:
    """``memjax data download NAME [--dir DIR] [--split S] [--base-url URL]``.

    Prints each verified file; returns 0, or 2 after a one-line error on stderr.
    """
    try:
        args = _parser().parse_args(argv)
        paths = download_dataset(args.name, args.dir, args.split, args.base_url)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except (_UsageError, ValueError, DownloadError, OSError) as error:
        print(f"memjax data: error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0
