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

from collections.abc import Iterable, Iterator
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType

from layerwise import files
from layerwise.tracking import runs as runlog
from layerwise.tracking.jobs import (
    LOG_WEIGHTS_CHOICES,
    Job,
    load_job,
    read_selection,
)
from layerwise.tracking.store import check_reachable, import_lock, lock_path, sqlite_path

ROLE_TAG = "layerwise.role"
HASH_TAG = "layerwise.record_hash"
PARENT_TAG = "mlflow.parentRunId"


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
    ``experiment``; ``results_root`` is the results folder (it holds the local store and lock).

    ``log_weights``: "all" logs every member's weights, "selected" only members selected in
    results.csv, "none" no weight files (stack.pt included). Returns, and atomically writes to
    ``out_json``, ``{job_id: {"parent_run_id", "members": {member_id: run_id}, "action"}}`` with
    action "created" | "unchanged" | "replaced".
    """
    if log_weights not in LOG_WEIGHTS_CHOICES:
        raise ValueError(f"log_weights must be one of {LOG_WEIGHTS_CHOICES}, got {log_weights!r}")
    if not experiment or not experiment.strip():
        raise ValueError("experiment must be a non-empty MLflow experiment name")
    results_root = Path(results_root).resolve()
    selection = read_selection(Path(results_csv))
    jobs = [load_job(Path(d), selection, log_weights) for d in job_dirs]
    check_reachable(tracking_uri)
    with import_lock(lock_path(tracking_uri, results_root)):
        client = MlflowClient(tracking_uri=tracking_uri)
        experiment_id = _experiment_id(client, experiment, tracking_uri, results_root)
        parents, children = _existing_runs(client, experiment_id)
        summary = {
            job.job_id: _sync_job(client, experiment_id, job, parents, children, log_weights)
            for job in jobs
        }
    files.write_json(Path(out_json), summary)
    return summary


def _experiment_id(client: MlflowClient, name: str, tracking_uri: str, results_root: Path) -> str:
    """Get or create (or restore) the experiment; local SQLite stores keep artifacts under
    ``results_root/mlartifacts/<name>`` (absolute file URI); a server uses its default."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    location = None
    if sqlite_path(tracking_uri) is not None:
        location = (results_root / "mlartifacts" / name).as_uri()
    return client.create_experiment(name, artifact_location=location)


def _existing_runs(client: MlflowClient, experiment_id: str) -> tuple[dict, dict]:
    """Active runs of the experiment: ({job_id: [parent Run]}, {parent_run_id: [child Run]})."""
    parents: dict[str, list] = {}
    children: dict[str, list] = {}
    for run in _search(client, experiment_id, f"tags.`{ROLE_TAG}` = 'parent'"):
        parents.setdefault(run.data.tags.get("job_id", ""), []).append(run)
    for run in _search(client, experiment_id, f"tags.`{ROLE_TAG}` = 'member'"):
        children.setdefault(run.data.tags.get(PARENT_TAG, ""), []).append(run)
    return parents, children


def _search(client: MlflowClient, experiment_id: str, filter_string: str) -> Iterator:
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
    parent_id, members = _log_job(client, experiment_id, job, log_weights)
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
    client: MlflowClient, experiment_id: str, job: Job, log_weights: str
) -> tuple[str, dict[str, str]]:
    """Parent first (RUNNING), then one child per member, then the parent is marked FINISHED."""
    start_ms, end_ms = runlog.job_times_ms(job.record)
    tags = {**runlog.parent_tags(job), ROLE_TAG: "parent", HASH_TAG: job.record_hash}
    parent = client.create_run(experiment_id, start_ms, tags, run_name=job.job_id)
    parent_id = parent.info.run_id
    _log_batched(client, parent_id, runlog.parent_metrics(job), runlog.parent_params(job), [])
    for path in runlog.parent_artifacts(job, log_weights):
        client.log_artifact(parent_id, str(path))
    members: dict[str, str] = {}
    for member in job.members.to_dict("records"):
        tags = {**runlog.member_tags(job, member), ROLE_TAG: "member", PARENT_TAG: parent_id}
        child = client.create_run(experiment_id, start_ms, tags, run_name=member["member_id"])
        child_id = child.info.run_id
        metrics = runlog.member_metrics(job, member)
        _log_batched(client, child_id, metrics, runlog.member_params(job, member), [])
        weights = runlog.member_weights(job, member, log_weights)
        if weights is not None:
            client.log_artifact(child_id, str(weights), artifact_path="weights")
        client.set_terminated(child_id, "FINISHED", end_ms)
        members[member["member_id"]] = child_id
    client.set_terminated(parent_id, "FINISHED", end_ms)
    return parent_id, members


def _log_batched(
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
