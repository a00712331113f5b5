"""A heat map per claim: the effect of every comparison over data set x depth (x dropout), the
significant ones marked, the primary cells outlined. Read from results/claim_comparisons.csv."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from layerwise.report.style import FONT_PT, FigureOut, new_figure, styled, to_png

_NAME = re.compile(r"^(?P<method>\S+) d(?P<depth>\d+)(?P<dropout> \+dropout)?$")


def _parse(name: str) -> tuple[str, int, bool] | None:
    m = _NAME.match(str(name))
    return (m["method"], int(m["depth"]), bool(m["dropout"])) if m else None


def _depths(column: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", column)]


def heatmap_frame(comparisons: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    """The claim's cell comparisons with panel (A vs B, dropout), column (depths) and row (data
    set); comparisons without cells (claims 5, 6) are left out."""
    part = comparisons[comparisons["claim"].astype(str) == str(claim_id)]
    rows = []
    for r in part.to_dict("records"):
        a, b = _parse(r.get("a", "")), _parse(r.get("b", ""))
        if a is None or b is None or not r.get("dataset"):
            continue
        drop = " (dropout)" if a[2] and b[2] else " (dropout on vs off)" if a[2] != b[2] else ""
        rows.append({
            "panel": f"{a[0]} vs {b[0]}{drop}",
            "column": f"d{a[1]}" if a[1] == b[1] else f"d{a[1]} vs d{b[1]}",
            "dataset": r["dataset"], "effect": float(r["effect"]),
            "significant": r["outcome"] in ("for", "against"),
            "primary": r["role"] == "primary",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["panel", "column", "dataset", "effect", "significant",
                                       "primary"])  # fmt: skip


def claim_heatmap(comparisons: pd.DataFrame, claim_id: str, unit: str) -> FigureOut | None:
    """The heat map of one claim (None when it has no cell comparisons)."""
    frame = heatmap_frame(comparisons, claim_id)
    if frame.empty:
        return None
    panels = list(dict.fromkeys(frame["panel"]))
    datasets = sorted(set(frame["dataset"]))
    limit = float(np.nanmax(np.abs(frame["effect"]))) or 1.0
    with styled():
        ncols = min(3, len(panels))
        fig, axes = new_figure(len(panels), ncols=ncols, panel_h=0.45 * len(datasets) + 1.0,
                               extra_h=0.3)  # fmt: skip
        image = None
        for ax, panel in zip(axes, panels, strict=True):
            part = frame[frame["panel"] == panel]
            columns = sorted(set(part["column"]), key=_depths)
            grid = np.full((len(datasets), len(columns)), np.nan)
            for r in part.itertuples():
                i, j = datasets.index(r.dataset), columns.index(r.column)
                grid[i, j] = r.effect
                text = f"{r.effect:+.1f}" + ("*" if r.significant else "")
                ink = "white" if abs(r.effect) > 0.6 * limit else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=FONT_PT - 1, color=ink)
                if r.primary:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.2,
                                           edgecolor="black"))  # fmt: skip
            image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_xticks(range(len(columns)), columns)
            ax.set_yticks(range(len(datasets)), datasets if ax is axes[0] or
                          axes.index(ax) % ncols == 0 else [""] * len(datasets))  # fmt: skip
            ax.set_title(panel)
            ax.grid(False)
        fig.colorbar(image, ax=axes, shrink=0.8, label=f"effect, A - B ({unit})")
        png = to_png(fig)
    caption = (f"Claim {claim_id}: the effect of every comparison (A - B in {unit}; blue: A "
               "lower) by data set and depth; * significant after Holm, over training seeds; "
               "outlined: the primary comparisons that decide the verdict.")  # fmt: skip
    return FigureOut(f"claim{claim_id}_heatmap", png, caption)
