"""Adapter: one deep-autoencoder job (layerwise.autoencoder_job.run_autoencoder_job)."""

from pathlib import Path

from layerwise.autoencoder_job import run_autoencoder_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
run_autoencoder_job(
    snakemake.params.cfg,
    int(snakemake.wildcards.code),
    Path(snakemake.input.data),
    Path(snakemake.output.summary).parent,
    threads=snakemake.threads,
    log=log,
)
