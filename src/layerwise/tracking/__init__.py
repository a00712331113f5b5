"""MLflow tracking: mirror the file record of finished jobs into MLflow for browsing.

The only package of layerwise that imports mlflow (and only in :mod:`.importer` / :mod:`.runs`).
Training jobs never talk to MLflow: each job writes record.json, members.csv, history.csv and
weights (docs/architecture.md), and one Snakemake localrule calls :func:`import_study` at the end.
See docs/tracking.md for browsing, team servers and why this is safe for parallel/cluster runs.
"""

from layerwise.tracking.importer import import_study
from layerwise.tracking.store import TrackingServerUnreachable, resolve_tracking_uri

__all__ = ["TrackingServerUnreachable", "import_study", "resolve_tracking_uri"]
