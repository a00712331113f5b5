"""The report's claims section: one row per claim, then a heat map per claim, after the summary.

Rendered from results/claims.csv and results/claim_comparisons.csv, which the `claims` rule writes
(``layerwise.analysis.claims``; the protocol is docs/claims.md): verdict with the conditions where
the claim fails, effect with its 95% interval in the claim's unit, the primary comparisons (for /
against / underpowered, fewest seeds, power at the effect the lecture implies), and the figure.
``claims_sentence`` is the summary's plain-words account of the verdicts."""

from __future__ import annotations

import math

import pandas as pd

from layerwise.analysis.verdicts import EXCEPT, NOT_TESTED, UNDERPOWERED, VERDICTS
from layerwise.report.claims_figures import claim_heatmap
from layerwise.report.html import Section, esc, paragraph

BASELINE_WORDS = {"glorot": "Glorot-initialised", "fan-in": "fan-in-initialised (the papers' era)"}


def _number(value: float) -> str:
    return f"{value:+.3g}" if abs(value) < 0.01 else f"{value:+.2f}"


def effect_text(row) -> str:
    """'+1.23 pp [+0.80, +1.70]' in the claim's unit, or '' when not judged; an interval that
    could not be estimated reads 'no interval'."""
    if row["verdict"] == NOT_TESTED or not math.isfinite(float(row["effect"])):
        return ""
    low, high = float(row["ci_low"]), float(row["ci_high"])
    interval = (f"[{_number(low)}, {_number(high)}]"
                if math.isfinite(low) and math.isfinite(high) else "(no interval)")  # fmt: skip
    return f"{_number(float(row['effect']))} {row['unit']} {interval}"


def _verdict_words(row, brief: bool = False) -> str:
    """The verdict; an underpowered one with its power (brief: no decimals, for the summary)."""
    verdict = str(row["verdict"])
    if verdict == UNDERPOWERED and math.isfinite(float(row["power"])):
        seeds, power = int(row["min_seeds"]), float(row["power"])
        if brief:
            return f"underpowered (power {100 * power:.0f}% with {seeds} seeds)"
        return (f"underpowered (power {power:.2f} to detect {float(row['delta']):g} "
                f"{row['unit']} with {seeds} seeds)")  # fmt: skip
    return verdict


def claims_sentence(table: pd.DataFrame) -> str:
    """Plain words: what the run says about each claim, and against which baseline."""
    parts = []
    for row in table.to_dict("records"):
        words = _verdict_words(row, brief=True)
        exceptions = str(row.get("exceptions") or "")
        if row["verdict"] == EXCEPT:
            words = f"supported except {exceptions}"
        elif exceptions and row["verdict"] != NOT_TESTED:
            words += f" ({exceptions})"
        parts.append(f"claim {row['id']} {words}")
    baselines = {str(b) for b in table.get("baseline", pd.Series(dtype=str)) if str(b) not in
                 ("", "nan")}  # fmt: skip
    against = (" Random initialisation here means "
               + " and ".join(BASELINE_WORDS.get(b, b) for b in sorted(baselines)) + " nets.")
    return (f"Of the lectures' {len(table)} claims, judged in the next section by their written "
            f"protocol over training seeds: {'; '.join(parts)}."
            + (against if baselines else ""))  # fmt: skip


def _row_html(row, figure_ids: set[str]) -> str:
    links = [f for f in (str(row["figure"]), f"claim{row['id']}_heatmap") if f in figure_ids]
    link = " ".join(f'<a href="#fig-{esc(f)}">{esc(f)}</a>' for f in links)
    n = int(row["n_primary"])
    counts = (f"{n}: {int(row['n_for'])} for, {int(row['n_against'])} against, "
              f"{int(row['n_underpowered'])} underpowered; >= {int(row['min_seeds'])} seeds, "
              f"power {float(row['power']):.2f} at {float(row['delta']):g} {row['unit']}"
              if n else "0")  # fmt: skip
    extra = [str(row[k]) for k in ("exceptions", "note") if str(row[k] or "") not in ("", "nan")]
    note = "".join(f'<br><span class="note">{esc(x)}</span>' for x in extra)
    cells = [
        f'<td class="text">{esc(row["id"])}</td>',
        f'<td class="text">{esc(row["statement"])}<br><span class="note">'
        f"{esc(row['measure'])}</span></td>",
        f'<td class="text verdict-{esc(str(row["verdict"]).replace(" ", "-"))}">'
        f"<strong>{esc(_verdict_words(row))}</strong>{note}</td>",
        f'<td class="value">{esc(effect_text(row))}</td>',
        f'<td class="value">{esc(counts)}</td>',
        f'<td class="text">{link}</td>',
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def claims_section(table: pd.DataFrame, comparisons: pd.DataFrame, figure_ids: set[str]) -> Section:
    """Section "claims": the claims table, the method note and a heat map per claim."""
    unknown = sorted(set(table["verdict"]) - set(VERDICTS))
    if unknown:
        raise ValueError(f"claims.csv holds unknown verdicts {unknown}; known: {VERDICTS}")
    rows = table.to_dict("records")
    maps = [claim_heatmap(comparisons, str(r["id"]), str(r["unit"])) for r in rows]
    maps = [m for m in maps if m is not None]
    ids = figure_ids | {m.name for m in maps}
    head = "".join(
        f'<th class="{c}">{esc(t)}</th>'
        for t, c in (("Claim", "text"), ("Statement", "text"), ("Verdict", "text"),
                     ("Effect (95% CI)", "num"), ("Primary comparisons", "num"),
                     ("Figures", "text"))
    )  # fmt: skip
    body = "".join(_row_html(row, ids) for _, row in table.iterrows())
    html_table = (
        '<table class="results claims" id="claims-table" data-key="claims">'
        "<caption><b>The lectures' claims, judged.</b> Effect: A minus B in the claim's unit "
        "(pp: percentage points of error; negative: A lower), mean over the primary comparisons, "
        "with the mean of their 95% t-interval bounds over training seeds.</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    method = (
        "Each claim has a written protocol (docs/claims.md): one primary comparison per data set "
        "(and method, where it names several) decides the verdict; secondary comparisons only "
        "name further exceptions. A comparison pairs the selected nets of each training seed "
        "(the unit of replication is a trained net) and is tested with Student's t over seeds; "
        "Holm within a claim's primary comparisons; 'for' and 'against' use the same test, the "
        "side of the effect decides. Supported: every primary comparison for; supported except: "
        "most for, the others named; contradicted: most against; underpowered: most show no "
        "effect and could not have detected the effect the lecture implies (power below 0.8); "
        "mixed: the rest. McNemar's test on the test images stays in the comparisons table "
        "(results/claim_comparisons.csv) as the per-seed check."
    )
    return Section("claims", "Claims", [html_table, paragraph(method, "note"), *maps])
