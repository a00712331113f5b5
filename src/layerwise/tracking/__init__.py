"""MLflow tracking: mirror the file record of finished jobs into MLflow for browsing.

The only package of layerwise that imports mlflow (and only in :mod:`.importer` / :mod:`.runs` /
:mod:`.claims_run`, loaded on first use, so that :mod:`.store` -- the URI and the lock -- is cheap
to import). Training jobs never talk to MLflow: each job writes record.json, members.csv,
history.csv and weights (docs/architecture.md), and one Snakemake localrule calls
:func:`import_study` at the end; another, :func:`log_claims`, logs the claims' verdicts.
See docs/tracking.md for browsing, team servers and why this is safe for parallel/cluster runs.
"""

from layerwise.tracking.store import (
    TrackingError,
    TrackingServerUnreachable,
    resolve_tracking_uri,
)

__all__ = [
    "TrackingError",
    "TrackingServerUnreachable",
    "import_study",
    "log_claims",
    "resolve_tracking_uri",
]


def __getattr__(name: str):
    if name == "import_study":
        from layerwise.tracking.importer import import_study

        return import_study
    if name == "log_claims":  # the study-level run with the claims' verdicts
        from layerwise.tracking.claims_run import log_claims

        return log_claims
    raise AttributeError(f"module 'layerwise.tracking' has no attribute {name!r}")
