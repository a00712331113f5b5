"""Adapter: the study's tidy results table (layerwise.results.write_study_tables)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.results import write_study_tables
from layerwise.tracking import resolve_tracking_uri

job_logger(snakemake.log[0])
cfg = snakemake.params.cfg
tracking = cfg["tracking"]
write_study_tables(
    cfg,
    [Path(d) for d in snakemake.params.dirs],
    [Path(p) for p in snakemake.input.records],
    Path(snakemake.output.results),
    Path(snakemake.output.history),
    Path(snakemake.output.provenance),
    tracking_uri=resolve_tracking_uri(tracking["uri"], Path("results"))
    if tracking["enabled"]
    else None,
)
