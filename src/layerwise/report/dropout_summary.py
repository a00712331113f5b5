"""The dropout study's summary table against Srivastava et al. (JMLR 2014), Table 2.

Reads the study's ``members.csv`` files (``layerwise.studies.dropout`` writes them) and writes
``results/dropout_study/summary.csv``: per (activation, variant), the selected members' test error
(mean over seeds, ``layerwise.report.cells.cell_stats``) beside the published row. Pure pandas:
the report never imports the training code.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd

from layerwise import files
from layerwise.metrics import binomial_ci95, select_best
from layerwise.report.cells import cell_stats
from layerwise.report.compare import verdict
from layerwise.report.inputs import load_reference

VARIANTS = ("plain", "dropout", "dropout-maxnorm")
ACTIVATIONS = ("sigmoid", "relu")
SELECTION_KEYS = ["activation", "variant", "seed"]
VARIANT_LABELS = {
    "plain": "Standard",
    "dropout": "Dropout",
    "dropout-maxnorm": "Dropout + max-norm",
}
ACTIVATION_LABELS = {"sigmoid": "logistic", "relu": "ReLU"}
#: (activation, variant) -> (Table 2 model name, units column of the reference row, paper net).
TABLE2_ROWS = {
    ("sigmoid", "plain"): ("Standard Neural Net (logistic)", "800", "2 x 800"),
    ("sigmoid", "dropout"): ("Dropout NN (logistic)", "1024", "3 x 1024"),
    ("relu", "dropout"): ("Dropout NN (ReLU)", "1024", "3 x 1024"),
    ("relu", "dropout-maxnorm"): ("Dropout NN + max-norm (ReLU)", "1024", "3 x 1024"),
}
PAPER_N_TEST = 10000  # MNIST test set: the interval of a published row (the paper prints none)


def mark_selected(table: pd.DataFrame, tie_break: str = "valid_loss") -> pd.DataFrame:
    """Copy of ``table`` with ``selected``: lowest valid error per (activation, variant, seed)
    (equal errors: ``layerwise.metrics.select_best``'s ``tie_break``)."""
    table = table.copy()
    table["selected"] = select_best(table, SELECTION_KEYS, tie_break)
    return table


def _published(reference: pd.DataFrame, activation: str, variant: str) -> tuple[str, str, float]:
    """(Table 2 model, paper net, error in [0, 1]) of a study cell; ("", "", nan) when none."""
    if (activation, variant) not in TABLE2_ROWS:
        return "", "", math.nan
    model, units, arch = TABLE2_ROWS[(activation, variant)]
    rows = reference[(reference["source"] == "Srivastava2014") & (reference["model"] == model)
                     & (reference["units"].astype(str) == units)]  # fmt: skip
    if rows.empty:
        return model, arch, math.nan
    return model, arch, float(rows["test_error_pct"].iloc[0]) / 100.0


def _cell(activation: str, variant: str, group: pd.DataFrame, reference: pd.DataFrame) -> dict:
    """One summary row from all members of (activation, variant), ``selected`` already marked."""
    stats = cell_stats(group, keys=["activation", "variant"])
    stat = stats.iloc[0] if len(stats) else {"status": "diverged", "n_seeds": 0, "mean": math.nan,
                                             "ci95": math.nan, "std": math.nan}  # fmt: skip
    ok = stat["status"] == "ok"
    first = group.iloc[0]
    sel = group[group["selected"].astype(bool)]
    sel = sel[~sel["diverged"].astype(bool)]
    model, arch, paper = _published(reference, activation, variant)
    has_paper = bool(model) and math.isfinite(paper)
    paper_ci = float(binomial_ci95(paper, PAPER_N_TEST)) if has_paper else math.nan
    result = verdict(stat["mean"], stat["ci95"], paper, paper_ci) if has_paper and ok else (
        "no published row")  # fmt: skip
    if has_paper and not ok:
        result = "diverged"  # every member of every seed diverged: no number to compare
    return {
        "activation": activation, "variant": variant,
        "label": f"{VARIANT_LABELS[variant]} ({ACTIVATION_LABELS[activation]})",
        "depth": int(first["depth"]), "n_hidden": int(first["n_hidden"]),
        "n_train": int(first["n_train"]), "n_seeds": int(stat["n_seeds"]),
        "n_diverged": int(group["seed"].nunique() - stat["n_seeds"]),
        "n_test": int(stat["n_test"]) if ok else int(group["n_test"].iloc[0]),
        "test_error": stat["mean"], "test_ci95": stat["ci95"], "test_error_std": stat["std"],
        "valid_error": float(sel["valid_error"].mean()) if len(sel) else math.nan,
        "lr_selected": " ".join(f"{v:g}" for v in sel["lr"]), "paper_model": model,
        "paper_net": arch, "paper_test_error": paper, "paper_ci95": paper_ci, "verdict": result,
    }  # fmt: skip


def summarize(
    members: pd.DataFrame, reference: pd.DataFrame, tie_break: str = "valid_loss"
) -> pd.DataFrame:
    """summary.csv: per (activation, variant), the selected members' test error (mean over seeds),
    its 95% interval 1.96 sqrt(p(1-p)/n_test) at the mean, the std across seeds, the Table 2 value
    (interval at the paper's n_test = 10000) and the verdict of ``layerwise.report.compare.verdict``
    ("within intervals" when the two intervals meet, else "better"/"worse"). Selection is redone
    here (:func:`mark_selected`), so the summary does not trust a stale ``selected`` column."""
    table = mark_selected(members, tie_break)
    rows = []
    for activation, variant in itertools.product(ACTIVATIONS, VARIANTS):
        group = table[(table["activation"] == activation) & (table["variant"] == variant)]
        if len(group):
            rows.append(_cell(activation, variant, group, reference))
    return pd.DataFrame(rows)


def write_summary(
    members_csvs: list[Path],
    out_csv: Path,
    reference_csv: Path | None = None,
    tie_break: str = "valid_loss",
) -> pd.DataFrame:
    """Combine the jobs' members.csv into ``out_csv`` (see :func:`summarize`)."""
    members = pd.concat([pd.read_csv(p) for p in members_csvs], ignore_index=True)
    summary = summarize(members, load_reference(reference_csv), tie_break)
    files.write_with(Path(out_csv), lambda p: summary.to_csv(p, index=False))
    return summary
