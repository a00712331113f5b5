"""The reproduction's rule: is our cell consistent with the published one, better, or worse?

Per cell, the difference d = ours - published (percentage points) gets a 95% interval that holds
both sources of uncertainty we can measure:

- ours: the larger of the t interval over seeds, t(0.975, n - 1) s / sqrt(n) with s the sample
  standard deviation of the seeds' test errors, and the binomial half-width at our mean and test
  size, 1.96 sqrt(p (1 - p) / n_test). With one seed (or no spread recorded) only the binomial one;
- published: the paper's printed binomial half-width (one seed per cell: no seed variance known);
- combined as independent estimates: h = sqrt(h_ours^2 + h_published^2).

Verdict: **consistent** when [d - h, d + h] contains 0 or lies within +- the equivalence margin
(a fraction of the published error, ``MARGIN``); otherwise **better** (the interval below 0) or
**worse** (above). The same judgement with ``low``/``high`` words is used for the papers' effects
(``layerwise.report.reproduction_effects``).

Distinct cells: one of our nets may be compared with several published numbers (the 2007 rows of
the MNIST sets are the same nets as the 2009 depth-table cells at depth 1 and 3). Counts are over
distinct nets: each is counted once, against its verified reference where it has one (else the
first listed), the other rows are shown with ``counted = False``.

Imports only numpy, scipy, pandas and the standard library (no torch, no mlflow).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

#: Equivalence margin, as a fraction of the published test error: a cell whose whole interval lies
#: within +- MARGIN x published is consistent even if the interval excludes 0. 5% is below every
#: pretraining gain of the 2009 depth table relative to its level (the smallest: the autoencoder
#: at depth 1 on mnist-basic, 0.27 of 4.14 points, 6.5%), so the margin cannot hide such an effect.
MARGIN = 0.05
Z95 = 1.96
VERDICTS = ("consistent", "better", "worse")
#: Our cell's identity: rows with the same key are one net compared with several references.
DISTINCT_KEY = ["piece", "dataset", "pretraining", "depth"]


def t_half_width(std: float, n: float) -> float:
    """95% t half-width of a mean over n seeds with sample std ``std``; NaN if n < 2 or no std."""
    if not n or n < 2 or std is None or not math.isfinite(std):
        return math.nan
    return float(student_t.ppf(0.975, n - 1) * std / math.sqrt(n))


def welch_half_width(std_a: float, n_a: float, std_b: float, n_b: float) -> float:
    """95% half-width of a difference of two means over seeds (Welch's t); NaN if either n < 2."""
    if min(n_a or 0, n_b or 0) < 2 or not (math.isfinite(std_a) and math.isfinite(std_b)):
        return math.nan
    va, vb = std_a**2 / n_a, std_b**2 / n_b
    se = math.sqrt(va + vb)
    if se == 0.0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    return float(student_t.ppf(0.975, df) * se)


def binomial_half_width(p: float, n_test: float) -> float:
    """1.96 sqrt(p (1 - p) / n_test) for p a fraction; NaN when n_test is unknown."""
    if not n_test or not math.isfinite(n_test) or not math.isfinite(p):
        return math.nan
    return Z95 * math.sqrt(p * (1.0 - p) / n_test)


def larger(*half_widths: float) -> float:
    """The largest finite half-width (NaN if none is finite)."""
    finite = [h for h in half_widths if h is not None and math.isfinite(h)]
    return max(finite) if finite else math.nan


def judge(diff: float, half_width: float, margin: float, words=("better", "worse")) -> str:
    """'consistent' if [diff +- half_width] contains 0 or lies within +-margin, else words[0] when
    the interval is below 0, words[1] when above. Same units for all three numbers."""
    lo, hi = diff - half_width, diff + half_width
    if lo <= 0.0 <= hi or (-margin <= lo and hi <= margin):
        return "consistent"
    return words[0] if hi < 0.0 else words[1]


def rule_sentence(margin: float = MARGIN) -> str:
    """The rule in one sentence, to print beside every count."""
    return (
        "Rule: per distinct cell, ours - published with a 95% interval combining ours (the larger "
        "of the t interval over seeds and the binomial one) and the published binomial one; "
        f"consistent if it contains 0 or lies within +-{100 * margin:g}% of the published error, "
        "else better (below 0) or worse (above)."
    )


def judge_cells(table: pd.DataFrame, margin: float = MARGIN) -> pd.DataFrame:
    """The stacked table (percent; needs ours_pct, ours_ci_pct, ours_std_pct, n_seeds, paper_pct,
    paper_ci_pct) with the rule's columns: ours_t_pct (t half-width over seeds), ours_hw_pct (the
    larger of that and the binomial ours_ci_pct), diff_pct, diff_hw_pct, verdict (cells without a
    number keep their status word) and counted (the row that counts for its distinct cell)."""
    out = table.copy()
    out["ours_t_pct"] = [t_half_width(s, n) for s, n in zip(out["ours_std_pct"], out["n_seeds"],
                                                            strict=True)]  # fmt: skip
    out["ours_hw_pct"] = [larger(t, b) for t, b in zip(out["ours_t_pct"], out["ours_ci_pct"],
                                                       strict=True)]  # fmt: skip
    out["diff_pct"] = out["ours_pct"] - out["paper_pct"]
    out["diff_hw_pct"] = np.sqrt(out["ours_hw_pct"] ** 2 + out["paper_ci_pct"] ** 2)
    verdicts = []
    for r in out.itertuples(index=False):
        if not math.isfinite(r.ours_pct):
            verdicts.append(r.status if isinstance(r.status, str) else "missing")
            continue
        verdicts.append(judge(r.diff_pct, r.diff_hw_pct, margin * r.paper_pct))
    out["verdict"] = verdicts
    out["counted"] = counted_rows(out)
    return out


def counted_rows(table: pd.DataFrame) -> pd.Series:
    """True for the one row per distinct cell (``DISTINCT_KEY``) that counts: its verified
    reference if it has one, else its first row."""
    order = table.assign(_row=range(len(table)), _rank=table["unverified"].astype(bool))
    first = order.sort_values(["_rank", "_row"], kind="stable").drop_duplicates(DISTINCT_KEY)
    return pd.Series(table.index.isin(first.index), index=table.index)


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Verdicts over the counted rows: consistent / better / worse, then any status words
    (cells without a number), in that order."""
    verdicts = table.loc[table["counted"], "verdict"]
    counts = {v: int((verdicts == v).sum()) for v in VERDICTS}
    for other in sorted(set(verdicts) - set(VERDICTS)):
        counts[other] = int((verdicts == other).sum())
    return counts


def counts_line(table: pd.DataFrame, margin: float = MARGIN, label: str = "") -> str:
    """'<label> counts over N distinct cells: a consistent, b better, c worse. <rule>'"""
    counts = verdict_counts(table)
    n = sum(counts.values())
    words = ", ".join(f"{k} {v}" for k, v in counts.items())
    head = f"{label.capitalize()} counts" if label else "Counts"
    return f"{head} over {n} distinct cells: {words}. {rule_sentence(margin)}"
