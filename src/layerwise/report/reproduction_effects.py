"""The papers' effects, not only their levels: pretraining gains and depth steps, ours against
published.

Two kinds of effect per data set, each a difference of two cells' test errors (percentage points,
err(a) - err(b), positive when b is better):

- **pretraining gain**: a = no pretraining, b = a pretraining method, at the same depth;
- **depth step**: a and b the same method at consecutive depths (those that ours or a published
  table has: 1 -> 2 -> 3 -> 4 for the 2009 depth table, 1 -> 3 for the 2007 table).

Ours are computed over the data set's cells of every piece (rectangles' depth-1 and depth-3 cells
come from two pieces); published from the first source that has both cells (verified first), so
an effect is never a difference across two papers.

Two baselines (column ``baseline``): **glorot**, the pieces' own nets without pretraining
(Glorot's initialisation), gives every effect; **fan-in**, the nets without pretraining of the
``<piece>-fan-in`` folders (config/reproduce/fan-in.yaml: the papers'-era init
U[-1/sqrt(n_in), 1/sqrt(n_in)]), gives again the effects that involve a net without pretraining
(every pretraining gain, the depth steps without pretraining) where ours has the fan-in net,
against the same published effect. A depth step of a pretraining method involves no baseline: it
is listed once, as glorot (the pieces' runs). Without fan-in nets the table has the glorot rows
only. Intervals (95%):

- ours: the larger of Welch's t interval over seeds (unpaired: the per-seed pairing is not in the
  cells' summary, so this is conservative) and the binomial one of a difference of two error rates
  on independent test sets (ours share one test set: conservative again);
- published: sqrt(h_a^2 + h_b^2) from the two printed half-widths;
- ours - published: sqrt(h_ours^2 + h_published^2), judged as the levels are
  (``layerwise.analysis.reproduction_rule.judge``) with no equivalence margin: consistent when the
  interval contains 0, else lower or higher (ours' effect, signed, below or above the published
  one).

Imports only numpy, scipy (through the rule's module), pandas, matplotlib and the standard library.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from layerwise.analysis.reproduction_rule import (
    binomial_half_width,
    judge,
    larger,
    welch_half_width,
)
from layerwise.report.style import WIDTH_IN, FigureOut, method_style, styled, to_png

EFFECT_COLUMNS = ["dataset", "baseline", "kind", "pretraining", "depth_a", "depth_b", "source",
                  "unverified", "ours_a_pct", "ours_b_pct", "ours_pct", "ours_hw_pct",
                  "paper_a_pct", "paper_b_pct", "paper_pct", "paper_hw_pct", "diff_pct",
                  "diff_hw_pct", "verdict"]  # fmt: skip
GAIN, STEP = "pretraining gain", "depth step"
#: The baselines: the pieces' own nets without pretraining, and the fan-in folders' ones.
GLOROT, FAN_IN = "glorot", "fan-in"
BASELINES_CAPTION = (
    " [glorot]: against the pieces' own nets without pretraining (Glorot's init); [fan-in]: "
    "against the fan-in folders' ones (the papers'-era init), the same published effect."
)


def _ours(cells: pd.DataFrame) -> dict:
    """(dataset, method, depth) -> our cell (first piece wins if two pieces hold the same cell)."""
    frame = cells.drop_duplicates(["dataset", "pretraining", "depth"])
    return {(r.dataset, r.pretraining, int(r.depth)): r for r in frame.itertuples(index=False)}


def _published(table: pd.DataFrame) -> dict:
    """dataset -> [(source, unverified, {(method, depth): (pct, half-width)})], verified first."""
    out: dict[str, list] = {}
    rows = table.assign(_unverified=table["unverified"].astype(bool), _row=range(len(table)))
    rows = rows.sort_values(["_unverified", "_row"], kind="stable")
    for (dataset, source), part in rows.groupby(["dataset", "source"], sort=False):
        cells = {(r.pretraining, int(r.depth)): (float(r.paper_pct), float(r.paper_ci_pct))
                 for r in part.itertuples(index=False)}  # fmt: skip
        out.setdefault(dataset, []).append((source, bool(part["_unverified"].any()), cells))
    return out


def _pairs(methods_depths: set[tuple[str, int]]) -> list[tuple[str, tuple, tuple]]:
    """(kind, arm a, arm b) for the gains at every depth and the consecutive depth steps."""
    pairs = []
    depths = sorted({d for _, d in methods_depths})
    methods = sorted({m for m, _ in methods_depths} - {"none"})
    for d in depths:
        pairs += [(GAIN, ("none", d), (m, d)) for m in methods]
    for m in ["none", *methods]:
        mine = sorted(d for mm, d in methods_depths if mm == m)
        pairs += [(STEP, (m, a), (m, b)) for a, b in zip(mine, mine[1:], strict=False)]
    return pairs


def _ours_effect(a, b) -> tuple[float, float]:
    """(effect, half-width) in percent from two of our cells (fractions in the cells' table)."""
    welch = welch_half_width(float(a.std), float(a.n_seeds), float(b.std), float(b.n_seeds))
    binomial = math.hypot(binomial_half_width(float(a.mean), float(a.n_test)),
                          binomial_half_width(float(b.mean), float(b.n_test)))  # fmt: skip
    return 100 * (float(a.mean) - float(b.mean)), 100 * larger(welch, binomial)


def _effect_rows(table: pd.DataFrame, ours: dict, baseline: str) -> list[dict]:
    """The effects of every data set of ``table`` with ``ours`` as our cells, labelled
    ``baseline``; ``_order`` keeps the pair's place within its data set."""
    published = _published(table)
    rows = []
    for dataset in table["dataset"].drop_duplicates():
        keys = {(m, d) for ds, m, d in ours if ds == dataset}
        for _, _, cells_of in published.get(dataset, []):
            keys |= set(cells_of)
        for order, (kind, a, b) in enumerate(_pairs(keys)):
            row = dict(dataset=dataset, baseline=baseline, kind=kind, pretraining=b[0],
                       depth_a=a[1], depth_b=b[1], source="", unverified=False,
                       _order=order)  # fmt: skip
            oa, ob = ours.get((dataset, *a)), ours.get((dataset, *b))
            if oa is not None and ob is not None:
                effect, half = _ours_effect(oa, ob)
                row.update(ours_a_pct=100 * float(oa.mean), ours_b_pct=100 * float(ob.mean),
                           ours_pct=effect, ours_hw_pct=half)  # fmt: skip
            source = next(((s, u, c) for s, u, c in published.get(dataset, [])
                           if a in c and b in c), None)  # fmt: skip
            if source is not None:
                s, unverified, c = source
                row.update(source=s, unverified=unverified, paper_a_pct=c[a][0],
                           paper_b_pct=c[b][0], paper_pct=c[a][0] - c[b][0],
                           paper_hw_pct=math.hypot(c[a][1], c[b][1]))  # fmt: skip
            if "ours_pct" in row or "paper_pct" in row:
                rows.append(row)
    return rows


def _fan_in_rows(table: pd.DataFrame, cells: pd.DataFrame, fan_in: pd.DataFrame) -> list[dict]:
    """The effects involving a net without pretraining, that net taken from ``fan_in``: only those
    where ours has it (the published-only rows are the glorot ones)."""
    nets = pd.concat([fan_in[fan_in["pretraining"] == "none"],
                      cells[cells["pretraining"] != "none"]], ignore_index=True)  # fmt: skip
    rows = _effect_rows(table, _ours(nets), FAN_IN)
    return [r for r in rows
            if "ours_pct" in r and (r["kind"] == GAIN or r["pretraining"] == "none")]  # fmt: skip


def effects_table(
    table: pd.DataFrame, cells: pd.DataFrame, fan_in: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every effect that ours or a published table has, for the data sets of the stacked table
    (``layerwise.report.reproduction.stack``); ``cells`` are ours (piece, dataset, depth,
    pretraining, mean, std, n_seeds, n_test; fractions). ``fan_in``: our nets without pretraining
    from the fan-in folders (same columns); when it has any, the effects involving a net without
    pretraining come again against it (``baseline`` fan-in), each beside its glorot row."""
    rows = _effect_rows(table, _ours(cells), GLOROT)
    if fan_in is not None and not fan_in.empty:
        rows += _fan_in_rows(table, cells, fan_in)
    frame = pd.DataFrame(rows).reindex(columns=[*EFFECT_COLUMNS, "_order"])
    if rows:  # each fan-in row beside its glorot row, data sets in the table's order
        datasets = {d: i for i, d in enumerate(table["dataset"].drop_duplicates())}
        frame = frame.assign(_set=frame["dataset"].map(datasets),
                             _base=(frame["baseline"] == FAN_IN).astype(int))  # fmt: skip
        frame = frame.sort_values(["_set", "_order", "_base"], kind="stable")
    frame = frame[EFFECT_COLUMNS].reset_index(drop=True)
    frame["diff_pct"] = frame["ours_pct"] - frame["paper_pct"]
    frame["diff_hw_pct"] = np.hypot(frame["ours_hw_pct"], frame["paper_hw_pct"])
    frame["verdict"] = [
        judge(d, h, 0.0, words=("lower", "higher")) if math.isfinite(d) else "-"
        for d, h in zip(
            frame["diff_pct"].astype(float), frame["diff_hw_pct"].astype(float), strict=True
        )  # fmt: skip
    ]
    return frame


def effect_label(r, baselines: bool = False) -> str:
    """'gain rbm, d3' for a gain, 'rbm, d1->2' for a step; with ``baselines``, an effect that
    involves a net without pretraining says against which: 'gain rbm, d3 [fan-in]'."""
    label = (f"gain {r.pretraining}, d{r.depth_b}" if r.kind == GAIN
             else f"{r.pretraining}, d{r.depth_a}->{r.depth_b}")  # fmt: skip
    if baselines and (r.kind == GAIN or r.pretraining == "none"):
        label += f" [{r.baseline}]"
    return label


def _bar(ax, x, y, half, lim, style, filled: bool) -> None:
    """One point with its interval, clipped to the axis limits (an arrow where it runs off)."""
    if not math.isfinite(x):
        return
    lo, hi = (x - half, x + half) if math.isfinite(half) else (x, x)
    ax.plot([max(lo, lim[0]), min(hi, lim[1])], [y, y], color=style["color"], linewidth=1.0)
    for end, edge, marker in ((lo, lim[0], "<"), (hi, lim[1], ">")):
        if (end < edge) if marker == "<" else (end > edge):
            ax.plot([edge], [y], marker=marker, color=style["color"], markersize=4)
    face = style["color"] if filled else "white"
    ax.plot([x], [y], marker=style["marker"], linestyle="none", markersize=5, color=face,
            markeredgecolor=style["color"])  # fmt: skip


OURS_REACH = 0.25  # how far past the points and published intervals ours' intervals widen the axis


def _limits(part: pd.DataFrame) -> tuple[float, float]:
    """x limits: every point and published interval; ours' intervals only OURS_REACH x that span
    further on each side (a seed that failed makes an interval of a hundred points: an arrow)."""
    values = np.r_[part["ours_pct"], part["paper_pct"] - part["paper_hw_pct"],
                   part["paper_pct"] + part["paper_hw_pct"], 0.0].astype(float)  # fmt: skip
    lo, hi = np.nanmin(values), np.nanmax(values)
    span = max(hi - lo, 0.5)
    ours_lo = np.nanmin((part["ours_pct"] - part["ours_hw_pct"]).astype(float).to_numpy())
    ours_hi = np.nanmax((part["ours_pct"] + part["ours_hw_pct"]).astype(float).to_numpy())
    reach = OURS_REACH * span
    lo = max(min(lo, ours_lo), lo - reach) if math.isfinite(ours_lo) else lo
    hi = min(max(hi, ours_hi), hi + reach) if math.isfinite(ours_hi) else hi
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def effects_figure(effects: pd.DataFrame) -> FigureOut | None:
    """A forest plot, a panel per data set: each effect's published value (hollow) and ours
    (filled) with their 95% intervals, the zero line; an arrow where an interval runs off the
    panel. None: no effect of ours to draw."""
    drawn = effects[np.isfinite(effects["ours_pct"].astype(float))]
    if drawn.empty:
        return None
    panels = list(drawn.groupby("dataset", sort=False))
    baselines = bool((drawn["baseline"] == FAN_IN).any())
    heights = [max(len(part), 2) for _, part in panels]
    with styled():
        fig = Figure(figsize=(WIDTH_IN, 0.24 * sum(heights) + 0.7 * len(panels) + 0.6),
                     layout="constrained")  # fmt: skip
        axes = fig.subplots(len(panels), 1, squeeze=False,
                            gridspec_kw={"height_ratios": heights}).ravel()  # fmt: skip
        for ax, (dataset, part) in zip(axes, panels, strict=True):
            lim = _limits(part)
            for y, r in enumerate(part.itertuples(index=False)):
                style = method_style(str(r.pretraining))
                _bar(ax, float(r.paper_pct), y - 0.17, float(r.paper_hw_pct), lim, style, False)
                _bar(ax, float(r.ours_pct), y + 0.17, float(r.ours_hw_pct), lim, style, True)
            ax.axvline(0.0, color="0.4", linewidth=0.8, linestyle="--")
            ax.set_yticks(range(len(part)),
                          [effect_label(r, baselines) for r in part.itertuples()])  # fmt: skip
            ax.set(
                xlim=lim,
                ylim=(len(part) - 0.5, -0.5),
                title=str(dataset),
                xlabel="effect, err(a) - err(b) (points; > 0: pretraining / depth helps)",
            )
        axes[0].plot([], [], "o", color="0.3", label="ours (filled)")
        axes[0].plot([], [], "o", color="white", markeredgecolor="0.3", label="published (hollow)")
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
        png = to_png(fig)
    return FigureOut(
        "effects",
        png,
        "The papers' effects, ours (filled) against published (hollow), 95% intervals: the "
        "pretraining gain (no pretraining minus the method, same depth) and the depth step (the "
        "method at the shallower depth minus the deeper); arrows: an interval running off the "
        "panel." + (BASELINES_CAPTION if baselines else ""),
    )
