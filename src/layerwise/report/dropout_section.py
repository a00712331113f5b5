"""Report section of the full-MNIST dropout study (Srivastava et al. 2014, sec. 6.1.1, Table 2).

Reads only the study's files (``results/dropout_study/``: summary.csv and, per activation,
members.csv + history.csv; see layerwise.studies.dropout) and never imports torch. The section holds
the table of our cells next to Table 2's rows ("Standard Neural Net (logistic)", "Dropout NN
(logistic)", "Dropout NN (ReLU)", "Dropout NN + max-norm (ReLU)") with the verdict computed when the
summary was written, a note when our scale differs from the paper's, and a figure of validation
error over epochs per variant (selected members, mean over seeds). No summary.csv -> no section.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from layerwise.report.cells import CellStat
from layerwise.report.errors import ReportError
from layerwise.report.html import Section, paragraph
from layerwise.report.inputs import finite_or_nan
from layerwise.report.style import (
    LINESTYLES,
    MARKERS,
    FigureOut,
    figure_legend,
    new_figure,
    styled,
    to_png,
)
from layerwise.report.tables import Cell, Table

SUMMARY_COLUMNS = (
    "activation",
    "variant",
    "label",
    "depth",
    "n_hidden",
    "n_train",
    "n_seeds",
    "n_diverged",
    "n_test",
    "test_error",
    "test_ci95",
    "test_error_std",
    "paper_model",
    "paper_net",
    "paper_test_error",
    "paper_ci95",
    "verdict",
)
VARIANT_ORDER = ("plain", "dropout", "dropout-maxnorm")
VARIANT_LABELS = {
    "plain": "Standard",
    "dropout": "Dropout",
    "dropout-maxnorm": "Dropout + max-norm",
}
ACTIVATION_LABELS = {"sigmoid": "logistic", "relu": "ReLU"}
PAPER_SCALE = {"depth": 3, "n_hidden": 1024, "n_train": 50000, "n_test": 10000}


def load_study(study_dir: Path | None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(summary, history of the selected members with variant/activation/seed) or None if absent."""
    if study_dir is None or not (Path(study_dir) / "summary.csv").is_file():
        return None
    summary = pd.read_csv(Path(study_dir) / "summary.csv")
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing or summary.empty:
        raise ReportError(f"{study_dir}/summary.csv lacks columns {missing} or has no rows")
    for col in ("label", "paper_model", "paper_net", "verdict"):  # empty cells read back as NaN
        summary[col] = summary[col].fillna("").astype(str)
    curves = []
    for act in summary["activation"].unique():
        job = Path(study_dir) / str(act)
        if not (job / "members.csv").is_file() or not (job / "history.csv").is_file():
            continue  # a job whose files are gone: the table still renders, the curve is missing
        members, hist = pd.read_csv(job / "members.csv"), pd.read_csv(job / "history.csv")
        chosen = members.loc[
            members["selected"].astype(str).str.lower() == "true",
            ["member_id", "activation", "variant", "seed"],
        ]
        curves.append(hist[["member_id", "epoch", "valid_error"]].merge(chosen, on="member_id"))
    history = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return summary, history


def _pct(p: float, ci: float) -> str:
    return f"{100 * p:.2f}% ± {100 * ci:.2f}"


def _row(r) -> list[Cell]:
    stat = CellStat(
        "ok" if math.isfinite(r.test_error) else "diverged",
        r.test_error,
        r.test_ci95,
        r.test_error_std,
        int(r.n_seeds),
        int(r.n_diverged),
    )
    ours = Cell(stat.text(), "value" if stat.ok else "diverged", note=stat.spread_text())
    if not r.paper_model or not math.isfinite(r.paper_test_error):
        return [
            Cell(r.label),
            Cell("none"),
            ours,
            Cell("", "value"),
            Cell("", "value"),
            Cell(r.verdict),
        ]
    paper = Cell(_pct(r.paper_test_error, r.paper_ci95), "value", note=r.paper_net)
    diff = (
        Cell(f"{100 * (r.test_error - r.paper_test_error):+.2f}", "value")
        if stat.ok
        else Cell("", "value")
    )
    verdict = Cell(r.verdict, "verdict-" + r.verdict.replace(" ", "-"))
    return [Cell(r.label), Cell(r.paper_model), ours, paper, diff, verdict]


def study_table(summary: pd.DataFrame) -> Table:
    """One row per (activation, variant): ours, the Table 2 row it is compared with, verdict."""
    return Table(
        "table_dropout_study",
        "Dropout on full MNIST: ours versus Srivastava et al. (2014), Table 2",
        "Ours: mean test error of the selected members (lowest validation error over the lr "
        "candidates, per seed) with its 95% interval 1.96 sqrt(p(1-p)/n_test); second line: sd "
        "across seeds. Paper: Table 2 with the interval at n_test = 10000 (the paper prints "
        "none); second line: the paper's net. Diff. = ours - paper in percentage points. "
        "Verdict: within intervals when the 95% intervals overlap, otherwise better or worse.",
        ["Our net", "Table 2 row", "Ours", "Paper", "Diff.", "Verdict"],
        [_row(r) for r in summary.itertuples(index=False)],
        n_label_columns=2,
    )


def scale_notes(summary: pd.DataFrame) -> list[str]:
    """Sentences saying where our run differs from the paper's setting (empty when it does not)."""
    first = summary.iloc[0]
    ours = {k: int(first[k]) for k in PAPER_SCALE}
    notes = []
    if ours != PAPER_SCALE:
        notes.append(
            f"Our scale differs from the paper's: {ours['depth']} x {ours['n_hidden']} units "
            f"trained on {ours['n_train']} images and tested on {ours['n_test']} (paper: 3 x 1024 "
            "on 50000, test 10000, thousands of epochs). Read the ordering of the variants, not "
            "the absolute numbers, against Table 2."
        )
    if "Standard Neural Net (logistic)" in set(summary["paper_model"].fillna("")):
        notes.append(
            "Table 2's 'Standard Neural Net (logistic)' is a 2 x 800 net (Simard et al. "
            "2003); our standard logistic net has the study's architecture."
        )
    return notes


def _variant_style(variant: str) -> dict:
    i = VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER)
    return dict(
        color=sns.color_palette("colorblind", 10)[i % 10],
        marker=MARKERS[i % 7],
        linestyle=LINESTYLES[i % 7],
        label=VARIANT_LABELS.get(variant, variant),
    )


def validation_figure(history: pd.DataFrame) -> FigureOut | None:
    """Validation error (%) per epoch, mean over seeds of the selected members; panel/activation."""
    if history.empty:
        return None
    acts = [a for a in ("sigmoid", "relu") if a in set(history["activation"])]
    acts += sorted(set(history["activation"]) - set(acts))
    with styled():
        fig, axes = new_figure(len(acts), ncols=2, panel_h=2.4)
        for ax, act in zip(axes, acts, strict=True):
            part = history[history["activation"] == act]
            for variant in [v for v in VARIANT_ORDER if v in set(part["variant"])]:
                curve = part[part["variant"] == variant].groupby("epoch")["valid_error"].mean()
                style = _variant_style(variant) | {"markevery": max(1, len(curve) // 8)}
                ax.plot(curve.index, 100 * finite_or_nan(curve), **style)
            ax.set(
                title=f"{ACTIVATION_LABELS.get(act, act)} units",
                xlabel="epoch",
                ylabel="valid. error (%)",
            )
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        figure_legend(fig, axes)
        png = to_png(fig)
    return FigureOut(
        "dropout_study_validation",
        png,
        "Dropout study: validation error during training of the selected members "
        "(mean over seeds), per variant.",
    )


def dropout_study_section(study_dir) -> Section | None:
    """The study's section, or None when ``study_dir`` holds no summary.csv (study not run).

    ``study_dir`` may also be the report rule's inputs for the study: ``[.../summary.csv]``.
    """
    if isinstance(study_dir, (list, tuple)):
        study_dir = Path(study_dir[0]).parent if study_dir else None
    loaded = load_study(study_dir)
    if loaded is None:
        return None
    summary, history = loaded
    blocks: list = [paragraph(n, "note") for n in scale_notes(summary)]
    blocks.append(study_table(summary))
    fig = validation_figure(history)
    blocks += [
        "<h3>Validation curves</h3>",
        fig if fig is not None else paragraph("No history files found.", "note"),
    ]
    title = "Dropout on full MNIST (Srivastava et al. 2014, Table 2)"
    return Section("dropout-study", title, blocks)
