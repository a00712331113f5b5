"""The report's summary: sentences generated from the numbers, never hard-coded findings.

Three questions of Larochelle et al. (JMLR 2009, Sections 4-5): does each pretraining method beat
random initialisation at equal depth; does depth help (with and without pretraining); how many
published cells does this run reproduce. "Beats" means the 95% intervals are disjoint and ours is
lower; overlapping intervals are a tie. All comparisons use the dropout-off cells, as the papers
did."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from layerwise.report.cells import CellLookup, CellStat
from layerwise.report.tables import Grid

NAMES = {
    "none": "random initialisation",
    "ae": "autoencoder pretraining",
    "dae": "denoising autoencoder pretraining",
    "rbm": "RBM pretraining",
}


def _name(method: str) -> str:
    return NAMES.get(method, f"{method} pretraining")


def _cap(text: str) -> str:
    """Capitalise the first letter only ('RBM pretraining' stays as is)."""
    return text[:1].upper() + text[1:]


@dataclass
class Summary:
    """Headline sentences plus, per topic, a list of detail sentences."""

    headline: list[str] = field(default_factory=list)
    details: dict[str, list[str]] = field(default_factory=dict)


def compare_cells(a: CellStat, b: CellStat) -> str:
    """'beats' / 'is worse than' when intervals are disjoint, 'ties with' when they overlap."""
    if a.overlaps(b):
        return "ties with"
    return "beats" if a.mean < b.mean else "is worse than"


def pretraining_sentences(lookup: CellLookup, grid: Grid) -> tuple[list[str], dict[str, int]]:
    """One sentence per (data set, depth, pretraining method) against random init at that depth."""
    sentences, counts = [], {"beats": 0, "ties with": 0, "is worse than": 0, "n/a": 0}
    for ds in grid.datasets:
        for depth in grid.depths:
            base = lookup.get(ds, depth, "none")
            for method in (m for m in grid.methods if m != "none"):
                cell = lookup.get(ds, depth, method)
                if not (cell.ok and base.ok):
                    which = "random init" if not base.ok else method
                    what = base.status if not base.ok else cell.status
                    sentences.append(
                        f"{_cap(_name(method))} at depth {depth} on {ds} cannot be "
                        f"compared: the {which} cell is {what}."
                    )
                    counts["n/a"] += 1
                    continue
                word = compare_cells(cell, base)
                counts[word] += 1
                sentences.append(
                    f"{_cap(_name(method))} {word} random initialisation at depth {depth} "
                    f"on {ds}: {cell.text()} vs {base.text()}."
                )
    return sentences, counts


def depth_sentence(lookup: CellLookup, ds: str, method: str, depths: list[int]) -> str:
    """Does the best depth beat depth 1 (disjoint intervals) for this method and data set?"""
    who = "without pretraining" if method == "none" else f"with {_name(method)}"
    cells = {d: lookup.get(ds, d, method) for d in depths}
    ok = {d: c for d, c in cells.items() if c.ok}
    if 1 not in ok or len(ok) < 2:
        return f"On {ds} {who}, the effect of depth cannot be judged (too few finished depths)."
    best = min(ok, key=lambda d: ok[d].mean)
    if best == 1:
        return f"On {ds} {who}, depth does not help: depth 1 is best ({ok[1].text()})."
    verb = "ties with" if ok[best].overlaps(ok[1]) else "beats"
    helps = "does not help" if verb == "ties with" else "helps"
    return (
        f"On {ds} {who}, depth {helps}: depth {best} ({ok[best].text()}) {verb} "
        f"depth 1 ({ok[1].text()})."
    )


def reproduction_sentences(compared: pd.DataFrame) -> tuple[str, list[str]]:
    """Headline on published cells reproduced (within intervals) and one line per miss."""
    if compared.empty:
        return "No published cell is covered by this run.", []
    done = compared[compared["status"] == "ok"]
    within = int((done["verdict"] == "within intervals").sum())
    better = int((done["verdict"] == "better").sum())
    worse = int((done["verdict"] == "worse").sum())
    absent = len(compared) - len(done)
    head = (
        f"We reproduce {within} of the {len(compared)} published cells this run covers "
        f"(intervals overlap); {better} are better than published, {worse} worse"
        + (f", {absent} have no finished result." if absent else ".")
    )
    misses = []
    for r in compared[compared["verdict"] != "within intervals"].itertuples(index=False):
        label = " (unverified)" if r.unverified else ""
        if r.status != "ok":
            misses.append(
                f"Not reproduced: {r.dataset} {r.model} depth {r.depth}{label}: "
                f"our cell is {r.status}."
            )
            continue
        misses.append(
            f"Not reproduced: {r.dataset} {r.model} depth {r.depth}{label}: ours "
            f"{r.ours_pct:.2f}% ± {r.ours_ci_pct:.2f} vs paper {r.paper_pct:.2f}% ± "
            f"{r.paper_ci_pct:.2f} ({r.verdict})."
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


def build_summary(lookup: CellLookup, grid: Grid, compared: pd.DataFrame) -> Summary:
    """All three questions as a Summary (headline first, details by topic)."""
    summary = Summary()
    pre, counts = pretraining_sentences(lookup, grid)
    n = counts["beats"] + counts["ties with"] + counts["is worse than"]
    summary.headline.append(
        f"Across {n} comparisons at equal depth, pretraining beats random initialisation in "
        f"{counts['beats']}, ties in {counts['ties with']} and is worse in "
        f"{counts['is worse than']}"
        + (f"; {counts['n/a']} cannot be compared." if counts["n/a"] else ".")
    )
    head, misses = reproduction_sentences(compared)
    summary.headline.append(head)
    failures = failure_sentence(lookup, grid)
    if failures:
        summary.headline.append(failures)
    summary.details["Pretraining versus random initialisation"] = pre
    summary.details["Does depth help?"] = [
        depth_sentence(lookup, ds, m, grid.depths) for ds in grid.datasets for m in grid.methods
    ]
    summary.details["Published cells not reproduced"] = misses
    return summary
