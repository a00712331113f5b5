"""Ours versus published: every published cell the run covers, with a verdict.

A published row (src/layerwise/reference/published_results.csv, see its README) is matched to our
cell on dataset, pretraining (autoencoder -> ae, denoising-autoencoder -> dae, rbm, none) and
depth. The papers of 2007-2010 fine-tuned without dropout, so we compare with our dropout-off cell;
choice: rows of Srivastava et al. (2014) whose model name says "dropout" are compared with our
dropout-on cell.

Only cells inside the run's grid (data sets, depths, methods, dropout settings) are covered; a
covered cell the run did not finish is listed as "missing" or "diverged". Verdict: the
reproduction's rule (``layerwise.analysis.reproduction_rule``): ours - published with a 95% interval
combining ours (the larger of the t interval over seeds and the binomial one) and the published
one, "consistent" when it contains 0 or lies within the equivalence margin, else "better" (below 0)
or "worse". Where the paper prints no interval we use 1.96 sqrt(p(1-p)/n_test) with our n_test.
Counts are over distinct cells: one of our nets compared with two papers (the 2007 rows of the
MNIST sets and the 2009 depth table) counts once, against its verified reference (``counted``).
Rows whose status is neither ``verified`` nor ``recalled`` (e.g. Hinton & Salakhutdinov's
reconstruction errors, which are not error rates) are skipped; ``recalled`` rows are labelled
"unverified"."""

from __future__ import annotations

import math

import pandas as pd

from layerwise.analysis.reproduction_rule import MARGIN, judge_cells, rule_sentence
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
    """'within intervals' if [ours +- ours_ci] meets [paper +- paper_ci], else 'better'/'worse'
    (the overlap verdict of the dropout section; published cells are judged by the rule)."""
    if abs(ours - paper) <= ours_ci + paper_ci:
        return "within intervals"
    return "better" if ours < paper else "worse"


COMPARE_COLUMNS = ["source", "table", "dataset", "model", "pretraining", "depth", "dropout",
                   "paper_pct", "paper_ci_pct", "status", "unverified", "ours_pct", "ours_ci_pct",
                   "ours_std_pct", "n_seeds", "ours_hw_pct", "diff_pct", "diff_hw_pct", "verdict",
                   "counted"]  # fmt: skip


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
    reference: pd.DataFrame,
    lookup: CellLookup,
    grid: Grid,
    n_test: dict[str, float],
    margin: float = MARGIN,
) -> pd.DataFrame:
    """Published rows the run covers -> frame (all in percent) with our numbers, the rule's
    half-widths (ours_hw_pct, diff_hw_pct), its verdict and ``counted`` (the row that counts for
    its net: one per data set, method, depth and dropout setting).

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
                   ours_ci_pct=math.nan, ours_std_pct=math.nan, n_seeds=0)  # fmt: skip
        if ours.ok:
            row.update(ours_pct=100 * ours.mean, ours_ci_pct=100 * ours.ci,
                       ours_std_pct=100 * ours.std, n_seeds=ours.n_seeds)  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COMPARE_COLUMNS[: COMPARE_COLUMNS.index("ours_hw_pct")])
    # the rule's distinct cells are per piece: here one run, its dropout cells apart
    judged = judge_cells(frame.assign(piece=frame["dropout"].astype(bool)), margin)
    return judged[COMPARE_COLUMNS]


def _compare_row(r) -> list[Cell]:
    if r.status == "ok":
        ours = Cell(f"{r.ours_pct:.2f}% ± {r.ours_hw_pct:.2f}", "value")
        diff = Cell(f"{r.diff_pct:+.2f} ± {r.diff_hw_pct:.2f}", "value")
    else:
        ours, diff = Cell(r.status, r.status), Cell("")
    label = method_label(r.pretraining) + (" + dropout" if r.dropout else "")
    notes = ["unverified"] * bool(r.unverified) + ["same net, not counted"] * (not r.counted)
    verdict_cell = Cell(r.verdict, "verdict-" + r.verdict.replace(" ", "-"),
                        note="; ".join(notes))  # fmt: skip
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
            f"Published cells this run covers ({status}). Ours: mean over seeds ± the rule's "
            "half-width (the larger of the t one over seeds and the binomial one). Diff. = ours "
            f"- paper in percentage points ± the combined half-width. {rule_sentence()} "
            "Missing/diverged: our cell has no finished member; same net, not counted: the net "
            "is counted against its verified reference.",
            ["Data set", "Model", "Pretraining", "Depth", "Ours", "Paper", "Diff.", "Verdict"],
            [_compare_row(r) for r in part.itertuples(index=False)],
            n_label_columns=4,
        ))  # fmt: skip
    return tables
