"""Adapter: build one benchmark data set (layerwise.data.build.build_dataset_from_config)."""

from layerwise.data.build import build_dataset_from_config
from layerwise.joblog import job_logger

log = job_logger(snakemake.log[0])
build_dataset_from_config(snakemake.params.cfg, snakemake.wildcards.dataset,
                          out_dir=snakemake.output.data.rsplit("/", 1)[0], log=log)
