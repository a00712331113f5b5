"""Result figures: pure functions of the tidy tables (benchopt habit), one style (style.py).

- test error vs depth with 95% interval bars, a panel per data set (Larochelle et al. 2009, Fig. 4);
- validation error over fine-tuning epochs of the selected members;
- spread of test error across seeds (box + strip plot);
- gradient norm reaching each layer in the first epochs, with and without pretraining -- the
  vanishing-gradient picture (Glorot & Bengio 2010; Larochelle et al. 2009, Sec. 4.3);
- bias/variance: train vs test error by depth and pretraining (Erhan et al. 2010's view of
  pretraining as a regulariser);
- ours against published, a panel per data set (the report's comparison and the stacked table of
  ``make reproduce``).
All use the selected members with dropout off unless the caption says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from layerwise.report.style import (
    FigureOut,
    figure_legend,
    method_style,
    new_figure,
    styled,
    to_png,
)
from layerwise.report.tables import Grid


def error_vs_depth(stats: pd.DataFrame, grid: Grid) -> FigureOut:
    """Mean test error (%) against depth with 95% interval bars; a line per method."""
    ok = stats[(stats["status"] == "ok") & ~stats["dropout"].astype(bool)]
    with styled():
        fig, axes = new_figure(len(grid.datasets))
        for ax, ds in zip(axes, grid.datasets, strict=True):
            for method in grid.methods:
                cell = ok[(ok["dataset"] == ds) & (ok["pretraining"] == method)].sort_values(
                    "depth"
                )
                if cell.empty:
                    continue
                ax.errorbar(
                    cell["depth"],
                    100 * cell["mean"],
                    yerr=100 * cell["ci95"],
                    capsize=3,
                    **method_style(method),
                )
            ax.set(title=ds, xlabel="depth (hidden layers)", xticks=grid.depths)
            ax.set_ylabel("test error (%)")
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "error_vs_depth",
        png,
        "Test error against depth, dropout off; bars are "
        "95% binomial intervals at the mean over seeds.",
    )


def validation_curves(hist: pd.DataFrame, grid: Grid) -> FigureOut | None:
    """Validation error (%) per epoch, mean over seeds; rows = data sets, columns = depths."""
    hist = hist[~hist["dropout"].astype(bool)]
    if hist.empty:
        return None
    ncols = len(grid.depths)
    with styled():
        fig, axes = new_figure(len(grid.datasets) * ncols, ncols=ncols, panel_h=1.9)
        for i, ds in enumerate(grid.datasets):
            for j, depth in enumerate(grid.depths):
                ax = axes[i * ncols + j]
                part = hist[(hist["dataset"] == ds) & (hist["depth"] == depth)]
                for method in grid.methods:
                    curve = part[part["pretraining"] == method].groupby("epoch")["valid_error"]
                    if len(curve):
                        mean = curve.mean()
                        style = method_style(method) | {"marker": None}
                        ax.plot(mean.index, 100 * mean.to_numpy(), **style)
                ax.set_title(f"{ds}, depth {depth}")
                ax.set(xlabel="epoch" if i == len(grid.datasets) - 1 else "")
                ax.set(ylabel="valid. error (%)" if j == 0 else "")
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "validation_curves",
        png,
        "Validation error during fine-tuning of the "
        "selected members (mean over seeds), dropout off.",
    )


def _spread_panel(ax, part: pd.DataFrame, grid: Grid) -> None:
    """Boxes and points of one data set: depth on x, methods side by side with their markers."""
    width = 0.8 / len(grid.methods)
    for i, depth in enumerate(grid.depths):
        for j, method in enumerate(grid.methods):
            mask = (part["depth"] == depth) & (part["pretraining"] == method)
            vals = 100 * part.loc[mask, "test_error"].to_numpy()  # (n_seeds,) in percent
            if vals.size == 0:
                continue
            pos, style = i - 0.4 + (j + 0.5) * width, method_style(method)
            line = dict(color=style["color"], linewidth=1)
            ax.boxplot([vals], positions=[pos], widths=0.8 * width, showfliers=False,
                       manage_ticks=False, boxprops=line, whiskerprops=line, capprops=line,
                       medianprops=line)  # fmt: skip
            # Evenly spaced offsets instead of random jitter: the figure is deterministic.
            xs = pos + np.linspace(-width / 4, width / 4, vals.size)
            ax.scatter(xs, vals, marker=style["marker"], color=style["color"], edgecolor="0.2",
                       linewidth=0.5, s=20, zorder=3, label=style["label"])  # fmt: skip
    ax.set_xticks(range(len(grid.depths)), [str(d) for d in grid.depths])
    ax.set(xlim=(-0.5, len(grid.depths) - 0.5), xlabel="depth (hidden layers)")


def seed_spread(results: pd.DataFrame, grid: Grid) -> FigureOut:
    """Test error (%) of each selected seed: box + points per depth and method, per data set."""
    sel = results[results["selected"] & ~results["dropout"] & ~results["diverged"]]
    with styled():
        fig, axes = new_figure(len(grid.datasets), ncols=2, panel_h=2.4)
        for ax, ds in zip(axes, grid.datasets, strict=True):
            _spread_panel(ax, sel[sel["dataset"] == ds], grid)
            ax.set(title=ds, ylabel="test error (%)")
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "seed_spread",
        png,
        "Spread of test error across seeds (selected members, dropout off): one point per seed, "
        "boxes show quartiles.",
    )


def _plain_log_ticks(ax) -> None:
    """Ticks at 1, 2, 5 x 10^k printed as plain numbers: readable without knowing log axes."""
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def gradient_norms(hist: pd.DataFrame, grid: Grid, *, n_epochs: int = 5) -> FigureOut | None:
    """Mean gradient norm per layer over the first n_epochs; a panel per depth, a line per method.

    Averaged over data sets, seeds and the first ``n_epochs`` epochs (choice: epochs 1..n_epochs,
    or 0..n_epochs-1 if the history counts from 0). Layer 1 is next to the input; layer depth+1 is
    the output layer.
    """
    if n_epochs < 1:
        raise ValueError(f"n_epochs must be >= 1; got {n_epochs}")
    cols = sorted(
        (c for c in hist.columns if c.startswith("grad_norm_l")),
        key=lambda c: int(c.removeprefix("grad_norm_l")),
    )
    hist = hist[~hist["dropout"].astype(bool)]
    if not cols or hist.empty:
        return None
    first = hist[hist["epoch"] < hist["epoch"].min() + n_epochs]
    with styled():
        fig, axes = new_figure(len(grid.depths), panel_h=2.4, sharey=True)
        for ax, depth in zip(axes, grid.depths, strict=True):
            part = first[first["depth"] == depth]
            layers = [c for c in cols[: depth + 1]]
            for method in grid.methods:
                norms = part.loc[part["pretraining"] == method, layers].mean()
                if norms.notna().any():
                    ax.plot(np.arange(1, len(layers) + 1), norms.to_numpy(), **method_style(method))
            ax.set(title=f"depth {depth}", xlabel="layer (1 = input side)", yscale="log")
            ax.set_xticks(np.arange(1, depth + 2))
            _plain_log_ticks(ax)
        axes[0].set_ylabel("gradient norm")
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "gradient_norms",
        png,
        f"Gradient norm reaching each layer, mean over the "
        f"first {n_epochs} fine-tuning epochs, data sets and seeds (selected members, "
        f"dropout off). Layer depth+1 is the output layer.",
    )


def bias_variance(results: pd.DataFrame, grid: Grid) -> FigureOut:
    """Train (dashed, open markers) and test (solid) error (%) by depth and method."""
    sel = results[results["selected"] & ~results["dropout"] & ~results["diverged"]]
    means = sel.groupby(["dataset", "pretraining", "depth"])[["train_error", "test_error"]].mean()
    with styled():
        fig, axes = new_figure(len(grid.datasets))
        for ax, ds in zip(axes, grid.datasets, strict=True):
            for method in grid.methods:
                if (ds, method) not in means.index.droplevel("depth"):
                    continue
                cell = means.loc[(ds, method)]
                style = method_style(method)
                ax.plot(cell.index, 100 * cell["test_error"], **style | {"linestyle": "-"})
                ax.plot(
                    cell.index,
                    100 * cell["train_error"],
                    **style | {"linestyle": "--", "markerfacecolor": "white", "label": "_train"},
                )
            ax.set(title=ds, xlabel="depth (hidden layers)", xticks=grid.depths)
            ax.set_ylabel("error (%)")
        # Black proxies so the legend also says which line style is train and which is test.
        axes[0].plot([], [], color="0.2", linestyle="-", label="test error")
        axes[0].plot([], [], color="0.2", linestyle="--", marker="o", markerfacecolor="white",
                     label="train error")  # fmt: skip
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "bias_variance",
        png,
        "Train (dashed, open markers) and test (solid) error of "
        "the selected members by depth, dropout off: the gap is the variance side.",
    )


def published_scatter(compared: pd.DataFrame) -> Figure | None:
    """Ours (y) against published (x), one point per compared cell with a number of ours, both 95%
    intervals as error bars and the diagonal y = x; a panel per data set (in the table's order),
    each on its own scale, so that a 2% set and a 30% set are both readable. Colour and marker by
    method; hollow markers for recalled (unverified) published numbers. None: nothing to plot.
    Call inside ``styled()``."""
    ok = compared[np.isfinite(compared["ours_pct"].astype(float))]
    if ok.empty:
        return None
    panels = list(ok.groupby("dataset", sort=False))
    single = len(panels) == 1
    fig, axes = new_figure(len(panels), ncols=1 if single else 2, panel_h=4.2 if single else 3.1)
    for ax, (dataset, cells) in zip(axes, panels, strict=True):
        for method, part in cells.groupby("pretraining", sort=False):
            st = method_style(str(method) if method else "none")
            ax.errorbar(part["paper_pct"], part["ours_pct"], xerr=part["paper_ci_pct"],
                        yerr=part["ours_ci_pct"], fmt="none", ecolor=st["color"], alpha=0.6,
                        elinewidth=0.8)  # fmt: skip
            for unverified, pts in part.groupby(part["unverified"].astype(bool)):
                face = "none" if unverified else st["color"]
                ax.scatter(pts["paper_pct"], pts["ours_pct"], marker=st["marker"], s=22,
                           color=face, edgecolors=st["color"])  # fmt: skip
        lows = np.r_[
            cells["paper_pct"] - cells["paper_ci_pct"], cells["ours_pct"] - cells["ours_ci_pct"]
        ]
        highs = np.r_[
            cells["paper_pct"] + cells["paper_ci_pct"], cells["ours_pct"] + cells["ours_ci_pct"]
        ]
        lo, hi = 0.92 * float(np.nanmin(lows)), 1.08 * float(np.nanmax(highs))
        ax.plot([lo, hi], [lo, hi], color="0.4", linewidth=0.8, linestyle="--", label="y = x")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="published test error (%)",
               ylabel="ours, mean over seeds (%)", aspect="equal", title=str(dataset))  # fmt: skip
    # the legend from empty proxies: a filled marker per method, whatever the first panel holds
    for method in ok["pretraining"].drop_duplicates():
        st = method_style(str(method) if method else "none")
        axes[0].scatter([], [], marker=st["marker"], s=22, color=st["color"], label=st["label"])
    if ok["unverified"].astype(bool).any():
        axes[0].scatter([], [], marker="o", s=22, color="none", edgecolors="0.3",
                        label="recalled (hollow)")  # fmt: skip
    figure_legend(fig, axes)
    return fig


def ours_vs_published(compared: pd.DataFrame) -> FigureOut | None:
    """The report's ours-against-published figure (``published_scatter``) with its caption."""
    with styled():
        fig = published_scatter(compared)
        if fig is None:
            return None
        png = to_png(fig)
    return FigureOut(
        "ours_vs_published",
        png,
        "Ours against published, one point per published cell this run covers, with both 95% "
        "intervals, a panel per data set on its own scale; below the diagonal is better than "
        "published. Hollow markers: published numbers recalled from secondary material "
        "(unverified).",
    )
