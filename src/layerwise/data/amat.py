"""Read (and write) the original 2007 benchmark files in ``.amat`` text format.

Larochelle, Erhan, Courville, Bergstra & Bengio (ICML 2007, section 4) distributed their data sets
(mnist-basic, mnist-rot, mnist-back-rand, mnist-back-image, mnist-rot-back-image, rectangles,
rectangles-image, convex) as whitespace-separated text: one example per line, 784 pixel
intensities in [0, 1] (a 28x28 image) followed by the label (written as a float, e.g. ``3.0``).

Uncertain detail: some of the original files are reported to store the images transposed
(column-major) relative to MNIST's row-major layout. We do not guess: `transpose` (default False)
turns every image by swapping rows and columns when set.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

N_PIXELS = 784
SPLITS = ("train", "valid", "test")


class AmatError(ValueError):
    """An .amat file has the wrong number of columns or values outside the legal range."""


def read_amat(path: Path | str, *, transpose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 (N, 784) in [0, 1], y int64 (N,)) from an .amat file.

    Raises AmatError naming the file when a line does not hold 785 numbers, a pixel lies outside
    [0, 1], or a label is not a non-negative integer.
    """
    path = Path(path)
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2, comments="#")
    except ValueError as err:  # ragged rows or non-numeric text
        raise AmatError(
            f"{path}: not a table of numbers with {N_PIXELS + 1} columns per line ({err})"
        ) from err
    if table.shape[0] == 0:
        raise AmatError(f"{path}: no examples")
    if table.shape[1] != N_PIXELS + 1:
        raise AmatError(
            f"{path}: {table.shape[1]} columns per line, expected {N_PIXELS + 1} "
            f"({N_PIXELS} pixels then the label)"
        )
    x, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
        raise AmatError(f"{path}: pixel values must lie in [0, 1], found [{x.min()}, {x.max()}]")
    y = np.rint(labels)
    if np.any(np.abs(labels - y) > 1e-6) or y.min() < 0:
        raise AmatError(f"{path}: labels (last column) must be non-negative integers")
    if transpose:
        x = x.reshape(-1, 28, 28).transpose(0, 2, 1).reshape(-1, N_PIXELS)
    return x.astype(np.float32), y.astype(np.int64)


def write_amat(path: Path | str, x: np.ndarray, y: np.ndarray) -> None:
    """Write (x (N, 784) in [0, 1], y (N,)) in the .amat layout (for tests and exports)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != N_PIXELS or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (N, {N_PIXELS}) and y (N,), got {x.shape} and {y.shape}")
    table = np.column_stack([x, y.astype(np.float64)])
    np.savetxt(path, table, fmt="%.8g", delimiter=" ")


def find_amat(amat_dir: Path | str, name: str) -> dict[str, Path] | None:
    """{"train", "test"[, "valid"]} -> file ``{name}_{split}.amat`` in `amat_dir`, or None.

    ``-`` in `name` may also be written ``_`` (``mnist_basic_train.amat``). Train and test files
    are required; the valid file is optional (see `read_amat_splits`).
    """
    for stem in dict.fromkeys([name, name.replace("-", "_")]):
        files = {s: Path(amat_dir) / f"{stem}_{s}.amat" for s in SPLITS}
        found = {s: p for s, p in files.items() if p.is_file()}
        if "train" in found and "test" in found:
            return found
    return None


def read_amat_splits(
    files: Mapping[str, Path], *, n_valid: int, transpose: bool = False
) -> tuple[dict[str, np.ndarray], list[str]]:
    """(x_/y_ train, valid, test arrays, notes) from the files `find_amat` returned.

    Without a valid file the last `n_valid` rows of the train file are the validation set, as in the
    2007 protocol (e.g. mnist-basic: 12000 rows, the first 10000 train, the last 2000 valid).
    """
    data = {s: read_amat(p, transpose=transpose) for s, p in files.items()}
    notes = ["read from the original .amat files of the 2007 benchmark; params and seed unused"]
    if "valid" not in data:
        x, y = data.pop("train")
        if not 1 <= n_valid < len(y):
            raise ValueError(
                f"{files['train']}: {len(y)} rows; n_valid must be in [1, {len(y) - 1}]"
            )
        data["train"], data["valid"] = (x[:-n_valid], y[:-n_valid]), (x[-n_valid:], y[-n_valid:])
        notes.append(f"no valid file: the last {n_valid} rows of the train file are validation")
    splits = {f"{a}_{s}": data[s][i] for s in SPLITS for i, a in enumerate("xy")}
    return splits, notes
