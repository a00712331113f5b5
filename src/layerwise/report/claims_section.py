"""The report's claims section: a short summary, then one row per claim (issue 16).

Rendered from the claims table of ``layerwise.report.claims.judge_claims`` (results/claims.csv):
verdict, effect with its 95% interval in percentage points, number of comparisons (for / against),
and a link to the figure that shows it when the report has that figure."""

from __future__ import annotations

import math

import pandas as pd

from layerwise.report.claims import LEFT_OUT, NOT_TESTED
from layerwise.report.html import Section, esc, paragraph

MAX_SUMMARY_SENTENCES = 8


def _pp(value: float) -> str:
    return f"{100 * value:+.2f}"


def effect_text(row) -> str:
    """'+1.23 pp [+0.80, +1.70]' (percentage points of error), or '' when not judged."""
    if row["verdict"] == NOT_TESTED or not math.isfinite(float(row["effect"])):
        return ""
    return f"{_pp(row['effect'])} pp [{_pp(row['ci_low'])}, {_pp(row['ci_high'])}]"


def summary_sentences(table: pd.DataFrame) -> list[str]:
    """At most MAX_SUMMARY_SENTENCES sentences: the counts, then each judged claim's verdict."""
    counts = table["verdict"].value_counts()
    judged = table[table["verdict"] != NOT_TESTED]
    head = (
        f"This run judges {len(judged)} of {len(table)} claims of the lectures with paired tests "
        f"on the same test images: {int(counts.get('supported', 0))} supported, "
        f"{int(counts.get('contradicted', 0))} contradicted, "
        f"{int(counts.get('inconclusive', 0))} inconclusive; "
        f"{int(counts.get(NOT_TESTED, 0))} not tested by this profile."
    )
    out = [head]
    for _, row in judged.iterrows():
        out.append(
            f"Claim {row['id']} ({row['statement'][0].lower()}{row['statement'][1:]}) is "
            f"{row['verdict']}: effect {effect_text(row)} over {int(row['n_comparisons'])} "
            "comparisons."
        )
    return out[:MAX_SUMMARY_SENTENCES]


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
    """Section "claims": summary paragraph, the claims table, the method note."""
    head = "".join(
        f'<th class="{c}">{esc(t)}</th>'
        for t, c in (("Claim", "text"), ("Statement", "text"), ("Verdict", "text"),
                     ("Effect (pp, 95% CI)", "num"), ("Comparisons", "num"),
                     ("Figure", "text"))
    )  # fmt: skip
    body = "".join(_row_html(row, figure_ids) for _, row in table.iterrows())
    html_table = (
        '<table class="results claims" id="claims-table" data-key="claims">'
        "<caption><b>The lectures' claims, judged.</b> Effect: error of A minus error of B in "
        "percentage points (negative: A errs less), mean over comparisons; interval: mean of the "
        "comparisons' paired bootstrap bounds.</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    method = (
        "Each comparison pairs two selected members of the same seed on the same test images: "
        "McNemar's exact test on the discordant images, pooled over seeds, Holm-adjusted within "
        "a claim; a verdict also needs every seed to agree in sign (docs/claims.md). "
    )
    return Section(
        "claims",
        "Claims",
        [paragraph(" ".join(summary_sentences(table)), "headline"), html_table,
         paragraph(method + LEFT_OUT, "note")],
    )  # fmt: skip
