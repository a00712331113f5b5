"""Adapter: the HTML/PDF report (layerwise.report.build.build_report), from the rule's inputs."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.report.build import build_report

job_logger(snakemake.log[0])
ref = snakemake.params.report["reference_csv"]
build_report(
    results_csv=Path(snakemake.input.results),
    history_csv=Path(snakemake.input.history),
    data_dir=Path(snakemake.input.cards[0]).parent.parent,
    filter_files=[Path(p) for p in snakemake.input.filters],
    baselines_files=[Path(p) for p in snakemake.input.baselines],
    provenance_json=Path(snakemake.input.provenance),
    reference_csv=Path(ref) if ref else None,
    out_html=Path(snakemake.output.html),
    out_pdf=Path(snakemake.output.pdf) if snakemake.output.pdf else None,
    figures_dir=Path(snakemake.output.figures),
    studies={name: [Path(p) for p in paths] for name, paths in snakemake.params.studies.items()},
    tracking_uri=snakemake.params.tracking_uri,
    claims_csv=Path(snakemake.input.claims),
    comparisons_csv=Path(snakemake.input.comparisons),
)
