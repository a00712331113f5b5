"""Adapter: import the job records listed as inputs into MLflow (layerwise.tracking)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.tracking import import_study, resolve_tracking_uri

job_logger(snakemake.log[0])
tracking = snakemake.params.tracking
import_study(
    Path("results"),
    Path(snakemake.input.results),
    job_dirs=[Path(p).parent for p in snakemake.input.records],
    tracking_uri=resolve_tracking_uri(tracking["uri"], Path("results")),
    experiment=f"layerwise-{snakemake.params.study}",
    log_weights=tracking["log_weights"],
    out_json=Path(snakemake.output.imported),
)
