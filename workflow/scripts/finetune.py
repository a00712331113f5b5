"""Adapter: fine-tune one population (layerwise.experiment.run_finetune_job)."""

from pathlib import Path

from layerwise.experiment import run_finetune_job
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
job = snakemake.params.job
stacks = {p: Path(f"results/{p}/stack.pt") for p in job.pretrain_paths}
run_finetune_job(
    snakemake.params.cfg,
    job,
    Path(snakemake.input.data),
    stacks,
    Path(snakemake.output.members).parent,
    threads=snakemake.threads,
    log=log,
)
