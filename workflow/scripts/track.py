"""Adapter: import the job records listed as inputs into MLflow (layerwise.tracking); the rule
``track_claims`` (its input ``claims``) logs the study-level run with the claims' verdicts."""

import sys
from pathlib import Path

from layerwise.joblog import job_logger
from layerwise.tracking import (
    TrackingError,
    TrackingServerUnreachable,
    import_study,
    log_claims,
    resolve_tracking_uri,
)

job_logger(snakemake.log[0])  # stdout and stderr go to the log; show-failed-logs prints it
tracking = snakemake.params.tracking
uri = tracking.get("resolved_uri") or resolve_tracking_uri(tracking.get("uri"), Path("results"))
experiment = f"layerwise-{snakemake.params.study}"
try:
    if "claims" in snakemake.input.keys():
        log_claims(
            Path("results"),
            Path(snakemake.input.claims),
            tracking_uri=uri,
            experiment=experiment,
            study=snakemake.params.study,
            out_json=Path(snakemake.output.imported),
            provenance_json=Path(snakemake.input.provenance),
        )
    else:
        import_study(
            Path("results"),
            Path(snakemake.input.results),
            job_dirs=[Path(p).parent for p in snakemake.input.records],
            tracking_uri=uri,
            experiment=experiment,
            log_weights=tracking["log_weights"],
            out_json=Path(snakemake.output.imported),
        )
except (TrackingError, TrackingServerUnreachable) as err:
    sys.exit(f"track: {err}")  # one line naming the URI, no traceback
