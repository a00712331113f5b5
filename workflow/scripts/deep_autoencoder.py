"""Adapter: one deep-autoencoder job (layerwise.studies.autoencoder_vs_pca.run_autoencoder_job)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.studies.autoencoder_vs_pca import run_autoencoder_job

log = job_logger(snakemake.log[0])
run_autoencoder_job(
    snakemake.params.section,
    int(snakemake.wildcards.code),
    snakemake.params.run,
    Path(snakemake.input.data),
    Path(snakemake.output.summary).parent,
    threads=snakemake.threads,
    log=log,
)
