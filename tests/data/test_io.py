"""Data set files: exact round trip, reproducible bytes, refusal of damaged files, sample grid."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from layerwise.data import io
from layerwise.data.io import (
    REQUIRED_KEYS,
    DatasetError,
    dataset_checksum,
    load_dataset,
    read_arrays,
    sample_grid,
    save_dataset,
    save_sample_grid,
    to_uint8,
    write_card,
)


def _splits(seed: int = 0, sizes: tuple[int, int, int] = (30, 10, 20)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for s, n in zip(("train", "valid", "test"), sizes, strict=True):
        out[f"x_{s}"] = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        out[f"y_{s}"] = rng.integers(0, 3, size=n).astype(np.int64)
    return out


def test_round_trip_exact(tmp_path: Path) -> None:
    splits = _splits()
    path = tmp_path / "toy" / "data.npz"
    save_dataset(path, splits)
    stored = read_arrays(path)
    for k in REQUIRED_KEYS:
        np.testing.assert_array_equal(stored[k], splits[k])
        assert stored[k].dtype == splits[k].dtype
    ds = load_dataset(path)
    assert ds.name == "toy" and ds.n_classes == 3
    assert ds.x_valid.dtype == np.float32 and ds.y_valid.dtype == np.int64
    np.testing.assert_array_equal(np.rint(ds.x_test * 255).astype(np.uint8), splits["x_test"])
    assert float(ds.x_train.max()) <= 1.0 and float(ds.x_train.min()) >= 0.0
    # Standard numpy reads the file too: it is an ordinary npz.
    with np.load(path) as z:
        assert sorted(z.files) == sorted(REQUIRED_KEYS)


def test_float_input_stored_as_rounded_bytes() -> None:
    x = np.array([[0.0, 1.0, 0.5, 0.2, 127.4 / 255]], dtype=np.float32)
    x = np.pad(x, ((0, 0), (0, 779)))
    assert to_uint8(x)[0, :5].tolist() == [0, 255, 128, 51, 127]  # 127.5 -> even 128
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        to_uint8(x + 2.0)


def test_checksum_oracle_and_sensitivity() -> None:
    splits = _splits()
    h = hashlib.sha256()  # the documented scheme, computed independently
    for k in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
        a = splits[k]
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode() + a.tobytes())
    assert dataset_checksum(splits) == h.hexdigest()
    floats = {k: (v / 255.0 if k[0] == "x" else v) for k, v in splits.items()}
    assert dataset_checksum(floats) == h.hexdigest()
    splits["x_test"] = splits["x_test"].copy()
    splits["x_test"][3, 7] ^= 1
    assert dataset_checksum(splits) != h.hexdigest()


def test_same_arrays_same_bytes(tmp_path: Path) -> None:
    save_dataset(tmp_path / "a.npz", _splits())
    save_dataset(tmp_path / "b.npz", _splits())
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def _saved_with_card(tmp_path: Path) -> Path:
    splits = _splits()
    path = tmp_path / "d" / "data.npz"
    save_dataset(path, splits)
    write_card(
        path.with_name("card.json"),
        {"name": "d", "n_classes": 5, "checksum": dataset_checksum(splits)},
    )
    return path


def test_card_supplies_name_and_classes(tmp_path: Path) -> None:
    ds = load_dataset(_saved_with_card(tmp_path))
    assert ds.n_classes == 5 and ds.card["name"] == "d"


def test_missing_file_is_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="missing"):
        load_dataset(tmp_path / "nope" / "data.npz")


def test_truncated_file_is_dataset_error(tmp_path: Path) -> None:
    path = _saved_with_card(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="delete it and rerun the workflow"):
        load_dataset(path)


def test_flipped_byte_is_dataset_error(tmp_path: Path) -> None:
    path = _saved_with_card(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # inside the compressed x_train member
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="delete it and rerun the workflow"):
        load_dataset(path)


def test_stale_file_disagreeing_with_card_is_refused(tmp_path: Path) -> None:
    path = _saved_with_card(tmp_path)
    save_dataset(path, _splits(seed=1))  # a valid npz, but not the one the card describes
    with pytest.raises(DatasetError, match="does not match its card"):
        load_dataset(path)
    assert load_dataset(path, verify=False).n_classes == 5


def test_missing_array_is_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    np.savez_compressed(path, **{k: v for k, v in _splits().items() if k != "y_test"})
    with pytest.raises(DatasetError, match="y_test"):
        load_dataset(path)


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "data.npz"
    save_dataset(path, _splits())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(io.np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save_dataset(path, _splits(seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.npz"]


def test_card_json_written_atomically_and_sorted(tmp_path: Path) -> None:
    write_card(tmp_path / "card.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "card.json").read_text()) == {"a": [1, 2], "b": 1}
    with pytest.raises(ValueError):
        write_card(tmp_path / "card.json", {"x": float("nan")})
    assert json.loads((tmp_path / "card.json").read_text()) == {"a": [1, 2], "b": 1}


def test_sample_grid_rows_are_classes(tmp_path: Path) -> None:
    splits = _splits(sizes=(40, 1, 1))
    x, y = splits["x_train"], splits["y_train"]
    grid = sample_grid(x, y, per_class=4, gap=2)
    assert grid.shape == (2 + 30 * 3, 2 + 30 * 4)
    for c in range(3):
        first = np.flatnonzero(y == c)[:4]
        for j, i in enumerate(first):
            tile = grid[2 + 30 * c : 30 * c + 30, 2 + 30 * j : 30 * j + 30]
            np.testing.assert_array_equal(tile, x[i].reshape(28, 28))
    save_sample_grid(tmp_path / "s.png", x, y, per_class=4)
    from PIL import Image

    with Image.open(tmp_path / "s.png") as img:
        assert img.format == "PNG" and img.height == grid.shape[0] * 2
