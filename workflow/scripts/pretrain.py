"""Adapter: greedy layer-wise pretraining of one job (layerwise.experiment.run_pretrain_job)."""

from pathlib import Path

from layerwise.experiment import run_pretrain_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
run_pretrain_job(
    snakemake.params.cfg,
    snakemake.params.job,
    Path(snakemake.input.data),
    Path(snakemake.output.stack).parent,
    threads=snakemake.threads,
    log=log,
)
