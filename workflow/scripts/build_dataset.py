"""Adapter: build one benchmark data set (layerwise.data.job.run_dataset_job)."""

from pathlib import Path

from layerwise.data.job import run_dataset_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
run_dataset_job(snakemake.params.data, Path(snakemake.output.data).parent, log=log)
