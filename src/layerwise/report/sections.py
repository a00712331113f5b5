"""The report's sections, in order: summary, tables, ours vs published, figures, provenance.

Adding a section is one function ``f(ctx: ReportContext) -> Section | None`` appended to
``SECTIONS`` (None leaves it out). A study other than the depth table (layerwise.studies) adds its
section to ``STUDY_SECTIONS``: study name -> ``f(inputs) -> Section | None``, called with the files
the report rule lists for that study; those sections go before the provenance section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from layerwise.report import figures, images
from layerwise.report.baselines_section import baselines_section, card_notes
from layerwise.report.cells import CellLookup
from layerwise.report.compare import compare_tables
from layerwise.report.deep_autoencoder_section import autoencoder_section
from layerwise.report.dropout_section import dropout_study_section
from layerwise.report.html import Section, bullet_list, esc, key_value_table, paragraph
from layerwise.report.summary import build_summary, reproduction_sentences
from layerwise.report.tables import Grid, depth_table, dropout_table, table_2007

UNKNOWN = "unknown"


@dataclass
class ReportContext:
    """Everything a section may read; built once by build.py."""

    results: pd.DataFrame  # validated results.csv
    history: pd.DataFrame  # history of the selected members, cell keys attached
    stats: pd.DataFrame  # cells.cell_stats(results)
    lookup: CellLookup
    grid: Grid
    compared: pd.DataFrame  # compare.compare_published(...)
    provenance: dict
    data_dir: Path
    filter_files: list[Path]
    grad_epochs: int = 5
    baselines: pd.DataFrame | None = None  # baselines_section.compare_baselines(...)
    claims: pd.DataFrame | None = None  # claims.judge_claims(...) table, for the summary


def summary_section(ctx: ReportContext) -> Section:
    """At most summary.MAX_SENTENCES sentences in one paragraph; the tables hold every cell."""
    summary = build_summary(ctx.lookup, ctx.grid, ctx.compared, ctx.claims)
    return Section("summary", "Summary", [paragraph(" ".join(summary.headline), "headline")])


def tables_section(ctx: ReportContext) -> Section:
    counts = ctx.stats["status"].value_counts()
    n_cells = len(ctx.grid.datasets) * len(ctx.grid.depths) * len(ctx.grid.methods)
    n_cells *= len(ctx.grid.dropouts)
    n_missing = n_cells - len(ctx.stats)
    failed = int(counts.get("failed", 0))
    note = (
        f"{int(counts.get('ok', 0))} cells finished, {int(counts.get('diverged', 0))} "
        f"diverged in every member, "
        + (f"{failed} failed in every member (training error at chance), " if failed else "")
        + f"{n_missing} missing, of {n_cells} in the grid."
    )
    blocks = [
        paragraph(note, "note"),
        depth_table(ctx.lookup, ctx.grid),
        table_2007(ctx.lookup, ctx.grid),
    ]
    if True in ctx.grid.dropouts:
        blocks.append(dropout_table(ctx.lookup, ctx.grid))
    return Section("tables", "The papers' tables", blocks)


def published_section(ctx: ReportContext) -> Section:
    head, _ = reproduction_sentences(ctx.compared)
    scatter = figures.ours_vs_published(ctx.compared)
    return Section("published", "Ours versus published",
                   [paragraph(head, "headline"), *([scatter] if scatter else []),
                    *compare_tables(ctx.compared)])  # fmt: skip


def data_section(ctx: ReportContext) -> Section | None:
    """Baseline classifiers of the data sets beside the published ones (None: not computed)."""
    return baselines_section(ctx.baselines)


def figures_section(ctx: ReportContext) -> Section:
    made = [
        ("Test error against depth", figures.error_vs_depth(ctx.stats, ctx.grid)),
        ("Validation curves", figures.validation_curves(ctx.history, ctx.grid)),
        ("Spread across seeds", figures.seed_spread(ctx.results, ctx.grid)),
        (
            "Gradient norm by layer",
            figures.gradient_norms(ctx.history, ctx.grid, n_epochs=ctx.grad_epochs),
        ),
        ("Train versus test error", figures.bias_variance(ctx.results, ctx.grid)),
    ]
    blocks: list = []
    for title, fig in made:
        blocks.append(f"<h3>{esc(title)}</h3>")
        blocks.append(fig if fig is not None else paragraph("No data for this figure.", "note"))
    filters = images.filter_figures(ctx.filter_files, ctx.results, ctx.grid)
    blocks.append("<h3>First-layer filters</h3>")
    blocks += filters or [paragraph("No filters.npz found under the pretraining folder.", "note")]
    samples, notes = images.sample_figures(ctx.data_dir, ctx.grid, card_notes(ctx.baselines))
    blocks.append("<h3>Data set samples</h3>")
    blocks += samples + ([bullet_list(notes)] if notes else [])
    return Section("figures", "Figures", blocks)


def _text(value) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def provenance_section(ctx: ReportContext) -> Section:
    prov = ctx.provenance
    pairs = [
        ("git commit", _text(prov.get("git_commit"))),
        ("device", _text(prov.get("device"))),
        ("jobs", _text(prov.get("n_jobs"))),
        ("runs", _text(prov.get("n_runs"))),
        ("tracking URI", _text(prov.get("tracking_uri"))),
        ("started", _text(prov.get("started"))),
        ("finished", _text(prov.get("finished"))),
    ]
    blocks = [key_value_table(pairs)]
    stages = prov.get("stage_wall_time_s")
    blocks.append("<h3>Wall time per stage</h3>")
    blocks.append(
        key_value_table([(k, f"{float(v):.1f} s") for k, v in stages.items()])
        if isinstance(stages, dict) and stages
        else paragraph(UNKNOWN)
    )
    versions = prov.get("versions")
    blocks.append("<h3>Package versions</h3>")
    blocks.append(
        key_value_table(sorted((str(k), _text(v)) for k, v in versions.items()))
        if isinstance(versions, dict) and versions
        else paragraph(UNKNOWN)
    )
    config = prov.get("config")
    text = yaml.safe_dump(config, sort_keys=False) if config is not None else UNKNOWN
    blocks += ["<h3>Configuration</h3>", f"<pre>{esc(text)}</pre>"]
    return Section("provenance", "Provenance", blocks)


SECTIONS = [summary_section, tables_section, published_section, data_section, figures_section,
            provenance_section]  # fmt: skip


#: Study name (layerwise.studies) -> its section, built from the files the report rule lists.
STUDY_SECTIONS = {
    "dropout_study": dropout_study_section,
    "deep_autoencoder": autoencoder_section,
}
