"""Entry point of the report stage: files of a finished (or partial) run -> HTML, PDF, PNGs, CSVs.

Called by the Snakemake rule ``report`` (workflow/rules/report.smk) through one adapter. Reads only
files (docs/architecture.md, "Files on disk"); never imports torch or mlflow.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from layerwise import files
from layerwise.analysis.claims import selected_history
from layerwise.report.baselines_section import compare_baselines, read_baselines
from layerwise.report.cells import CellLookup, cell_stats, ordered_methods
from layerwise.report.claims_section import claims_section
from layerwise.report.compare import compare_published
from layerwise.report.html import Section, render_document
from layerwise.report.inputs import (
    load_claims,
    load_history,
    load_provenance,
    load_reference,
    load_results,
)
from layerwise.report.pdf import write_pdf
from layerwise.report.sections import SECTIONS, STUDY_SECTIONS, ReportContext
from layerwise.report.style import FigureOut
from layerwise.report.tables import Grid, Table


def make_grid(results: pd.DataFrame, config: dict | None) -> Grid:
    """The planned grid (config["grid"], if present) united with what results.csv holds."""
    planned = (config or {}).get("grid") or {}
    found = list(dict.fromkeys(results["dataset"]))
    datasets = list(planned.get("datasets") or []) + sorted(
        set(found) - set(planned.get("datasets") or [])
    )
    depths = sorted(set(planned.get("depths") or []) | set(results["depth"].astype(int)))
    methods = ordered_methods(set(planned.get("pretraining") or []) | set(results["pretraining"]))
    dropouts = sorted({bool(d) for d in planned.get("dropout") or []} | set(results["dropout"]))
    return Grid(datasets, depths, methods, dropouts)


def _titles(results: pd.DataFrame, provenance: dict, grid: Grid) -> tuple[str, str]:
    """Report title (with the study name) and a one-line subtitle of what the run holds."""
    config = provenance.get("config") or {}
    study = results["study"].iloc[0] if "study" in results else config.get("study", "")
    title = "Greedy layer-wise pretraining of deep networks" + (f": {study}" if study else "")
    subtitle = (
        f"{int(results['selected'].sum())} selected of {len(results)} members, "
        f"{len(grid.datasets)} data set{'s' if len(grid.datasets) != 1 else ''}; "
        f"finished {provenance.get('finished') or 'unknown'}"
    )
    return title, subtitle


def export(sections: list[Section], figures_dir: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Every figure as {name}.png, every table as {key}.csv, plus the numeric frames as CSV."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    for block in (b for s in sections for b in s.blocks):
        if isinstance(block, FigureOut):
            (figures_dir / f"{block.name}.png").write_bytes(block.png)
        elif isinstance(block, Table):
            block.to_frame().to_csv(figures_dir / f"{block.key}.csv", index=False)
    for name, frame in frames.items():
        frame.to_csv(figures_dir / f"{name}.csv", index=False)


def insert_claims(sections: list[Section], table: pd.DataFrame, comparisons: pd.DataFrame) -> None:
    """The claims section, right after the summary."""
    figure_ids = {b.name for s in sections for b in s.blocks if isinstance(b, FigureOut)}
    at = next((i + 1 for i, s in enumerate(sections) if s.id == "summary"), 0)
    sections.insert(at, claims_section(table, comparisons, figure_ids))


def build_report(
    *,
    results_csv: Path,
    history_csv: Path,
    data_dir: Path,
    filter_files: list[Path],
    provenance_json: Path,
    reference_csv: Path | None,
    out_html: Path,
    out_pdf: Path | None,
    figures_dir: Path,
    studies: dict[str, object] | None = None,
    tracking_uri: str | None = None,
    claims_csv: Path | None = None,
    comparisons_csv: Path | None = None,
    baselines_files: list[Path] | None = None,
) -> None:
    """Build reports/report.html (self-contained) and report.pdf (A4) from the run's files.

    out_pdf = None skips the PDF (config report.pdf: false). Raises ReportError on missing, empty
    or malformed inputs; missing or diverged cells are rendered as such. ``filter_files``: the
    pretraining jobs' filters.npz (the rule's inputs). ``studies``: study name -> what its section
    in ``STUDY_SECTIONS`` reads (the rule's inputs for that study); absent or None -> no section.
    ``tracking_uri``: where this run's MLflow runs are, shown in the provenance (None: off).
    ``claims_csv`` and ``comparisons_csv``: the claims' verdicts and their comparisons, written by
    the `claims` rule (layerwise.analysis.claims), for the claims section right after the summary,
    whose first sentence gives the verdicts (None: no claims section). ``baselines_files``: the
    data sets' baselines.json (the rule's inputs) for the data section
    (layerwise.report.baselines_section); None: none.
    """
    results = load_results(results_csv)
    provenance = load_provenance(provenance_json) | {"tracking_uri": tracking_uri}
    grid = make_grid(results, provenance.get("config"))
    stats = cell_stats(results)
    lookup = CellLookup(stats)
    n_test = results.groupby("dataset")["n_test"].median().to_dict()
    compared = compare_published(load_reference(reference_csv), lookup, grid, n_test)
    ctx = ReportContext(
        results,
        selected_history(load_history(history_csv), results),
        stats,
        lookup,
        grid,
        compared,
        provenance,
        Path(data_dir),
        [Path(f) for f in filter_files],
        baselines=compare_baselines(read_baselines(baselines_files), load_reference(reference_csv)),
    )
    claims = load_claims(claims_csv, comparisons_csv) if claims_csv is not None else None
    ctx.claims = claims[0] if claims else None
    sections = [s for build in SECTIONS if (s := build(ctx)) is not None]
    for name, inputs in (studies or {}).items():
        if name not in STUDY_SECTIONS:
            raise ValueError(
                f"no report section for study {name!r}; known: {sorted(STUDY_SECTIONS)}"
            )
        section = STUDY_SECTIONS[name](inputs)
        if section is not None:  # before the provenance section, which stays last
            at = next((i for i, s in enumerate(sections) if s.id == "provenance"), len(sections))
            sections.insert(at, section)
    if claims:
        insert_claims(sections, *claims)
    title, subtitle = _titles(results, provenance, grid)
    html_text = render_document(title, subtitle, sections)
    files.write_text(Path(out_html), html_text)
    export(sections, figures_dir, {"cells": stats, "published_comparison": compared})
    if out_pdf is not None:
        write_pdf(html_text, Path(out_pdf))
