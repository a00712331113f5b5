"""The report's summary: at most MAX_SENTENCES sentences generated from the numbers, never
hard-coded findings (no per-cell list: the tables hold every cell).

One sentence each: the claims' verdicts (the claims section comes next); and three questions of
Larochelle et al. (JMLR 2009, Sections 4-5): does pretraining beat random initialisation at equal
depth (counted over data set x depth x method); does depth help (counted over data set x method);
how do the published cells this run covers compare (the reproduction's rule,
``layerwise.analysis.reproduction_rule``: consistent / better / worse, counted over distinct cells,
the rule stated beside the counts); plus, when there are any, the cells that have no number.
"Beats" means the 95% intervals are disjoint and ours is lower; overlapping intervals are a tie.
All comparisons use the dropout-off cells, as the papers did."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from layerwise.analysis.reproduction_rule import VERDICTS, rule_sentence, verdict_counts
from layerwise.report.cells import CellLookup, CellStat
from layerwise.report.claims_section import claims_sentence
from layerwise.report.tables import Grid

#: The summary at the top of the report stays short: a reader gets the findings at a glance.
MAX_SENTENCES = 8


def _cap(text: str) -> str:
    """Capitalise the first letter only ('RBM pretraining' stays as is)."""
    return text[:1].upper() + text[1:]


@dataclass
class Summary:
    """The summary's sentences, in reading order (at most MAX_SENTENCES)."""

    headline: list[str] = field(default_factory=list)


def compare_cells(a: CellStat, b: CellStat) -> str:
    """'beats' / 'is worse than' when intervals are disjoint, 'ties with' when they overlap."""
    if a.overlaps(b):
        return "ties with"
    return "beats" if a.mean < b.mean else "is worse than"


def pretraining_counts(lookup: CellLookup, grid: Grid) -> dict[str, int]:
    """How often each pretraining method beats / ties with / is worse than random initialisation at
    equal depth, over data sets x depths x methods; "n/a" when either cell has no number."""
    counts = {"beats": 0, "ties with": 0, "is worse than": 0, "n/a": 0}
    for ds in grid.datasets:
        for depth in grid.depths:
            base = lookup.get(ds, depth, "none")
            for method in (m for m in grid.methods if m != "none"):
                cell = lookup.get(ds, depth, method)
                counts[compare_cells(cell, base) if cell.ok and base.ok else "n/a"] += 1
    return counts


def depth_effect(lookup: CellLookup, ds: str, method: str, depths: list[int]) -> str:
    """'helps' (the best depth beats depth 1, disjoint intervals), 'does not help' (depth 1 is best,
    or the best ties with it) or 'n/a' (depth 1 or every other depth has no number)."""
    ok = {d: c for d in depths if (c := lookup.get(ds, d, method)).ok}
    if 1 not in ok or len(ok) < 2:
        return "n/a"
    best = min(ok, key=lambda d: ok[d].mean)
    return "helps" if best != 1 and not ok[best].overlaps(ok[1]) else "does not help"


def depth_headline(lookup: CellLookup, grid: Grid) -> str:
    """One sentence: for how many (data set, method) pairs a deeper net beats depth 1."""
    by_method = {m: [depth_effect(lookup, ds, m, grid.depths) for ds in grid.datasets]
                 for m in grid.methods}  # fmt: skip
    judged = {m: [e for e in v if e != "n/a"] for m, v in by_method.items()}
    n = sum(len(v) for v in judged.values())
    if n == 0:
        return "The effect of depth cannot be judged (too few finished depths)."
    helps = {m: v.count("helps") for m, v in judged.items() if v}
    per = ", ".join(f"{k} of {len(judged[m])} {_short(m)}" for m, k in helps.items())
    return (f"A net deeper than one hidden layer beats depth 1 (disjoint intervals) in "
            f"{sum(helps.values())} of {n} (data set, method) pairs: {per}.")  # fmt: skip


def _short(method: str) -> str:
    return "without pretraining" if method == "none" else f"with {method}"


def reproduction_sentences(compared: pd.DataFrame) -> tuple[str, list[str]]:
    """Headline on the published cells (``compare.compare_published``: the rule's verdicts),
    counted over distinct cells with the rule in the same headline, and one line per counted cell
    that is not consistent."""
    if compared.empty:
        return "No published cell is covered by this run.", []
    counts = verdict_counts(compared)
    n = sum(counts.values())
    rows = f" ({len(compared)} published rows: a net compared with two papers counts once)"
    absent = n - sum(counts[v] for v in VERDICTS)
    head = (
        f"Of the {n} distinct published cells this run covers{rows if len(compared) > n else ''}, "
        f"ours is consistent with published in {counts['consistent']}, better in "
        f"{counts['better']} and worse in {counts['worse']}"
        + (f"; {absent} {'has' if absent == 1 else 'have'} no finished result" if absent else "")
        + ". "
        + rule_sentence()
    )
    misses = []
    for r in compared[compared["counted"] & (compared["verdict"] != "consistent")].itertuples():
        label = " (unverified)" if r.unverified else ""
        if r.status != "ok":
            misses.append(
                f"Not reproduced: {r.dataset} {r.model} depth {r.depth}{label}: "
                f"our cell is {r.status}."
            )
            continue
        misses.append(
            f"Not reproduced: {r.dataset} {r.model} depth {r.depth}{label}: ours "
            f"{r.ours_pct:.2f}% ± {r.ours_hw_pct:.2f} vs paper {r.paper_pct:.2f}% ± "
            f"{r.paper_ci_pct:.2f}, ours - paper {r.diff_pct:+.2f} ± {r.diff_hw_pct:.2f} "
            f"({r.verdict})."
        )
    return head, misses


def failure_sentence(lookup: CellLookup, grid: Grid) -> str:
    """'N cells diverged in every member; M failed ...' or '' when every cell has a number."""
    diverged, failed = lookup.count(grid, "diverged"), lookup.count(grid, "failed")
    if not (diverged or failed):
        return ""
    parts = []
    if diverged:
        parts.append(f"{diverged} cell{'s' if diverged != 1 else ''} diverged in every member")
    if failed:
        parts.append(
            f"{failed} cell{'s' if failed != 1 else ''} failed in every member (training "
            f"error at chance or diverged)"
        )
    return _cap("; ".join(parts)) + ": they have no number and are not compared."


def build_summary(
    lookup: CellLookup, grid: Grid, compared: pd.DataFrame, claims: pd.DataFrame | None = None
) -> Summary:
    """The summary's sentences: claims (when ``claims``, the claims table, is given), pretraining
    against random initialisation, depth, published cells, and the cells without a number last."""
    summary = Summary()
    if claims is not None and len(claims):
        summary.headline.append(claims_sentence(claims))
    counts = pretraining_counts(lookup, grid)
    n = counts["beats"] + counts["ties with"] + counts["is worse than"]
    summary.headline.append(
        f"Across {n} comparison{'s' if n != 1 else ''} at equal depth, pretraining beats "
        f"random initialisation in "
        f"{counts['beats']}, ties in {counts['ties with']} and is worse in "
        f"{counts['is worse than']}"
        + (f"; {counts['n/a']} cannot be compared." if counts["n/a"] else ".")
    )
    summary.headline.append(depth_headline(lookup, grid))
    summary.headline.append(reproduction_sentences(compared)[0])
    failures = failure_sentence(lookup, grid)
    if failures:
        summary.headline.append(failures)
    if len(summary.headline) > MAX_SENTENCES:  # a guard for whoever adds a sentence
        raise AssertionError(f"the summary has {len(summary.headline)} sentences; at most "
                             f"{MAX_SENTENCES}")  # fmt: skip
    return summary
