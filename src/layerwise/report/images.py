"""Image figures: first-layer filters of each pretraining method and the data sets' sample grids.

Filters as in Larochelle et al. (JMLR 2009, Fig. 6) and Vincent et al. (JMLR 2010, Fig. 6): each
hidden unit's incoming weights W1[:, j] (784,) shown as a 28 x 28 image. Choice: each filter is
scaled to its own [min, max] (per-filter contrast, as in the papers' figures); ``max_filters``
(default 100) of the first member (index 0 of the member axis K) are shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from layerwise.report.cells import method_label
from layerwise.report.errors import ReportError
from layerwise.report.inputs import load_json
from layerwise.report.style import FigureOut, new_figure, styled, to_png
from layerwise.report.tables import Grid

SIDE = 28  # images are 28 x 28 = 784 pixels


def tile_filters(w1: np.ndarray, *, max_filters: int = 100, gap: int = 1) -> np.ndarray:
    """(784, n_hidden) weights -> (rows*29-1, cols*29-1) mosaic in [0, 1]; gaps are 1 (white)."""
    if w1.ndim != 2 or w1.shape[0] != SIDE * SIDE:
        raise ReportError(f"first-layer weights must have shape (784, n_hidden); got {w1.shape}")
    if max_filters < 1:
        raise ReportError(f"max_filters must be >= 1; got {max_filters}")
    filters = w1.T[:max_filters].astype(float)  # (n, 784): one row per hidden unit
    low = filters.min(axis=1, keepdims=True)
    span = filters.max(axis=1, keepdims=True) - low
    filters = (filters - low) / np.where(span > 0, span, 1.0)  # per-filter contrast
    n = filters.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    step = SIDE + gap
    mosaic = np.ones((rows * step - gap, cols * step - gap))
    for k, f in enumerate(filters.reshape(n, SIDE, SIDE)):
        r, c = divmod(k, cols)
        mosaic[r * step : r * step + SIDE, c * step : c * step + SIDE] = f
    return mosaic


def find_filters(filter_files, results: pd.DataFrame, ds: str, method: str) -> Path | None:
    """Among ``filter_files`` (``.../{ds}/{method}/{pretrain_id}/filters.npz``, the report rule's
    inputs), the one of the pretraining most used by the selected members; else the first."""
    mine = {}
    for f in map(Path, filter_files):
        if (f.parent.parent.parent.name, f.parent.parent.name) == (ds, method) and f.is_file():
            mine[f.parent.name] = f
    sel = results[
        results["selected"] & (results["dataset"] == ds) & (results["pretraining"] == method)
    ]
    for pid in sel["pretrain_id"].value_counts().sort_index().sort_values(ascending=False).index:
        if pid in mine:
            return mine[pid]
    return mine[sorted(mine)[0]] if mine else None


def load_first_filters(path: Path) -> np.ndarray:
    """W1 of the first member, (784, n_hidden); errors name the file."""
    try:
        with np.load(path) as data:
            w1 = data["W1"]
    except (OSError, KeyError, ValueError) as err:
        raise ReportError(f"cannot read W1 from {path}: {err}") from err
    if w1.ndim != 3 or w1.shape[0] < 1:
        raise ReportError(f"{path}: W1 must have shape (K, 784, n_hidden); got {w1.shape}")
    return w1[0]


def filter_figures(
    filter_files, results: pd.DataFrame, grid: Grid, *, max_filters: int = 100
) -> list[FigureOut]:
    """One figure per data set, a panel per pretraining method that left filters on disk."""
    out = []
    for ds in grid.datasets:
        found = {m: find_filters(filter_files, results, ds, m) for m in grid.methods if m != "none"}
        found = {m: p for m, p in found.items() if p is not None}
        if not found:
            continue
        with styled():
            fig, axes = new_figure(len(found), ncols=3, panel_h=2.6, extra_h=0.0)
            for ax, (method, path) in zip(axes, found.items(), strict=True):
                mosaic = tile_filters(load_first_filters(path), max_filters=max_filters)
                ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(f"{method_label(method)}\n{path.parent.name}")
                ax.set_axis_off()
            png = to_png(fig)
        out.append(
            FigureOut(
                f"filters_{ds}",
                png,
                f"First-layer filters on {ds}: up to "
                f"{max_filters} hidden units of the first member, each 28 x 28, "
                f"scaled to its own range.",
                kind="image",
            )
        )
    return out


def card_caption(ds: str, card: dict, note: str = "") -> str:
    """A one-line caption from the data card's scalar entries (nested entries are skipped) and a
    note (the baseline classifiers' errors beside the published ones, when they were run)."""
    items = [
        f"{k} = {v}" for k, v in card.items() if isinstance(v, (int, float, str)) and k != "sha256"
    ]
    caption = f"Samples of {ds}, one row per class" + (
        f" ({'; '.join(items[:8])})" if items else ""
    )
    return caption + (f". {note}" if note else "")


def sample_figures(
    data_dir: Path, grid: Grid, card_notes: dict[str, str] | None = None
) -> tuple[list[FigureOut], list[str]]:
    """samples.png of each data set as is (captioned from its card and ``card_notes[ds]``), and
    notes on data sets whose folder lacks it."""
    out, notes = [], []
    for ds in grid.datasets:
        png, card = Path(data_dir) / ds / "samples.png", Path(data_dir) / ds / "card.json"
        if not png.is_file():
            notes.append(f"{ds}: no samples.png in {png.parent}")
            continue
        caption = card_caption(
            ds, load_json(card) if card.is_file() else {}, (card_notes or {}).get(ds, "")
        )
        out.append(FigureOut(f"samples_{ds}", png.read_bytes(), caption, kind="samples"))
    return out, notes
