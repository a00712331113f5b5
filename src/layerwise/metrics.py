"""Evaluation as the papers do it (Larochelle et al. 2007, sec. 4; JMLR 2009, sec. 6).

* error rate = fraction of misclassified examples;
* the 95% interval is the normal approximation to the binomial, 1.96 sqrt(p (1 - p) / n_test)
  (the papers print it as "p +- half-width", e.g. 2.71% +- 0.14 on n_test = 50000);
* model selection: for each seed, the hyperparameter candidate with the lowest validation error is
  selected and its test error is reported. Equal validation errors go to the lower validation
  NLL (``tie_break = "valid_loss"``, our choice: docs/choices.md), then to the candidate listed
  first (stable order); ``tie_break = "first"`` skips the NLL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SELECTION_KEYS = ["dataset", "depth", "pretraining", "dropout", "seed"]
#: How equal validation errors are ordered (a member's best epoch, halving rungs, selection):
#: "valid_loss" = by the validation NLL, lower first; "first" = the earlier epoch / the candidate
#: listed first. On a 200-image validation set errors move in steps of 0.5%: ties are common.
TIE_BREAKS = ("valid_loss", "first")


def check_tie_break(tie_break: str) -> None:
    """ValueError unless ``tie_break`` is one of :data:`TIE_BREAKS`."""
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")


def error_rate(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of positions where ``predicted != target``; shapes must match."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape or predicted.size == 0:
        raise ValueError(f"need equal, non-empty shapes, got {predicted.shape} and {target.shape}")
    return float(np.mean(predicted != target))


def binomial_ci95(p, n):
    """Half-width of the 95% normal-approximation binomial interval, same unit as ``p``.

    ``p`` in [0, 1] (array or scalar), ``n`` the number of test examples.
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0):
        raise ValueError("n must be positive")
    return 1.96 * np.sqrt(p * (1.0 - p) / n)


def failed_rows(table: pd.DataFrame) -> pd.Series:
    """Boolean mask of members that failed: ``diverged`` (NaN/inf or a finite blow-up), a
    non-empty ``fail_reason`` (e.g. "chance": training error at chance after the budget), or a
    non-finite validation error. Absent columns count as "not failed"."""
    failed = ~np.isfinite(table["valid_error"].astype(float))
    if "diverged" in table:
        failed |= table["diverged"].map(_truthy).astype(bool)
    if "fail_reason" in table:
        failed |= table["fail_reason"].fillna("").astype(str).str.strip().ne("")
    return failed


def select_best(
    table: pd.DataFrame, keys: list[str] | None = None, tie_break: str = "valid_loss"
) -> pd.Series:
    """Boolean mask: the row with the lowest ``valid_error`` within each group of ``keys``.

    Equal validation errors go to the lower ``valid_loss`` (validation NLL) with tie_break
    "valid_loss" where the table has that column (a missing value ranks last), then to the
    earliest listed candidate; with "first" straight to the earliest listed.

    Failed rows (:func:`failed_rows`: diverged, blown up, at chance, or a NaN validation error)
    are never selected; a group where every row failed has no selected row, and the report shows
    its cell as "diverged" or "failed" (layerwise.report.cells), never as a number or "missing".
    """
    keys = SELECTION_KEYS if keys is None else keys
    missing = [k for k in keys + ["valid_error"] if k not in table.columns]
    if missing:
        raise KeyError(f"results table lacks columns {missing}")
    mask = pd.Series(False, index=table.index)
    usable = table[~failed_rows(table)]
    if usable.empty:
        return mask
    check_tie_break(tie_break)
    order = ["valid_error"]
    if tie_break == "valid_loss" and "valid_loss" in usable:
        order.append("valid_loss")
    # a stable sort keeps the listed order among full ties: they go to the earliest candidate
    ranked = usable.sort_values(order, kind="stable", na_position="last")
    best = ranked.groupby(keys, sort=False, dropna=False).head(1).index
    mask.loc[best] = True
    return mask


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not pd.isna(value)
