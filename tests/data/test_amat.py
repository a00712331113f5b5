"""Original .amat files: round trip, clear errors on malformed files, split conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layerwise.data.amat import AmatError, find_amat, read_amat, read_amat_splits, write_amat


def _toy(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 784)) / 255.0, rng.integers(0, 10, size=n)


def test_round_trip(tmp_path: Path) -> None:
    x, y = _toy(5)
    write_amat(tmp_path / "t.amat", x, y)
    x2, y2 = read_amat(tmp_path / "t.amat")
    assert x2.dtype == np.float32 and y2.dtype == np.int64 and x2.shape == (5, 784)
    np.testing.assert_allclose(x2, x, atol=1e-7)
    np.testing.assert_array_equal(y2, y)


def test_reads_the_original_layout(tmp_path: Path) -> None:
    # Labels written as floats in exponent form, several spaces, as in the 2007 files.
    row = ["0.0"] * 783 + ["1.0", "3.000000e+00"]
    (tmp_path / "o.amat").write_text("  ".join(row) + "\n" + " ".join(row) + "\n")
    x, y = read_amat(tmp_path / "o.amat")
    assert y.tolist() == [3, 3] and x[:, 783].tolist() == [1.0, 1.0] and x[:, :783].max() == 0


def test_wrong_column_count_names_file(tmp_path: Path) -> None:
    path = tmp_path / "short.amat"
    path.write_text(" ".join(["0.5"] * 784) + "\n")
    with pytest.raises(AmatError, match=r"short\.amat.*784 columns.*expected 785"):
        read_amat(path)


def test_ragged_rows_refused(tmp_path: Path) -> None:
    path = tmp_path / "ragged.amat"
    path.write_text(" ".join(["0"] * 785) + "\n" + " ".join(["0"] * 700) + "\n")
    with pytest.raises(AmatError, match="ragged.amat"):
        read_amat(path)


@pytest.mark.parametrize(
    ("pixel", "label", "match"),
    [("1.5", "2", r"\[0, 1\]"), ("0.5", "2.5", "labels"), ("0.5", "-1", "labels")],
)
def test_bad_values_refused(tmp_path: Path, pixel: str, label: str, match: str) -> None:
    path = tmp_path / "bad.amat"
    path.write_text(" ".join([pixel] * 784 + [label]) + "\n")
    with pytest.raises(AmatError, match=match):
        read_amat(path)


def test_transpose_option(tmp_path: Path) -> None:
    x, y = _toy(2)
    write_amat(tmp_path / "t.amat", x, y)
    xt, _ = read_amat(tmp_path / "t.amat", transpose=True)
    np.testing.assert_allclose(xt[1].reshape(28, 28), x[1].reshape(28, 28).T, atol=1e-7)


def test_find_and_split_without_valid_file(tmp_path: Path) -> None:
    x, y = _toy(12)
    write_amat(tmp_path / "mnist_basic_train.amat", x, y)
    write_amat(tmp_path / "mnist_basic_test.amat", x[:3], y[:3])
    assert find_amat(tmp_path, "convex") is None
    files = find_amat(tmp_path, "mnist-basic")
    assert set(files) == {"train", "test"}
    splits, notes = read_amat_splits(files, n_valid=4)
    assert [len(splits[f"y_{s}"]) for s in ("train", "valid", "test")] == [8, 4, 3]
    np.testing.assert_array_equal(splits["y_valid"], y[-4:])  # the LAST rows are validation
    assert any("last 4 rows" in n for n in notes)
    with pytest.raises(ValueError, match="n_valid"):
        read_amat_splits(files, n_valid=12)
