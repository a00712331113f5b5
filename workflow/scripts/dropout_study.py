"""Adapter: one dropout-study job (layerwise.studies.dropout.run_dropout_job) or its summary
table (layerwise.report.dropout_summary.write_summary)."""

from pathlib import Path

from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
if snakemake.rule == "dropout_study_summary":
    from layerwise.report.dropout_summary import write_summary

    ref = snakemake.params.reference_csv
    write_summary(
        [Path(p) for p in snakemake.input.members],
        Path(snakemake.output.summary),
        Path(ref) if ref else None,
        tie_break=snakemake.params.tie_break,
    )
else:
    from layerwise.studies.dropout import run_dropout_job

    run_dropout_job(
        snakemake.params.job,
        snakemake.params.run,
        Path(snakemake.input.data),
        Path(snakemake.output.members).parent,
        threads=snakemake.threads,
        log=log,
    )
