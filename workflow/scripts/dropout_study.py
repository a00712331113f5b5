"""Adapter: one dropout-study job (layerwise.dropout_study.run_dropout_job) or its summary table."""

from pathlib import Path

from layerwise.dropout_study import run_dropout_job, write_summary
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
cfg = snakemake.params.cfg
if snakemake.rule == "dropout_study_summary":
    ref = cfg["report"]["reference_csv"]
    write_summary(
        [Path(p) for p in snakemake.input.members],
        Path(snakemake.output.summary),
        Path(ref) if ref else None,
    )
else:
    run_dropout_job(
        cfg,
        snakemake.wildcards.activation,
        Path(snakemake.input.data),
        Path(snakemake.output.members).parent,
        threads=snakemake.threads,
        log=log,
    )
