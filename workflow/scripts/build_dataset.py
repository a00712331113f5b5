"""Adapter: build one benchmark data set (layerwise.experiment.run_dataset_job)."""

from pathlib import Path

from layerwise.experiment import run_dataset_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
run_dataset_job(
    snakemake.params.cfg, snakemake.wildcards.dataset, Path(snakemake.output.data).parent, log=log
)
