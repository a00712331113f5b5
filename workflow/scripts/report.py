"""Adapter: the HTML/PDF report (layerwise.report.build.build_report)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.report.build import build_report

job_logger(snakemake.log[0])
ref = snakemake.params.cfg["report"]["reference_csv"]
build_report(
    results_csv=Path(snakemake.input.results),
    history_csv=Path(snakemake.input.history),
    data_dir=Path("results/data"),
    pretrain_dir=Path("results/pretrain"),
    provenance_json=Path(snakemake.input.provenance),
    reference_csv=Path(ref) if ref else None,
    out_html=Path(snakemake.output.html),
    out_pdf=Path(snakemake.output.pdf) if snakemake.output.pdf else None,
    figures_dir=Path(snakemake.output.figures),
    dropout_study_dir=(
        Path(snakemake.input.dropout_summary).parent
        if snakemake.input.get("dropout_summary")
        else None
    ),
    autoencoder_dir=(Path("results/autoencoder") if snakemake.input.get("autoencoder") else None),
)
