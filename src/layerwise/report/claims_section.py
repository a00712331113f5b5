"""The report's claims section: one row per claim, right after the summary.

Rendered from the claims table of ``layerwise.report.claims.judge_claims`` (results/claims.csv):
verdict, effect with its 95% interval in the claim's unit (percentage points of error for the
paired claims), number of comparisons (for / against), and a link to the figure that shows it
when the report has that figure. ``claims_sentence`` is the summary's one sentence about it."""

from __future__ import annotations

import math

import pandas as pd

from layerwise.report.claims import LEFT_OUT, NOT_TESTED, PP
from layerwise.report.html import Section, esc, paragraph


def _number(value: float, unit: str) -> str:
    return f"{100 * value:+.2f}" if unit == PP else f"{value:+.3g}"


def effect_text(row) -> str:
    """'+1.23 pp [+0.80, +1.70]' in the claim's unit, or '' when not judged; an interval that
    could not be estimated reads 'no interval'."""
    if row["verdict"] == NOT_TESTED or not math.isfinite(float(row["effect"])):
        return ""
    unit = str(row.get("unit", PP) or PP)
    low, high = float(row["ci_low"]), float(row["ci_high"])
    interval = (f"[{_number(low, unit)}, {_number(high, unit)}]"
                if math.isfinite(low) and math.isfinite(high) else "(no interval)")  # fmt: skip
    return f"{_number(row['effect'], unit)} {unit} {interval}"


def _ids(table: pd.DataFrame, verdict: str) -> str:
    ids = [str(i) for i in table.loc[table["verdict"] == verdict, "id"]]
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + f" and {ids[-1]}"


def claims_sentence(table: pd.DataFrame) -> str:
    """One sentence: which claims this run supports, contradicts, leaves open or does not test."""
    parts = []
    for verdict, verb in (
        ("supported", "supports"),
        ("contradicted", "contradicts"),
        ("inconclusive", "is inconclusive on"),
        (NOT_TESTED, "does not test"),
    ):
        n = int((table["verdict"] == verdict).sum())
        if n:
            parts.append(f"{verb} claim{'s' if n > 1 else ''} {_ids(table, verdict)}")
    listed = "; ".join(parts[:-1]) + ("; and " if len(parts) > 1 else "") + parts[-1]
    return (f"Of the lectures' {len(table)} claims judged in the next section, this run "
            f"{listed}.")  # fmt: skip


def _row_html(row, figure_ids: set[str]) -> str:
    fig = str(row["figure"])
    link = f'<a href="#fig-{esc(fig)}">{esc(fig)}</a>' if fig in figure_ids else ""
    n = int(row["n_comparisons"])
    counts = f"{n} ({int(row['n_for'])} for, {int(row['n_against'])} against)" if n else "0"
    note = f'<br><span class="note">{esc(row["note"])}</span>' if row["note"] else ""
    cells = [
        f'<td class="text">{esc(row["id"])}</td>',
        f'<td class="text">{esc(row["statement"])}<br><span class="note">'
        f"{esc(row['measure'])}</span></td>",
        f'<td class="text verdict-{esc(str(row["verdict"]).replace(" ", "-"))}">'
        f"<strong>{esc(row['verdict'])}</strong>{note}</td>",
        f'<td class="value">{esc(effect_text(row))}</td>',
        f'<td class="value">{esc(counts)}</td>',
        f'<td class="text">{link}</td>',
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def claims_section(table: pd.DataFrame, figure_ids: set[str]) -> Section:
    """Section "claims": the claims table and the method note (the summary says the verdicts)."""
    head = "".join(
        f'<th class="{c}">{esc(t)}</th>'
        for t, c in (("Claim", "text"), ("Statement", "text"), ("Verdict", "text"),
                     ("Effect (95% CI)", "num"), ("Comparisons", "num"),
                     ("Figure", "text"))
    )  # fmt: skip
    body = "".join(_row_html(row, figure_ids) for _, row in table.iterrows())
    html_table = (
        '<table class="results claims" id="claims-table" data-key="claims">'
        "<caption><b>The lectures' claims, judged.</b> Effect: error of A minus error of B in "
        "percentage points (negative: A errs less), mean over comparisons; interval: mean of the "
        "comparisons' paired bootstrap bounds. Claims 5 and 6 use their own measures and units "
        "(negative supports the claim too).</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    method = (
        "Each comparison pairs two selected members of the same seed on the same test images: "
        "McNemar's exact test on the discordant images, pooled over seeds, Holm-adjusted within "
        "a claim; a verdict also needs every seed to agree in sign (docs/claims.md). Claim 5: "
        "t-tests over members and over (data set, seed) slopes, supported only when every depth "
        "and the trend are. Claims 6 and 6b: one comparison per code size, interval over test "
        "images from the stored per-digit errors. "
    )
    return Section(
        "claims",
        "Claims",
        [html_table, paragraph(method + LEFT_OUT, "note")],
    )  # fmt: skip
