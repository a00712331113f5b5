"""One figure style for the whole report: seaborn "paper" context, >= 9 pt fonts, print-friendly.

Each method gets a colour (seaborn's colour-blind palette), a marker and a line style, so every plot
still reads in black and white. The style is applied through ``matplotlib.rc_context`` inside each
figure function and figures are built with ``matplotlib.figure.Figure`` (no pyplot): nothing global
changes, which keeps the report safe to build inside another process.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import seaborn as sns
from matplotlib.figure import Figure

from layerwise.report.cells import METHODS, method_label

FONT_PT = 9  # smallest font in any figure (readable printed at 100%)
WIDTH_IN = 7.0  # A4 text width with 2 cm margins is about 6.7 in; figures scale down slightly
DPI = 150
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))


@dataclass(frozen=True)
class FigureOut:
    """A rendered figure: file stem, PNG bytes, caption."""

    name: str
    png: bytes
    caption: str
    kind: str = "plot"  # CSS class of the <figure>: plot | image | samples


def rc() -> dict:
    """rcParams of the report style (whitegrid + paper context, fonts >= FONT_PT)."""
    params = dict(sns.axes_style("whitegrid"))
    params.update(sns.plotting_context("paper"))
    params.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": FONT_PT,
            "axes.titlesize": FONT_PT + 1,
            "axes.labelsize": FONT_PT,
            "xtick.labelsize": FONT_PT,
            "ytick.labelsize": FONT_PT,
            "legend.fontsize": FONT_PT,
            "legend.title_fontsize": FONT_PT,
            "lines.linewidth": 1.4,
            "lines.markersize": 5,
            "axes.edgecolor": "0.3",
            "savefig.dpi": DPI,
        }
    )
    return params


@contextmanager
def styled():
    """Context in which figures of the report are created and saved."""
    with matplotlib.rc_context(rc()):
        yield


def method_style(method: str) -> dict:
    """Colour, marker and line style of a method (stable across figures)."""
    order = list(METHODS) + [method] if method not in METHODS else list(METHODS)
    i = order.index(method)
    colour = sns.color_palette("colorblind", 10)[i % 10]
    return dict(
        color=colour,
        marker=MARKERS[i % len(MARKERS)],
        linestyle=LINESTYLES[i % len(LINESTYLES)],
        label=method_label(method),
    )


def new_figure(
    n_panels: int,
    *,
    ncols: int = 4,
    panel_h: float = 2.3,
    sharey: bool = False,
    extra_h: float = 0.6,
):
    """Figure with n_panels axes in rows of ncols, full text width; unused axes hidden.

    extra_h (inches) leaves room for the figure legend below the panels.
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=(WIDTH_IN, panel_h * nrows + extra_h), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def to_png(fig: Figure) -> bytes:
    """PNG bytes of a figure (Agg canvas attached by savefig; no backend switching)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def figure_legend(fig: Figure, axes) -> None:
    """One legend below the panels, from the labelled artists of all axes (first label wins)."""
    handles, labels = {}, []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in handles and not lab.startswith("_"):
                handles[lab] = h
                labels.append(lab)
    if labels:
        fig.legend(
            [handles[lab] for lab in labels],
            labels,
            loc="outside lower center",
            ncol=min(4, len(labels)),
            frameon=False,
        )
