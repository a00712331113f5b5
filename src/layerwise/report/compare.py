"""Ours versus published: every published cell the run covers, with a verdict.

A published row (src/layerwise/reference/published_results.csv, see its README) is matched to our
cell on dataset, pretraining (autoencoder -> ae, denoising-autoencoder -> dae, rbm, none) and
depth. The papers of 2007-2010 fine-tuned without dropout, so we compare with our dropout-off cell;
choice: rows of Srivastava et al. (2014) whose model name says "dropout" are compared with our
dropout-on cell.

Only cells inside the run's grid (data sets, depths, methods, dropout settings) are covered; a
covered cell the run did not finish is listed as "missing" or "diverged". Verdict: "within
intervals" when the two 95% intervals overlap, else "better" (ours lower) or "worse". Where the
paper prints no interval we use 1.96 sqrt(p(1-p)/n_test) with our n_test. Rows whose status is
neither ``verified`` nor ``recalled`` (e.g. Hinton & Salakhutdinov's reconstruction errors, which
are not error rates) are skipped; ``recalled`` rows are labelled "unverified"."""

from __future__ import annotations

import math

import pandas as pd

from layerwise.report.cells import CellLookup, ci95, method_label
from layerwise.report.tables import Cell, Grid, Table

PRETRAINING_NAMES = {
    "autoencoder": "ae",
    "denoising-autoencoder": "dae",
    "rbm": "rbm",
    "none": "none",
}
COMPARABLE_STATUS = ("verified", "recalled")


def verdict(ours: float, ours_ci: float, paper: float, paper_ci: float) -> str:
    """'within intervals' if [ours +- ours_ci] meets [paper +- paper_ci], else 'better'/'worse'."""
    if abs(ours - paper) <= ours_ci + paper_ci:
        return "within intervals"
    return "better" if ours < paper else "worse"


COMPARE_COLUMNS = ["source", "table", "dataset", "model", "pretraining", "depth", "dropout",
                   "paper_pct", "paper_ci_pct", "status", "unverified", "ours_pct", "ours_ci_pct",
                   "diff_pct", "verdict"]  # fmt: skip


def _covered(ref, grid: Grid) -> tuple[str, bool] | None:
    """(method, dropout) of a published row when our grid covers its cell, else None."""
    method = PRETRAINING_NAMES.get(str(ref.pretraining))
    if method is None or ref.status not in COMPARABLE_STATUS or math.isnan(ref.depth):
        return None
    dropout = "dropout" in str(ref.model).lower()
    inside = (ref.dataset in grid.datasets and int(ref.depth) in grid.depths
              and method in grid.methods and dropout in grid.dropouts)  # fmt: skip
    return (method, dropout) if inside else None


def compare_published(
    reference: pd.DataFrame, lookup: CellLookup, grid: Grid, n_test: dict[str, float]
) -> pd.DataFrame:
    """Published rows the run covers -> frame (all in percent) with our numbers and the verdict.

    n_test maps data set -> our test-set size (for papers that print no interval).
    """
    rows = []
    for ref in reference.itertuples(index=False):
        if (covered := _covered(ref, grid)) is None:
            continue
        method, dropout = covered
        ours = lookup.get(ref.dataset, int(ref.depth), method, dropout)
        paper = ref.test_error_pct / 100.0
        paper_ci = ref.ci95_pct / 100.0
        if math.isnan(paper_ci):
            paper_ci = ci95(paper, n_test.get(ref.dataset, 10000))
        row = dict(source=ref.source, table=ref.table, dataset=ref.dataset, model=ref.model,
                   pretraining=method, depth=int(ref.depth), dropout=dropout,
                   paper_pct=100 * paper, paper_ci_pct=100 * paper_ci, status=ours.status,
                   unverified=ref.status != "verified", ours_pct=math.nan,
                   ours_ci_pct=math.nan, diff_pct=math.nan, verdict=ours.status)  # fmt: skip
        if ours.ok:
            row.update(ours_pct=100 * ours.mean, ours_ci_pct=100 * ours.ci,
                       diff_pct=100 * (ours.mean - paper),
                       verdict=verdict(ours.mean, ours.ci, paper, paper_ci))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def _compare_row(r) -> list[Cell]:
    if r.status == "ok":
        ours = Cell(f"{r.ours_pct:.2f}% ± {r.ours_ci_pct:.2f}", "value")
        diff = Cell(f"{r.diff_pct:+.2f}", "value")
    else:
        ours, diff = Cell(r.status, r.status), Cell("")
    label = method_label(r.pretraining) + (" + dropout" if r.dropout else "")
    verdict_cell = Cell(r.verdict, "verdict-" + r.verdict.replace(" ", "-"),
                        note="unverified" if r.unverified else "")  # fmt: skip
    return [Cell(r.dataset), Cell(str(r.model)), Cell(label), Cell(str(r.depth)), ours,
            Cell(f"{r.paper_pct:.2f}% ± {r.paper_ci_pct:.2f}", "value"), diff,
            verdict_cell]  # fmt: skip


def compare_tables(frame: pd.DataFrame) -> list[Table]:
    """One Table per published source table (paper order kept), rows in reference order."""
    tables = []
    for (source, name), part in frame.groupby(["source", "table"], sort=False):
        n_unverified = int(part["unverified"].sum())
        status = "verified"
        if n_unverified:
            status = f"{n_unverified} rows recalled from secondary material: unverified"
        tables.append(Table(
            f"table_published_{source}_{name}".replace("-", "_"),
            f"Ours versus {source} ({name})",
            f"Published cells this run covers ({status}). Diff. = ours - paper in percentage "
            "points. Verdict: within intervals when the 95% intervals overlap, otherwise better "
            "or worse; missing/diverged when our cell has no finished member.",
            ["Data set", "Model", "Pretraining", "Depth", "Ours", "Paper", "Diff.", "Verdict"],
            [_compare_row(r) for r in part.itertuples(index=False)],
            n_label_columns=4,
        ))  # fmt: skip
    return tables
