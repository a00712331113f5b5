"""Mirror job directories into MLflow: one parent run per job, one nested child run per member.

The file record is the source of truth (docs/architecture.md); MLflow is a browsing copy that no
later rule reads. The import is idempotent: each parent carries ``layerwise.record_hash``; a job
whose hash matches is left untouched, a job whose hash differs (it re-ran, or results.csv selected
differently) or whose parent never finished (an import crashed) has its parent and children
deleted and is logged afresh. Parents are marked FINISHED only after all their children, so a
crashed import is always detected. Only ``MlflowClient`` is used, never the fluent API, so the
function holds no global state and may be called twice in one process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException

from layerwise import files
from layerwise.tracking import runs as runlog
from layerwise.tracking.job_dirs import (
    LOG_WEIGHTS_CHOICES,
    Job,
    load_job,
    read_selection,
)
from layerwise.tracking.sqlite_store import ensure_sqlite_store
from layerwise.tracking.store import (
    TrackingError,
    TrackingServerUnreachable,
    artifact_root,
    check_reachable,
    import_lock,
    lock_path,
    run_set,
)

ROLE_TAG = "layerwise.role"
HASH_TAG = "layerwise.record_hash"
RUN_SET_TAG = "layerwise.run_set"
SOURCE_TAG = "layerwise.results_root"  # host:path of the results folder, for people
PARENT_TAG = "mlflow.parentRunId"
#: MLflow's HTTP client retries 7 times with backoff 2 (about 4 minutes against a dead server);
#: an import uses these bounds unless the environment sets them.
HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def import_study(
    results_root: Path,
    results_csv: Path,
    *,
    job_dirs: list[Path],
    tracking_uri: str,
    experiment: str,
    log_weights: str = "all",
    out_json: Path,
) -> dict:
    """Import the job directories ``job_dirs`` (the track rule's inputs) into MLflow experiment
    ``experiment``; ``results_root`` is the results folder (it holds the run-set id and the lock of
    a server import).

    ``log_weights``: "all" logs every member's weights, "selected" only members selected in
    results.csv, "none" no weight files (stack.pt included). Returns, and atomically writes to
    ``out_json``, ``{job_id: {"parent_run_id", "members": {member_id: run_id}, "action"}}`` with
    action "created" | "unchanged" | "replaced". Only runs of this folder's run set
    (:func:`layerwise.tracking.store.run_set`) are read, replaced or deleted. A store that fails
    mid-import raises :class:`TrackingError` (one line naming the URI) after marking the runs it
    had open FAILED where the store still answers.
    """
    if log_weights not in LOG_WEIGHTS_CHOICES:
        raise ValueError(f"log_weights must be one of {LOG_WEIGHTS_CHOICES}, got {log_weights!r}")
    if not experiment or not experiment.strip():
        raise ValueError("experiment must be a non-empty MLflow experiment name")
    results_root = Path(results_root).resolve()
    selection = read_selection(Path(results_csv))
    jobs = [load_job(Path(d), selection, log_weights) for d in job_dirs]
    with store_session(tracking_uri, results_root, experiment) as (
        client,
        experiment_id,
        source,
        open_runs,
    ):
        parents, children = _existing_runs(client, experiment_id, source["id"])
        summary = {
            job.job_id: _sync_job(
                client, experiment_id, job, parents, children, log_weights, source, open_runs
            )
            for job in jobs
        }
    files.write_json(Path(out_json), summary)
    return summary


@contextlib.contextmanager
def store_session(tracking_uri: str, results_root: Path, experiment: str) -> Iterator[tuple]:
    """The frame of every write of a results folder to the store: the store is reachable, the
    folder's import lock is held, a local SQLite store is whole (``sqlite_store``), HTTP calls
    are bounded; yields (client, experiment id, the
    folder's run set, the list of runs left open). A store error inside becomes one
    :class:`TrackingError` line naming the URI, after the open runs are marked FAILED."""
    check_reachable(tracking_uri)
    open_runs: list[str] = []
    with import_lock(lock_path(tracking_uri, results_root)), bounded_http():
        source = run_set(results_root)
        repaired = ensure_sqlite_store(tracking_uri, results_root)
        if repaired:
            print(f"tracking store: {repaired}", flush=True)
        client = MlflowClient(tracking_uri=tracking_uri)
        try:
            experiment_id = ensure_experiment(client, experiment, tracking_uri)
            yield client, experiment_id, source, open_runs
        except (MlflowException, OSError, ConnectionError) as err:
            raise tracking_failure(client, tracking_uri, open_runs, err) from err


@contextlib.contextmanager
def bounded_http() -> Iterator[None]:
    """Set HTTP_BOUNDS (where the environment does not) for the duration of the import."""
    added = {k: v for k, v in HTTP_BOUNDS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def tracking_failure(
    client: MlflowClient, uri: str, open_runs: list[str], err: Exception
) -> TrackingError:
    """Mark the runs left open FAILED (if the store still answers); one line for the user."""
    reason = " ".join(str(err).split())[:300] or type(err).__name__
    left = ""
    try:
        check_reachable(uri, timeout_s=3)
        for run_id in reversed(open_runs):
            client.set_terminated(run_id, "FAILED")
    except (MlflowException, OSError, ConnectionError, TrackingServerUnreachable):
        left = f"; {len(open_runs)} run(s) it had open could not be marked FAILED"
    return TrackingError(
        f"MLflow import into {uri} failed ({type(err).__name__}: {reason}){left}. Nothing in "
        f"results/ is lost: once the store answers, run the workflow again (or delete "
        f"results/tracking/imported.json and rerun) and the import replaces every unfinished job."
    )


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """Get or create (or restore) the experiment. A SQLite store keeps artifacts next to its
    database (``<db folder>/mlartifacts/<name>``, absolute file URI); a server uses its default."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    root = artifact_root(tracking_uri)
    location = None if root is None else (root / name).as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # another checkout created it in the meantime
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _existing_runs(client: MlflowClient, experiment_id: str, run_set_id: str) -> tuple[dict, dict]:
    """Active runs of the experiment and run set: ({job_id: [parent Run]},
    {parent_run_id: [child Run]})."""
    parents: dict[str, list] = {}
    children: dict[str, list] = {}
    mine = f"tags.`{RUN_SET_TAG}` = '{run_set_id}'"
    for run in search_runs(client, experiment_id, f"tags.`{ROLE_TAG}` = 'parent' and {mine}"):
        parents.setdefault(run.data.tags.get("job_id", ""), []).append(run)
    for run in search_runs(client, experiment_id, f"tags.`{ROLE_TAG}` = 'member' and {mine}"):
        children.setdefault(run.data.tags.get(PARENT_TAG, ""), []).append(run)
    return parents, children


def search_runs(client: MlflowClient, experiment_id: str, filter_string: str) -> Iterator:
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string, ViewType.ACTIVE_ONLY, 10_000, page_token=token
        )
        yield from page
        token = page.token
        if not token:
            return


def _sync_job(
    client: MlflowClient,
    experiment_id: str,
    job: Job,
    parents: dict,
    children: dict,
    log_weights: str,
    source: dict,
    open_runs: list[str],
) -> dict:
    """Leave an up-to-date job alone; otherwise delete its old runs and log it afresh."""
    old = parents.get(job.job_id, [])
    if len(old) == 1 and _is_current(old[0], job):
        members = {
            r.data.tags["member_id"]: r.info.run_id for r in children.get(old[0].info.run_id, [])
        }
        return {"parent_run_id": old[0].info.run_id, "members": members, "action": "unchanged"}
    for parent in old:
        for child in children.get(parent.info.run_id, []):
            client.delete_run(child.info.run_id)
        client.delete_run(parent.info.run_id)
    parent_id, members = _log_job(client, experiment_id, job, log_weights, source, open_runs)
    return {
        "parent_run_id": parent_id,
        "members": members,
        "action": "replaced" if old else "created",
    }


def _is_current(run, job: Job) -> bool:
    return run.data.tags.get(
        HASH_TAG
    ) == job.record_hash and run.info.status == RunStatus.to_string(RunStatus.FINISHED)


def _log_job(
    client: MlflowClient,
    experiment_id: str,
    job: Job,
    log_weights: str,
    source: dict,
    open_runs: list[str],
) -> tuple[str, dict[str, str]]:
    """Parent first (RUNNING), then one child per member, then the parent is marked FINISHED.
    ``open_runs`` lists the runs created and not yet terminated (for :func:`tracking_failure`)."""
    start_ms, end_ms = runlog.job_times_ms(job.record)
    mine = {
        RUN_SET_TAG: source["id"],
        SOURCE_TAG: f"{source.get('host', '')}:{source.get('results_root', '')}",
    }
    tags = {**runlog.parent_tags(job), **mine, ROLE_TAG: "parent", HASH_TAG: job.record_hash}
    parent = client.create_run(experiment_id, start_ms, tags, run_name=job.job_id)
    parent_id = parent.info.run_id
    open_runs.append(parent_id)
    log_batched(client, parent_id, runlog.parent_metrics(job), runlog.parent_params(job), [])
    for path in runlog.parent_artifacts(job, log_weights):
        client.log_artifact(parent_id, str(path))
    members: dict[str, str] = {}
    for member in job.members.to_dict("records"):
        tags = {**runlog.member_tags(job, member), **mine, ROLE_TAG: "member"}
        tags[PARENT_TAG] = parent_id
        child = client.create_run(experiment_id, start_ms, tags, run_name=member["member_id"])
        child_id = child.info.run_id
        open_runs.append(child_id)
        metrics = runlog.member_metrics(job, member)
        log_batched(client, child_id, metrics, runlog.member_params(job, member), [])
        weights = runlog.member_weights(job, member, log_weights)
        if weights is not None:
            client.log_artifact(child_id, str(weights), artifact_path="weights")
        client.set_terminated(child_id, runlog.member_status(job, member), end_ms)
        open_runs.remove(child_id)
        members[member["member_id"]] = child_id
    client.set_terminated(parent_id, "FINISHED", end_ms)
    open_runs.remove(parent_id)
    return parent_id, members


def log_batched(
    client: MlflowClient,
    run_id: str,
    metrics: list[Metric],
    params: list[Param],
    tags: list[RunTag],
) -> None:
    """log_batch within MLflow's limits: 1000 entities a call, at most 100 of them params/tags."""
    for chunk in _chunks(params, 100):
        client.log_batch(run_id, params=chunk)
    for chunk in _chunks(tags, 100):
        client.log_batch(run_id, tags=chunk)
    for chunk in _chunks(metrics, 1000):
        client.log_batch(run_id, metrics=chunk)


def _chunks(items: list, size: int) -> Iterable[list]:
    return (items[i : i + size] for i in range(0, len(items), size))
