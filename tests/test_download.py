"""memjax.data.download against a local HTTP server (no internet at test time)."""

import hashlib
import io
import pickle
import re
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from memjax.data import download
from memjax.data.download import (
    DatasetSource,
    DownloadError,
    RemoteFile,
    download_dataset,
    download_file,
    file_md5,
    load_dataset,
    resolve_data_dir,
)

# The MD5s published for the MNIST test files (torchvision's MNIST.resources), written out
# here so the test checks the real values, not whatever the registry holds.
MNIST_T10K_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


class FileServer:
    """Serves ``files`` (name -> bytes) on 127.0.0.1 with HTTP ``Range`` support.

    ``honour_range=False`` answers every request with the whole file (status 200);
    ``cut_after[name] = n`` makes the first request for ``name`` send ``n`` bytes of the body
    and close the connection. ``ranges`` records the ``Range`` header of every request.
    """

    def __init__(self, files: dict[str, bytes], honour_range: bool = True, cut_after=None):
        self.files, self.honour_range = files, honour_range
        self.cut_after = dict(cut_after or {})
        self.ranges: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                owner.ranges.append(self.headers.get("Range"))
                if name not in owner.files:
                    self.send_error(404)
                    return
                data, start = owner.files[name], 0
                requested = self.headers.get("Range")
                if requested and owner.honour_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", requested)[1])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = owner.cut_after.pop(name, None)
                self.wfile.write(body if cut is None else body[:cut])

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mnist_t10k(shared_data) -> dict[str, bytes]:
    return {name: (shared_data / "mnist" / name).read_bytes() for name in MNIST_T10K_MD5}


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_mnist_test_split_downloads_verified_and_reads(mnist_t10k, tmp_path):
    with FileServer(mnist_t10k) as server:
        paths = download_dataset("mnist", tmp_path, "test", base_url=server.url)
        assert sorted(p.name for p in paths) == sorted(MNIST_T10K_MD5)
        assert {p.name: file_md5(p) for p in paths} == MNIST_T10K_MD5
        assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(MNIST_T10K_MD5)
        images, labels = load_dataset("mnist", "test", tmp_path)
        assert images.shape == (10000, 1, 28, 28) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == MNIST_TEST_CLASS_COUNTS
        requests = len(server.ranges)
        download_dataset("mnist", tmp_path, "test", base_url=server.url)
        assert len(server.ranges) == requests  # verified files are not fetched again


def test_checksum_mismatch_leaves_no_file_and_names_url_and_md5s(tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    with FileServer({name: b"not the MNIST labels"}) as server:
        with pytest.raises(DownloadError) as error:
            download_file([f"{server.url}/{name}"], tmp_path / name, MNIST_T10K_MD5[name])
    message = str(error.value)
    assert f"{server.url}/{name}" in message and MNIST_T10K_MD5[name] in message
    assert f"got {_md5(b'not the MNIST labels')}" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("honour_range", [True, False])
def test_interrupted_download_resumes_or_restarts(mnist_t10k, tmp_path, honour_range):
    name, cut = "t10k-images-idx3-ubyte.gz", 100_000
    files = {name: mnist_t10k[name]}
    target = tmp_path / name
    with FileServer(files, honour_range, cut_after={name: cut}) as server:
        with pytest.raises(DownloadError, match=f"closed after {cut} of {len(files[name])} bytes"):
            download_file([f"{server.url}/{name}"], target, MNIST_T10K_MD5[name])
        assert [p.name for p in tmp_path.iterdir()] == [name + ".part"]
        assert (tmp_path / (name + ".part")).stat().st_size == cut
        download_file([f"{server.url}/{name}"], target, MNIST_T10K_MD5[name])
    assert server.ranges == [None, f"bytes={cut}-"]
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert target.read_bytes() == files[name]


def test_mirrors_are_tried_in_order_and_http_errors_are_reported(mnist_t10k, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    dead = _closed_port_url()
    with FileServer({name: mnist_t10k[name]}) as server:
        with pytest.raises(DownloadError) as error:
            download_file([f"{server.url}/missing/{name}", f"{dead}/{name}"], tmp_path / name, "0")
        assert "HTTP 404" in str(error.value) and f"{dead}/{name}: cannot connect" in str(
            error.value
        )
        path = download_file(
            [f"{dead}/{name}", f"{server.url}/{name}"], tmp_path / name, MNIST_T10K_MD5[name]
        )
    assert file_md5(path) == MNIST_T10K_MD5[name]


def test_existing_file_with_wrong_checksum_is_refused(tmp_path):
    (tmp_path / "f.gz").write_bytes(b"tampered")
    with pytest.raises(DownloadError, match="exists but its md5 is .* delete it"):
        download_file(["http://127.0.0.1:9/f.gz"], tmp_path / "f.gz", "0" * 32)
    assert (tmp_path / "f.gz").read_bytes() == b"tampered"


def _add(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    tar.addfile(info, io.BytesIO(content))


def _cifar_like_archive(extra: dict[str, bytes] | None = None) -> tuple[bytes, tuple]:
    """A tar.gz laid out as cifar-10-python.tar.gz, with 2 images per batch."""
    rng = np.random.default_rng(0)
    members, buffer = [], io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for batch in (*download.CIFAR10_TRAIN, "test_batch"):
            data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
            payload = pickle.dumps({b"data": data, b"labels": [1, 7]})
            name = f"{download.CIFAR10_FOLDER}/{batch}"
            members.append((name, _md5(payload)))
            _add(tar, name, payload)
        for name, content in (extra or {}).items():
            _add(tar, name, content)
    return buffer.getvalue(), tuple(members)


def _serve_cifar(monkeypatch, archive: bytes, members: tuple) -> FileServer:
    remote = RemoteFile("cifar-10-python.tar.gz", _md5(archive), "all", members)
    monkeypatch.setitem(download.SOURCES, "cifar10", DatasetSource("cifar10", ("",), (remote,)))
    return FileServer({remote.name: archive})


def test_cifar_archive_is_extracted_after_verification(monkeypatch, tmp_path):
    archive, members = _cifar_like_archive()
    with _serve_cifar(monkeypatch, archive, members) as server:
        paths = download_dataset("cifar10", tmp_path, base_url=server.url)
        assert paths == [
            tmp_path / "cifar10" / "cifar-10-python.tar.gz",
            tmp_path / "cifar10" / download.CIFAR10_FOLDER,
        ]
        requests = len(server.ranges)
        download_dataset("cifar10", tmp_path, base_url=server.url)
        assert len(server.ranges) == requests
    assert sorted(p.name for p in (tmp_path / "cifar10").iterdir()) == sorted(
        ["cifar-10-python.tar.gz", download.CIFAR10_FOLDER]
    )
    images, labels = load_dataset("cifar10", "train", tmp_path)
    assert images.shape == (10, 3, 32, 32) and labels.tolist() == [1, 7] * 5
    (tmp_path / "cifar10" / download.CIFAR10_FOLDER / "test_batch").write_bytes(b"changed")
    with pytest.raises(DownloadError, match=f"test_batch has md5 {_md5(b'changed')}, expected"):
        download_dataset("cifar10", tmp_path, base_url="http://127.0.0.1:9")


def test_cifar_archive_with_path_traversal_is_refused(monkeypatch, tmp_path):
    archive, members = _cifar_like_archive({"../escaped.txt": b"outside"})
    with _serve_cifar(monkeypatch, archive, members) as server:
        with pytest.raises(DownloadError, match="cannot extract .*outside the destination"):
            download_dataset("cifar10", tmp_path / "data", base_url=server.url)
    assert not (tmp_path / "data" / "escaped.txt").exists() and not any(
        p.name == "escaped.txt" for p in tmp_path.rglob("*")
    )
    assert not (tmp_path / "data" / "cifar10" / download.CIFAR10_FOLDER).exists()


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_missing_dataset_error_names_path_and_command(tmp_path, name):
    with pytest.raises(FileNotFoundError) as error:
        load_dataset(name, "test", tmp_path)
    message = str(error.value)
    assert f"memjax data download {name} --dir {tmp_path}" in message
    assert str(tmp_path / name) in message


def test_dataset_names_and_splits_are_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match="memjax data download fashion-mnist --dir"):
        load_dataset("fashion_mnist", "train", tmp_path)  # load_sample's spelling works too
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; choose one of mnist, "):
        load_dataset("imagenet", "test", tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'all'"):
        load_dataset("mnist", "all", tmp_path)
    with pytest.raises(ValueError, match="split must be one of train, test, all; got 'val'"):
        download_dataset("mnist", tmp_path, "val")


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMJAX_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir("") == tmp_path / "env"
    monkeypatch.delenv("MEMJAX_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_data_dir(None) == tmp_path / "cache" / "memjax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_dir() == Path.home() / ".cache" / "memjax"


def test_cli_prints_files_and_fails_in_one_line(mnist_t10k, tmp_path, capsys):
    with FileServer(mnist_t10k) as server:
        argv = ["download", "mnist", "--dir", str(tmp_path), "--split", "test"]
        assert download.cli([*argv, "--base-url", server.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted(str(tmp_path / "mnist" / n) for n in MNIST_T10K_MD5)
    for bad in (
        ["download", "imagenet"],
        ["upload", "mnist"],
        [],
        ["download", "mnist", "--dir", str(tmp_path), "--base-url", _closed_port_url()],
    ):
        assert download.cli(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("memjax data: error: ") and err.count("\n") == 1, err
