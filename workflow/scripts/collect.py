"""Adapter: the study's tidy results table (layerwise.studies.collect.write_study_tables)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.studies.collect import write_study_tables

job_logger(snakemake.log[0])
write_study_tables(
    snakemake.params.config,
    [Path(p).parent for p in snakemake.input.members],
    [Path(p) for p in snakemake.input.records],
    Path(snakemake.output.results),
    Path(snakemake.output.history),
    Path(snakemake.output.provenance),
)
