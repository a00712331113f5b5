"""MNIST acquisition: find or download the four standard IDX files, verify them, parse them.

MNIST (LeCun, Bottou, Bengio & Haffner 1998) is the source of every MNIST-derived benchmark set of
Larochelle et al. (ICML 2007, section 4.1; JMLR 2009, section 6.1) and of the dropout (Srivastava et
al. 2014, section 6.1.1) and deep autoencoder (Hinton & Salakhutdinov 2006) studies.

Integrity: the md5 of the DECOMPRESSED bytes is checked against the published values, so a file is
accepted whether it is gzip-compressed or not and whatever gzip settings made it. A missing,
truncated or corrupted file raises `MnistError` naming the file, what is wrong and how to fix it.
A cached download that fails the check is deleted and fetched again; it is never used.

Where the files come from, in order:
1. `local_dir` or the environment variable ``LAYERWISE_MNIST_DIR``: read only from there (offline
   machines, CI); nothing is downloaded.
2. the cache (``$XDG_CACHE_HOME/layerwise/mnist``, else ``~/.cache/layerwise/mnist``), filling
   missing files from `mirrors` in turn with urllib (to a temp file, verify, atomic rename).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ENV_VAR = "LAYERWISE_MNIST_DIR"

# key -> (base file name, md5 of the decompressed bytes as published)
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    "t10k-images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}

DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# IDX magic numbers: 0x0000 0x08 (unsigned byte) then the number of dimensions.
_MAGIC_IMAGES = 0x00000803
_MAGIC_LABELS = 0x00000801
_COUNTS = {"train": 60000, "t10k": 10000}


class MnistError(RuntimeError):
    """A MNIST file is missing, truncated, corrupted or could not be downloaded."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/layerwise/mnist`` if that variable is set, else ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "layerwise" / "mnist"


def _fix_hint(path: Path, local: bool) -> str:
    if local:
        return f"replace it with a good copy, or point {ENV_VAR} at a folder holding good copies"
    return (
        f"delete {path} and run again to download it, or point {ENV_VAR} at a folder "
        "holding good copies"
    )


def _candidates(folder: Path, base: str) -> list[Path]:
    # Accept the usual names: compressed, uncompressed, and the dotted variant some archives use.
    dotted = base.replace("-idx", ".idx")
    return [folder / f"{base}.gz", folder / base, folder / f"{dotted}.gz", folder / dotted]


def find_file(folder: Path, key: str) -> Path:
    """Path of MNIST file `key` (e.g. ``"train-images"``) in `folder`, .gz or not; or MnistError."""
    if key not in MNIST_FILES:
        raise ValueError(f"unknown MNIST file {key!r}; legal: {sorted(MNIST_FILES)}")
    base = MNIST_FILES[key][0]
    for path in _candidates(Path(folder), base):
        if path.is_file():
            return path
    raise MnistError(
        f"MNIST file {base}.gz (or {base}) is missing from {folder}; "
        f"put the four MNIST files there or point {ENV_VAR} at a folder that holds them"
    )


def read_verified(path: Path, key: str, *, local: bool = True) -> bytes:
    """Decompressed bytes of MNIST file `key` at `path`, after checking their md5.

    Raises MnistError (naming the file, the fault and the fix) for a truncated gzip stream or a
    checksum mismatch. `local` only changes the suggested fix in the message.
    """
    path = Path(path)
    base, md5 = MNIST_FILES[key]
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise MnistError(
                f"MNIST file {path} is truncated or not valid gzip ({err}); "
                f"{_fix_hint(path, local)}"
            ) from err
    got = hashlib.md5(raw).hexdigest()
    if got != md5:
        raise MnistError(
            f"MNIST file {path} ({base}) is corrupted: md5 of its content is {got}, "
            f"expected {md5}; {_fix_hint(path, local)}"
        )
    return raw


def _download(name: str, dest: Path, mirrors: Sequence[str], key: str, timeout: float) -> None:
    """Fetch `name` from the first mirror that serves a verified copy; atomic rename into `dest`."""
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        fd, tmp_name = tempfile.mkstemp(prefix=f"{name}.tmp-", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
            read_verified(tmp, key, local=False)  # a corrupt mirror copy is rejected here
            os.replace(tmp, dest)
            return
        except (OSError, ValueError, http.client.HTTPException, MnistError) as err:
            failures.append(f"{url}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise MnistError(
        f"could not download a verified copy of MNIST file {name}; tried:\n  "
        + "\n  ".join(failures)
        + f"\ncheck the network, or point {ENV_VAR} at a folder holding the four MNIST files"
    )


def fetch_mnist(
    *,
    local_dir: Path | str | None = None,
    cache_dir: Path | str | None = None,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    timeout: float = 60.0,
) -> Path:
    """Folder holding the four verified MNIST files (see the module docstring for the search order).

    With `local_dir` (or ``$LAYERWISE_MNIST_DIR``) nothing is downloaded and a bad file is an error.
    Otherwise files missing from `cache_dir` are downloaded; a cached file that fails verification
    is deleted and downloaded again.
    """
    local = local_dir if local_dir is not None else os.environ.get(ENV_VAR) or None
    if local is not None:
        folder = Path(local)
        for key in MNIST_FILES:
            read_verified(find_file(folder, key), key, local=True)
        return folder
    if not mirrors:
        raise ValueError("mirrors must name at least one URL prefix")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for key, (base, _) in MNIST_FILES.items():
        dest = folder / f"{base}.gz"
        if dest.is_file():
            try:
                read_verified(dest, key, local=False)
                continue
            except MnistError:
                dest.unlink()  # never use a bad cached copy: fetch it again
        _download(f"{base}.gz", dest, mirrors, key, timeout)
    return folder


def parse_idx(
    raw: bytes, *, magic: int, count: int, shape: tuple[int, ...], name: str
) -> np.ndarray:
    """uint8 array (count, *shape) from IDX bytes, checking the magic number, count and size."""
    ndim = 1 + len(shape)
    header_len = 4 * (1 + ndim)
    if len(raw) < header_len:
        raise MnistError(f"MNIST file {name}: {len(raw)} bytes is shorter than its IDX header")
    header = np.frombuffer(raw[:header_len], dtype=">u4")
    if int(header[0]) != magic:
        raise MnistError(
            f"MNIST file {name}: magic number {int(header[0]):#010x}, expected {magic:#010x}"
        )
    dims = tuple(int(d) for d in header[1:])
    if dims != (count, *shape):
        raise MnistError(f"MNIST file {name}: dimensions {dims}, expected {(count, *shape)}")
    body = np.frombuffer(raw, dtype=np.uint8, offset=header_len)
    if body.size != int(np.prod(dims)):
        raise MnistError(
            f"MNIST file {name}: {body.size} data bytes, expected {int(np.prod(dims))}"
        )
    return body.reshape(dims).copy()


def load_mnist(folder: Path | str) -> dict[str, np.ndarray]:
    """The four MNIST files in `folder`, verified and parsed.

    Returns ``x_train`` uint8 (60000, 784), ``y_train`` int64 (60000,), ``x_test`` uint8
    (10000, 784), ``y_test`` int64 (10000,); pixel rows are the 28x28 images in row-major order.
    """
    out: dict[str, np.ndarray] = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        n = _COUNTS[prefix]
        key = f"{prefix}-images"
        raw = read_verified(find_file(Path(folder), key), key)
        images = parse_idx(raw, magic=_MAGIC_IMAGES, count=n, shape=(28, 28), name=key)
        key = f"{prefix}-labels"
        raw = read_verified(find_file(Path(folder), key), key)
        labels = parse_idx(raw, magic=_MAGIC_LABELS, count=n, shape=(), name=key)
        if labels.max() > 9:
            raise MnistError(f"MNIST file {key}: label {int(labels.max())} outside 0..9")
        out[f"x_{split}"] = images.reshape(n, 784)
        out[f"y_{split}"] = labels.astype(np.int64)
    return out
