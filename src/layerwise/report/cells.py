"""Per-cell statistics of the selected members, as the papers print them.

A *cell* is one (dataset, depth, pretraining, dropout) combination. Its members are the selected
rows (``selected == True``: the best candidate by validation error, one per seed). As in Larochelle
et al. (JMLR 2009, Table 3; ICML 2007, Table 1) a cell shows the test error p and the half-width of
its 95% interval, 1.96 sqrt(p (1 - p) / n_test), here evaluated at p = the mean test error over
seeds. We add the spread across seeds (sample standard deviation, ddof = 1, and the number of
seeds), which the papers, with one seed per cell, could not report.

Choices (documented, see ``cell_stats``): a member that failed (``layerwise.metrics.failed_rows``:
diverged -- NaN/inf or a finite blow-up --, training error at chance, or a NaN error) is never
selected; a seed without a usable selected member is left out of the mean and counted in
``n_diverged``. A cell whose every member diverged has status ``"diverged"``; one whose every member
failed, some only by ending at chance, ``"failed"``; a cell with no rows at all is ``"missing"``
(never 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layerwise.metrics import binomial_ci95, failed_rows
from layerwise.report.errors import ReportError

#: Pretraining strategies in the papers' row order; unknown methods found in results follow, sorted.
METHODS = ("none", "ae", "dae", "rbm")
METHOD_LABELS = {
    "none": "none (random init)",
    "ae": "autoencoder",
    "dae": "denoising autoencoder",
    "rbm": "RBM",
}
CELL_KEYS = ["dataset", "depth", "pretraining", "dropout"]


def ci95(p: float, n: float) -> float:
    """Half-width of the normal-approximation binomial 95% interval: 1.96 sqrt(p (1 - p) / n)."""
    if not 0.0 <= p <= 1.0:
        raise ReportError(f"error rate must be in [0, 1]; got {p}")
    if n < 1:
        raise ReportError(f"n_test must be >= 1; got {n}")
    return float(binomial_ci95(p, n))


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def ordered_methods(found) -> list[str]:
    """The four known methods in paper order, then any others present, sorted."""
    found = set(found)
    return [m for m in METHODS if m in found] + sorted(found - set(METHODS))


@dataclass(frozen=True)
class CellStat:
    """Summary of one cell. mean/ci/std are fractions in [0, 1]; NaN unless status == "ok"."""

    status: str  # "ok" | "missing" | "diverged" | "failed"
    mean: float = math.nan
    ci: float = math.nan
    std: float = math.nan
    n_seeds: int = 0
    n_diverged: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def text(self) -> str:
        """'2.71% ± 0.14' (percent, two decimals), or the status word."""
        if not self.ok:
            return self.status
        return f"{100 * self.mean:.2f}% ± {100 * self.ci:.2f}"

    def spread_text(self) -> str:
        """'sd 0.05, n=2' (sd in percentage points), plus diverged members if any."""
        if self.status == "missing":
            return ""
        sd = "sd n/a" if math.isnan(self.std) else f"sd {100 * self.std:.2f}"
        word = "failed" if self.status == "failed" else "diverged"
        extra = f", {self.n_diverged} {word}" if self.n_diverged else ""
        return f"{sd}, n={self.n_seeds}{extra}"

    def overlaps(self, other: CellStat) -> bool:
        """True when both 95% intervals intersect (both cells must be ok)."""
        return abs(self.mean - other.mean) <= self.ci + other.ci


MISSING = CellStat("missing")


def cell_stats(results: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """Rows -> one row per cell (a group of ``keys``, default CELL_KEYS) that has any row.

    Columns: keys + status, mean, ci95, std, n_seeds, n_diverged, n_test. The mean is over the
    selected members that did not fail; ``n_diverged`` counts the seeds without one. A cell with
    rows but no usable selected member is "diverged" (every failed member diverged) or "failed";
    a cell whose rows are all unselected and unfailed is left out (shown as "missing").
    """
    keys = CELL_KEYS if keys is None else keys
    selected = results["selected"].astype(bool)
    # a test error matters only where selection chose the member (pruned members have none)
    bad_all = failed_rows(results) | (selected & ~np.isfinite(results["test_error"].astype(float)))
    rows = []
    for key, group in results.groupby(keys, sort=True):
        bad = bad_all.loc[group.index].to_numpy()
        chosen = selected.loc[group.index].to_numpy() & ~bad
        good = group["test_error"].to_numpy(dtype=float)[chosen]  # (n_seeds,) test errors
        if good.size == 0 and not bad.any():
            continue  # nothing selected and nothing failed: not a result, "missing"
        seeds = group["seed"].nunique() if "seed" in group else int(chosen.sum() + bad.sum())
        n_test = float(group["n_test"].median())
        row = dict(zip(keys, key, strict=True), n_seeds=int(good.size), n_test=n_test)
        row["n_diverged"] = max(int(seeds) - int(good.size), 0)
        if good.size == 0:
            row.update(status=_failure(group[bad]), mean=np.nan, ci95=np.nan, std=np.nan)
        else:
            mean = float(good.mean())
            std = float(good.std(ddof=1)) if good.size > 1 else np.nan
            row.update(status="ok", mean=mean, ci95=ci95(mean, n_test), std=std)
        rows.append(row)
    columns = keys + ["status", "mean", "ci95", "std", "n_seeds", "n_diverged", "n_test"]
    return pd.DataFrame(rows, columns=columns)


def _failure(failed: pd.DataFrame) -> str:
    """The status of a cell whose every member failed: "failed" when some ended at chance
    without diverging, else "diverged"."""
    if "fail_reason" not in failed:
        return "diverged"
    reasons = failed["fail_reason"].fillna("").astype(str).str.strip()
    return "failed" if (reasons == "chance").any() else "diverged"


class CellLookup:
    """Constant-time access to cells by key; absent keys give MISSING."""

    def __init__(self, stats: pd.DataFrame) -> None:
        self._cells: dict[tuple, CellStat] = {}
        self._n_test: dict[str, int] = {}
        for row in stats.itertuples(index=False):
            key = (row.dataset, int(row.depth), row.pretraining, bool(row.dropout))
            if math.isfinite(getattr(row, "n_test", math.nan)):
                self._n_test[row.dataset] = int(row.n_test)
            self._cells[key] = CellStat(
                row.status, row.mean, row.ci95, row.std, int(row.n_seeds), int(row.n_diverged)
            )

    def get(self, dataset: str, depth: int, pretraining: str, dropout: bool = False) -> CellStat:
        return self._cells.get((dataset, int(depth), pretraining, bool(dropout)), MISSING)

    def test_sizes(self, datasets) -> str:
        """The test images each interval is computed at: 'n_test = 10000 on every data set' or
        'n_test: a 50000, b 10000' ('' when no cell has a number)."""
        sizes = {ds: self._n_test[ds] for ds in datasets if ds in self._n_test}
        if not sizes:
            return ""
        if len(set(sizes.values())) == 1:
            return f"n_test = {next(iter(sizes.values()))} on every data set"
        return "n_test: " + ", ".join(f"{ds} {n}" for ds, n in sizes.items())

    def count(self, grid, status: str) -> int:
        """How many cells of the planned grid (report.tables.Grid) have ``status``."""
        return sum(
            self.get(ds, depth, method, dropout).status == status
            for ds in grid.datasets
            for depth in grid.depths
            for method in grid.methods
            for dropout in grid.dropouts
        )


def mark_best(cells: list[CellStat]) -> list[bool]:
    """Bold marks as in the papers: the lowest mean and every cell whose interval overlaps it."""
    ok = [c for c in cells if c.ok]
    if not ok:
        return [False] * len(cells)
    best = min(ok, key=lambda c: c.mean)
    return [c.ok and c.overlaps(best) for c in cells]
