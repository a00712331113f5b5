"""The one module that reads and writes data set files (docs/architecture.md, "Files on disk").

``results/data/{name}/data.npz`` holds ``x_train, y_train, x_valid, y_valid, x_test, y_test``:
x as uint8 (N, 784) with value = round(255 * intensity), y as int64 (N,). It may also hold
``index_train, index_valid, index_test`` (int64 (N,)): the row of each example in the source pool
(for MNIST-derived sets the position in the 70000 MNIST images, train then test), kept so that
split disjointness can be checked afterwards. ``card.json`` next to it is the data card; its
``checksum`` (see `dataset_checksum`) is verified on every load.

The npz is the format `np.savez_compressed` writes, but written here with fixed zip timestamps so
that the same arrays always give the same bytes (reproducible outputs). Every file is written
atomically: to ``name.tmp-<pid>`` first, then `os.replace`.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from layerwise.files import atomic_path

SPLITS = ("train", "valid", "test")
REQUIRED_KEYS = tuple(f"{a}_{s}" for s in SPLITS for a in ("x", "y"))
INDEX_KEYS = tuple(f"index_{s}" for s in SPLITS)
N_PIXELS = 784
CARD_NAME = "card.json"


def _regenerate(path: Path) -> str:
    """Advice that works: a plain rerun finds "Nothing to be done" when a data set file is
    missing or corrupted but what was built from it exists (Snakemake does not rebuild a missing
    intermediate file); ``--forcerun <file>`` rebuilds it and everything made from it."""
    return (
        f"delete it and rerun the workflow with `--forcerun {path}` (the same snakemake command "
        f"plus that option) to regenerate it and everything built from it"
    )


_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed so identical arrays give identical bytes


class DatasetError(RuntimeError):
    """A data set file is missing, truncated, corrupted, or does not match its card."""


@dataclass(frozen=True)
class Dataset:
    """One data set, pixel intensities as float32 in [0, 1], labels int64 in [0, n_classes)."""

    name: str
    n_classes: int
    x_train: np.ndarray  # (n_train, 784) float32
    y_train: np.ndarray  # (n_train,) int64
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    card: dict | None = field(default=None, compare=False, repr=False)

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of `split`, one of "train", "valid", "test"."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return getattr(self, f"x_{split}"), getattr(self, f"y_{split}")


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Stored pixel form: uint8 passes through; floats in [0, 1] become round(255 * x)."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"pixel arrays must be uint8 or float in [0, 1], got dtype {x.dtype}")
    # `not (a and b)` also catches NaN, whose comparisons are all False.
    if x.size and not (x.min() >= 0.0 and x.max() <= 1.0):
        raise ValueError("float pixel intensities must be finite and in [0, 1]")
    out = np.empty(x.shape, dtype=np.uint8)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    for start in range(0, flat_in.size, 1 << 20):  # float64 in 8 MB chunks: exact, little memory
        chunk = flat_in[start : start + (1 << 20)].astype(np.float64) * 255.0
        flat_out[start : start + chunk.size] = np.rint(chunk)
    return out


def canonical_splits(splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The six required arrays (plus any index_* arrays) in stored dtypes, checked for shape."""
    missing = [k for k in REQUIRED_KEYS if k not in splits]
    unknown = sorted(set(splits) - set(REQUIRED_KEYS) - set(INDEX_KEYS))
    if missing or unknown:
        raise ValueError(
            f"splits must hold {REQUIRED_KEYS} (optionally {INDEX_KEYS}); "
            f"missing {missing}, unknown {unknown}"
        )
    out: dict[str, np.ndarray] = {}
    for s in SPLITS:
        x = to_uint8(splits[f"x_{s}"])
        y = np.asarray(splits[f"y_{s}"])
        if x.ndim != 2 or x.shape[1] != N_PIXELS or y.shape != (x.shape[0],):
            raise ValueError(
                f"split {s}: x must be (N, {N_PIXELS}) and y (N,); got {x.shape}, {y.shape}"
            )
        if not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise ValueError(f"split {s}: labels must be non-negative integers")
        out[f"x_{s}"] = np.ascontiguousarray(x)
        out[f"y_{s}"] = np.ascontiguousarray(y, dtype="<i8")
        if f"index_{s}" in splits:
            idx = np.ascontiguousarray(splits[f"index_{s}"], dtype="<i8")
            if idx.shape != y.shape:
                raise ValueError(f"index_{s} must have shape {y.shape}, got {idx.shape}")
            out[f"index_{s}"] = idx
    return out


def dataset_checksum(splits: Mapping[str, np.ndarray]) -> str:
    """sha256 hex digest over the six required arrays in stored form, in REQUIRED_KEYS order.

    Each array contributes its key, dtype, shape and bytes, so a reshaped or retyped array differs.
    """
    arrays = canonical_splits({k: splits[k] for k in splits if k in REQUIRED_KEYS})
    h = hashlib.sha256()
    for key in REQUIRED_KEYS:
        a = arrays[key]
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_dataset(path: Path | str, splits: Mapping[str, np.ndarray]) -> None:
    """Write `splits` (x float [0,1] or uint8; y integer) to the npz at `path`, atomically."""
    arrays = canonical_splits(splits)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, a in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, a, allow_pickle=False)


def read_arrays(path: Path | str) -> dict[str, np.ndarray]:
    """The stored arrays of a data.npz (uint8 x, int64 y, any index_*), checked for shape/dtype."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"data set file {path} is missing; rerun the workflow with `--forcerun {path}` to "
            f"generate it and everything built from it"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise DatasetError(
            f"data set file {path} is truncated or corrupted ({err}); {_regenerate(path)}"
        ) from err
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    bad = [
        k
        for k in REQUIRED_KEYS
        if k in arrays and arrays[k].dtype != (np.uint8 if k[0] == "x" else np.int64)
    ]
    if missing or bad:
        raise DatasetError(
            f"data set file {path} lacks arrays {missing} or has wrong dtypes {bad}; "
            f"{_regenerate(path)}"
        )
    try:
        return canonical_splits(
            {k: v for k, v in arrays.items() if k in REQUIRED_KEYS + INDEX_KEYS}
        )
    except ValueError as err:
        raise DatasetError(
            f"data set file {path} is malformed ({err}); {_regenerate(path)}"
        ) from err


def load_dataset(path: Path | str, *, verify: bool = True) -> Dataset:
    """Read data.npz at `path` as a `Dataset`; verify its sha256 against ``card.json`` beside it.

    The name and n_classes come from the card when there is one, else from the folder name and
    the largest label. Raises DatasetError for a missing, truncated or corrupted file.
    """
    path = Path(path)
    arrays = read_arrays(path)
    card_path = path.with_name(CARD_NAME)
    card = read_card(card_path) if card_path.is_file() else None
    if verify and card is not None:
        got = dataset_checksum(arrays)
        if got != card.get("checksum"):
            raise DatasetError(
                f"data set file {path} does not match its card {card_path} (sha256 {got}, "
                f"card says {card.get('checksum')}): it is corrupted or stale; "
                f"{_regenerate(path)}"
            )
    n_classes = int(max(arrays[f"y_{s}"].max(initial=-1) for s in SPLITS)) + 1
    if card is not None:
        n_classes = int(card.get("n_classes", n_classes))
    floats = {
        k: (v.astype(np.float32) / np.float32(255.0) if k[0] == "x" else v)
        for k, v in arrays.items()
        if k in REQUIRED_KEYS
    }
    name = card.get("name", path.parent.name) if card else path.parent.name
    return Dataset(name=name, n_classes=n_classes, card=card, **floats)


def write_card(path: Path | str, card: Mapping) -> None:
    """Write the data card as sorted, indented JSON, atomically."""
    text = json.dumps(card, indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_card(path: Path | str) -> dict:
    """The data card at `path`; DatasetError if it is missing or not valid JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DatasetError(
            f"data card {path} is missing or unreadable ({err}); {_regenerate(path)}"
        ) from err


def sample_grid(x: np.ndarray, y: np.ndarray, *, per_class: int = 10, gap: int = 2) -> np.ndarray:
    """uint8 image: one row per class (sorted labels), the first `per_class` examples of each.

    Tiles are 28x28 separated by `gap` grey pixels; missing examples are left black.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    x8, y = to_uint8(x), np.asarray(y)
    classes = np.unique(y)
    step = 28 + gap
    grid = np.full((gap + step * len(classes), gap + step * per_class), 128, np.uint8)
    for r, c in enumerate(classes):
        rows = np.flatnonzero(y == c)[:per_class]
        for j, i in enumerate(rows):
            grid[gap + r * step : r * step + step, gap + j * step : j * step + step] = x8[
                i
            ].reshape(28, 28)
        for j in range(len(rows), per_class):
            grid[gap + r * step : r * step + step, gap + j * step : j * step + step] = 0
    return grid


def save_sample_grid(
    path: Path | str, x: np.ndarray, y: np.ndarray, *, per_class: int = 10
) -> None:
    """Write `sample_grid` as a PNG (scaled x2, class labels in a left margin), atomically."""
    from PIL import Image, ImageDraw  # pillow comes with matplotlib

    grid = sample_grid(x, y, per_class=per_class)
    classes = np.unique(np.asarray(y))
    img = Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST)
    canvas = Image.new("L", (img.width + 24, img.height), 255)
    canvas.paste(img, (24, 0))
    draw = ImageDraw.Draw(canvas)
    for r, c in enumerate(classes):
        draw.text((4, 4 + r * 60 + 22), str(int(c)), fill=0)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
