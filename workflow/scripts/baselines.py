"""Adapter: the baseline classifiers of one data set (layerwise.data.job.run_baselines_job)."""

from pathlib import Path

from layerwise.data.job import run_baselines_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
run_baselines_job(
    snakemake.params.baselines, Path(snakemake.input.data), Path(snakemake.output[0]), log=log
)
