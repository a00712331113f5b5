"""Adapter: import the job records listed as inputs into MLflow (layerwise.tracking)."""

import sys
from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.tracking import (
    TrackingError,
    TrackingServerUnreachable,
    import_study,
    resolve_tracking_uri,
)

job_logger(snakemake.log[0])  # stdout and stderr go to the log; show-failed-logs prints it
tracking = snakemake.params.tracking
try:
    import_study(
        Path("results"),
        Path(snakemake.input.results),
        job_dirs=[Path(p).parent for p in snakemake.input.records],
        tracking_uri=tracking.get("resolved_uri")
        or resolve_tracking_uri(tracking["uri"], Path("results")),
        experiment=f"layerwise-{snakemake.params.study}",
        log_weights=tracking["log_weights"],
        out_json=Path(snakemake.output.imported),
    )
except (TrackingError, TrackingServerUnreachable) as err:
    sys.exit(f"track: {err}")  # one line naming the URI, no traceback
