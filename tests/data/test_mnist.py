"""MNIST acquisition: verification refuses bad files, parsing matches the known counts, and the
download path falls through mirrors and rejects a corrupt copy (served from a local http.server)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from layerwise.data.mnist import (
    MNIST_FILES,
    MnistError,
    fetch_mnist,
    load_mnist,
    parse_idx,
    read_verified,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LABELS_T10K = "t10k-labels-idx1-ubyte"


def _copy(mnist_dir: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for base, _ in MNIST_FILES.values():
        shutil.copy(mnist_dir / f"{base}.gz", dest / f"{base}.gz")
    return dest


def _corrupt_content(gz_path: Path) -> None:
    """Flip one byte of the decompressed content (a label), recompress: valid gzip, wrong md5."""
    raw = bytearray(gzip.decompress(gz_path.read_bytes()))
    raw[100] ^= 0x01
    gz_path.write_bytes(gzip.compress(bytes(raw)))


@pytest.fixture
def mnist_copy(mnist_dir: Path, tmp_path: Path) -> Path:
    return _copy(mnist_dir, tmp_path / "mnist")


def test_good_local_copy_parsed_with_known_counts(mnist_dir: Path, mnist_arrays: dict) -> None:
    assert fetch_mnist(local_dir=mnist_dir) == mnist_dir
    m = mnist_arrays
    assert m["x_train"].shape == (60000, 784) and m["x_train"].dtype == np.uint8
    assert m["x_test"].shape == (10000, 784) and m["y_test"].dtype == np.int64
    assert np.bincount(m["y_train"]).tolist() == TRAIN_COUNTS
    assert np.bincount(m["y_test"]).tolist() == TEST_COUNTS
    # Row-major 28x28 images with a blank border: the outermost rows/columns are nearly all zero.
    img = m["x_train"].reshape(-1, 28, 28)
    assert img[:, 0, :].mean() < 0.1 and img[:, 13:15, 13:15].mean() > 50
    assert m["x_train"].max() == 255 and m["x_train"].min() == 0


def test_env_var_is_used_and_nothing_downloaded(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERWISE_MNIST_DIR", str(mnist_dir))
    cache = tmp_path / "cache"
    assert fetch_mnist(cache_dir=cache, mirrors=["http://127.0.0.1:9/nothing/"]) == mnist_dir
    assert not cache.exists()


def test_missing_file_refused_naming_it(mnist_copy: Path) -> None:
    (mnist_copy / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError, match="train-labels-idx1-ubyte.*LAYERWISE_MNIST_DIR"):
        fetch_mnist(local_dir=mnist_copy)
    with pytest.raises(MnistError, match="train-labels-idx1-ubyte"):
        load_mnist(mnist_copy)


def test_truncated_gzip_refused(mnist_copy: Path) -> None:
    path = mnist_copy / f"{LABELS_T10K}.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MnistError, match=rf"{LABELS_T10K}.*truncated"):
        fetch_mnist(local_dir=mnist_copy)


def test_corrupted_content_refused(mnist_copy: Path) -> None:
    _corrupt_content(mnist_copy / f"{LABELS_T10K}.gz")
    with pytest.raises(MnistError, match=rf"{LABELS_T10K}.*corrupted.*md5"):
        fetch_mnist(local_dir=mnist_copy)
    with pytest.raises(MnistError, match="corrupted"):
        load_mnist(mnist_copy)


def test_uncompressed_names_accepted(mnist_copy: Path) -> None:
    gz = mnist_copy / f"{LABELS_T10K}.gz"
    (mnist_copy / LABELS_T10K).write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert fetch_mnist(local_dir=mnist_copy) == mnist_copy
    assert np.bincount(load_mnist(mnist_copy)["y_test"]).tolist() == TEST_COUNTS


def test_read_verified_is_an_md5_oracle(mnist_dir: Path) -> None:
    raw = read_verified(mnist_dir / f"{LABELS_T10K}.gz", "t10k-labels")
    assert hashlib.md5(raw).hexdigest() == MNIST_FILES["t10k-labels"][1]


def _idx(magic: int, dims: tuple[int, ...], body: bytes) -> bytes:
    return np.array([magic, *dims], dtype=">u4").tobytes() + body


def test_parse_idx_checks_header() -> None:
    body = bytes(range(6))
    out = parse_idx(_idx(0x803, (3, 1, 2), body), magic=0x803, count=3, shape=(1, 2), name="t")
    assert out.tolist() == [[[0, 1]], [[2, 3]], [[4, 5]]]
    with pytest.raises(MnistError, match="magic"):
        parse_idx(_idx(0x801, (3, 1, 2), body), magic=0x803, count=3, shape=(1, 2), name="t")
    with pytest.raises(MnistError, match="dimensions"):
        parse_idx(_idx(0x803, (4, 1, 2), body), magic=0x803, count=3, shape=(1, 2), name="t")
    with pytest.raises(MnistError, match="data bytes"):
        parse_idx(_idx(0x803, (3, 1, 2), body[:-1]), magic=0x803, count=3, shape=(1, 2), name="t")


# --- download path: a local HTTP server plays the mirrors -------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def mirror_root(mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """http://127.0.0.1:<port>/ serving good/ (the four files) and bad/ (t10k-labels corrupt)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    # CI points LAYERWISE_MNIST_DIR at the offline copy; these tests exercise the download path
    monkeypatch.delenv("LAYERWISE_MNIST_DIR", raising=False)
    root = tmp_path / "www"
    _copy(mnist_dir, root / "good")
    _corrupt_content(_copy(mnist_dir, root / "bad") / f"{LABELS_T10K}.gz")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_falls_through_to_second_mirror(mirror_root: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = fetch_mnist(
        cache_dir=cache, mirrors=[f"{mirror_root}/missing/", f"{mirror_root}/good/"]
    )
    assert folder == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{b}.gz" for b, _ in MNIST_FILES.values()
    )  # no temp files left behind
    assert np.bincount(load_mnist(cache)["y_train"]).tolist() == TRAIN_COUNTS


def test_corrupt_mirror_copy_rejected(mirror_root: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(MnistError, match=rf"{LABELS_T10K}.*corrupted"):
        fetch_mnist(cache_dir=cache, mirrors=[f"{mirror_root}/bad/"])
    assert not (cache / f"{LABELS_T10K}.gz").exists()
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name]
    # With a good mirror after the bad one, the good copy is the one kept.
    fetch_mnist(cache_dir=cache, mirrors=[f"{mirror_root}/bad/", f"{mirror_root}/good/"])
    read_verified(cache / f"{LABELS_T10K}.gz", "t10k-labels")


def test_bad_cached_file_is_refetched(mirror_root: str, mnist_dir: Path, tmp_path: Path) -> None:
    cache = _copy(mnist_dir, tmp_path / "cache")
    _corrupt_content(cache / f"{LABELS_T10K}.gz")
    fetch_mnist(cache_dir=cache, mirrors=[f"{mirror_root}/good/"])
    read_verified(cache / f"{LABELS_T10K}.gz", "t10k-labels")  # raises if the bad copy was kept


def test_all_mirrors_failing_is_a_clear_error(mirror_root: str, tmp_path: Path) -> None:
    with pytest.raises(MnistError, match="(?s)could not download.*train-images.*missing.*404"):
        fetch_mnist(cache_dir=tmp_path / "c", mirrors=[f"{mirror_root}/missing/"], timeout=5)
