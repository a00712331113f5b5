"""Adapter: import every job record into MLflow (layerwise.tracking.import_study)."""

from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.tracking import import_study, resolve_tracking_uri

job_logger(snakemake.log[0])
cfg = snakemake.params.cfg
import_study(
    Path("results"),
    Path(snakemake.input.results),
    tracking_uri=resolve_tracking_uri(cfg["tracking"]["uri"], Path("results")),
    experiment=f"layerwise-{cfg['study']}",
    log_weights=cfg["tracking"]["log_weights"],
    out_json=Path(snakemake.output.imported),
)
