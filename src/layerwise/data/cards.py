"""Data cards: what a data set file holds and how it was made ("datasheets", Gebru et al. 2018).

The card is the human- and machine-readable record written as ``card.json`` next to ``data.npz``
(written by `layerwise.data.io.write_card`). It reports sizes, class balance, per-class mean number
of lit pixels (intensity > 0.5, i.e. stored byte >= 128), the value range, the generator parameters,
the seed, the sources (MNIST files / natural images / original .amat files), the sha256 of the
arrays and notes on the choices made. It holds no timestamps or versions, so the same build gives
the same card bytes. Statistics are computed on the stored (uint8-rounded) arrays, as loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from layerwise.data.io import SPLITS, canonical_splits, dataset_checksum

FORMAT = "layerwise-dataset/1: npz, x uint8 (N,784) = round(255*intensity), y int64 (N,)"
LIT_THRESHOLD = 128  # stored byte >= 128  <=>  intensity round(255 x)/255 > 0.5


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars/arrays, tuples and Paths turned into plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # Paths and anything else: their text form


def _row_set(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


def cross_split_duplicates(arrays: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Number of rows of the later split whose pixels equal some row of the earlier split."""
    rows = {s: _row_set(arrays[f"x_{s}"]) for s in SPLITS}
    pairs = (("train", "valid"), ("train", "test"), ("valid", "test"))
    return {f"{a}-{b}": len(rows[a] & rows[b]) for a, b in pairs}


def split_stats(x: np.ndarray, y: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Counts, balance, per-class mean lit pixels, value range of one split (x uint8 (N, 784))."""
    counts = np.bincount(y, minlength=n_classes)
    lit = (x >= LIT_THRESHOLD).sum(axis=1)  # (N,) lit pixels per example
    lit_per_class = [float(lit[y == c].mean()) if counts[c] else None for c in range(n_classes)]
    return {
        "size": int(len(y)),
        "class_counts": counts.tolist(),
        "class_balance": [round(float(c) / max(len(y), 1), 4) for c in counts],
        "lit_pixels_per_class": [None if v is None else round(v, 2) for v in lit_per_class],
        "lit_pixels_mean": round(float(lit.mean()), 2) if len(y) else None,
        "value_range": [float(x.min()) / 255.0, float(x.max()) / 255.0] if len(y) else None,
        "mean_intensity": round(float(x.mean()) / 255.0, 4) if len(y) else None,
    }


def make_card(
    name: str,
    splits: Mapping[str, np.ndarray],
    *,
    params: Mapping[str, Any],
    seed: int | None,
    source: Mapping[str, Any],
    notes: Iterable[str] = (),
    n_classes: int | None = None,
) -> dict[str, Any]:
    """The data card (a JSON-ready dict) of `splits` (x float [0,1] or uint8, y int).

    `n_classes` defaults to the largest label + 1 over all splits.
    """
    arrays = canonical_splits(splits)
    if n_classes is None:
        n_classes = int(max(arrays[f"y_{s}"].max(initial=-1) for s in SPLITS)) + 1
    stats = {s: split_stats(arrays[f"x_{s}"], arrays[f"y_{s}"], n_classes) for s in SPLITS}
    return jsonable(
        {
            "name": name,
            "format": FORMAT,
            "n_classes": n_classes,
            "sizes": {s: stats[s]["size"] for s in SPLITS},
            "splits": stats,
            "cross_split_duplicates": cross_split_duplicates(arrays),
            "params": dict(params),
            "seed": seed,
            "source": dict(source),
            "checksum": dataset_checksum(arrays),
            "notes": list(notes),
        }
    )
