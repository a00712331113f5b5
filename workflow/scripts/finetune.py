"""Adapter: fine-tune one population (layerwise.studies.depth_table.run_finetune_job)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.studies.depth_table import run_finetune_job

log = job_logger(snakemake.log[0])
job = snakemake.params.job
# input.stacks lists results/<pretrain job id>/stack.pt in job.pretrain_paths order
stacks = dict(zip(job.pretrain_paths, map(Path, snakemake.input.stacks), strict=True))
run_finetune_job(
    job,
    snakemake.params.run,
    Path(snakemake.input.data),
    stacks,
    Path(snakemake.output.members).parent,
    threads=snakemake.threads,
    log=log,
)
