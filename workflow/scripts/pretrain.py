"""Adapter: greedy layer-wise pretraining of one job (layerwise.studies.depth_table)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.studies.depth_table import run_pretrain_job

log = job_logger(snakemake.log[0])
run_pretrain_job(
    snakemake.params.job,
    snakemake.params.run,
    Path(snakemake.input.data),
    Path(snakemake.output.stack).parent,
    threads=snakemake.threads,
    log=log,
)
