"""One study-level MLflow run with the lectures' claims, judged (docs/tracking.md).

The `claims` rule writes results/claims.csv (layerwise.analysis.claims): one row per claim with its
verdict, effect and 95% interval. This module mirrors it into one run per study and results
folder (run name ``claims``, tag ``layerwise.role = claims``) in the study's experiment, so that a
team can put runs of several checkouts, profiles or code versions side by side and compare the
verdicts:

- tags ``claim.<id>.verdict`` (searchable: ``tags.`claim.2.verdict` = 'supported'``), ``study``,
  ``git_commit`` (from provenance.json, when given) and the run-set tags of every import;
- params ``claim.<id>.verdict`` and ``claim.<id>.unit`` (shown as columns in the runs table);
- metrics ``claim.<id>.effect``, ``.ci_low``, ``.ci_high``, ``.n_primary``, ``.n_for``,
  ``.n_against``, ``.n_underpowered``, ``.power`` and ``.verdict_code`` (+1 supported, +0.5
  supported except, 0 mixed or underpowered, -1 contradicted; absent when not tested), non-finite
  values omitted;
- artifact claims.csv.

Idempotent like the job import: the run carries ``layerwise.record_hash``, the sha256 of
claims.csv's bytes (deterministic: the report's bootstrap is seeded). A finished run with the same
hash is left alone; otherwise the run set's old claims runs are deleted and one is logged afresh,
marked FINISHED last. The import lock serialises it with the other imports.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param, RunStatus

from layerwise import files
from layerwise.tracking.importer import (
    HASH_TAG,
    ROLE_TAG,
    RUN_SET_TAG,
    SOURCE_TAG,
    log_batched,
    search_runs,
    store_session,
)

ROLE = "claims"
RUN_NAME = "claims"
#: claims.csv columns the run needs (the `claims` rule writes them: layerwise.analysis.claims).
COLUMNS = ("id", "verdict", "effect", "ci_low", "ci_high", "n_primary", "n_for", "n_against")
COUNTS = ("effect", "ci_low", "ci_high", "n_primary", "n_for", "n_against", "n_underpowered",
          "power")  # fmt: skip
#: A number per verdict for plotting runs side by side (underpowered and mixed: no answer, 0).
VERDICT_CODES = {"supported": 1.0, "supported except": 0.5, "mixed": 0.0, "underpowered": 0.0,
                 "contradicted": -1.0}  # fmt: skip


def read_claims(claims_csv: Path) -> pd.DataFrame:
    """claims.csv with its id as text; a missing file or column says how to make it."""
    path = Path(claims_csv)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the claims rule writes it (snakemake {path} rebuilds it)"
        )
    table = pd.read_csv(path, dtype={"id": str}, keep_default_na=False, na_values=[""])
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {missing}; it was written by an older report: rebuild it "
            f"(delete it and rerun the claims rule)"
        )
    return table


def claim_tags(table: pd.DataFrame) -> dict[str, str]:
    return {f"claim.{r['id']}.verdict": str(r["verdict"]) for r in table.to_dict("records")}


def claim_params(table: pd.DataFrame) -> list[Param]:
    params = []
    for r in table.to_dict("records"):
        params.append(Param(f"claim.{r['id']}.verdict", str(r["verdict"])))
        if isinstance(r.get("unit"), str) and r["unit"]:
            params.append(Param(f"claim.{r['id']}.unit", r["unit"]))
    return params


def claim_metrics(table: pd.DataFrame, timestamp_ms: int) -> list[Metric]:
    """Effect, interval, counts and the verdict code of every claim; non-finite ones left out."""
    out = []
    for r in table.to_dict("records"):
        code = {"verdict_code": VERDICT_CODES.get(r["verdict"])}
        values = {k: r[k] for k in COUNTS if k in r} | code
        for name, value in values.items():
            if value is not None and value != "" and math.isfinite(float(value)):
                out.append(Metric(f"claim.{r['id']}.{name}", float(value), timestamp_ms, 0))
    return out


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def log_claims(
    results_root: Path,
    claims_csv: Path,
    *,
    tracking_uri: str,
    experiment: str,
    study: str,
    out_json: Path,
    provenance_json: Path | None = None,
) -> dict:
    """Log (or leave, or replace) this results folder's claims run in ``experiment``.

    Returns, and atomically writes to ``out_json``, ``{"run_id", "action", "verdicts"}`` with
    action "created" | "unchanged" | "replaced". Errors of the store become a
    :class:`~layerwise.tracking.store.TrackingError` naming the URI, as in ``import_study``.
    """
    if not experiment or not experiment.strip():
        raise ValueError("experiment must be a non-empty MLflow experiment name")
    results_root = Path(results_root).resolve()
    table = read_claims(claims_csv)
    record_hash = file_hash(claims_csv)
    with store_session(tracking_uri, results_root, experiment) as (
        client,
        experiment_id,
        source,
        open_runs,
    ):
        mine = f"tags.`{RUN_SET_TAG}` = '{source['id']}'"
        old = list(search_runs(client, experiment_id, f"tags.`{ROLE_TAG}` = '{ROLE}' and {mine}"))
        if len(old) == 1 and _is_current(old[0], record_hash):
            run_id, action = old[0].info.run_id, "unchanged"
        else:
            for run in old:
                client.delete_run(run.info.run_id)
            tags = _tags(table, source, study, record_hash, provenance_json)
            run_id = _log_run(client, experiment_id, table, tags, claims_csv, open_runs)
            action = "replaced" if old else "created"
    verdicts = dict(zip(table["id"], table["verdict"], strict=True))
    summary = {"run_id": run_id, "action": action, "verdicts": verdicts}
    files.write_json(Path(out_json), summary)
    return summary


def _is_current(run, record_hash: str) -> bool:
    finished = RunStatus.to_string(RunStatus.FINISHED)
    return run.data.tags.get(HASH_TAG) == record_hash and run.info.status == finished


def _tags(table, source: dict, study: str, record_hash: str, provenance_json) -> dict[str, str]:
    tags = {
        **claim_tags(table),
        "study": study,
        ROLE_TAG: ROLE,
        HASH_TAG: record_hash,
        RUN_SET_TAG: source["id"],
        SOURCE_TAG: f"{source.get('host', '')}:{source.get('results_root', '')}",
    }
    if provenance_json is not None and Path(provenance_json).is_file():
        commit = json.loads(Path(provenance_json).read_text()).get("git_commit")
        if commit:
            tags["git_commit"] = str(commit)
    return tags


def _log_run(client, experiment_id, table, tags, claims_csv, open_runs) -> str:
    """Create the run (RUNNING), log params, metrics and claims.csv, then mark it FINISHED."""
    run = client.create_run(experiment_id, tags=tags, run_name=RUN_NAME)
    run_id = run.info.run_id
    open_runs.append(run_id)
    start_ms = run.info.start_time
    log_batched(client, run_id, claim_metrics(table, start_ms), claim_params(table), [])
    client.log_artifact(run_id, str(claims_csv))
    client.set_terminated(run_id, "FINISHED")
    open_runs.remove(run_id)
    return run_id
