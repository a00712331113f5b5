"""The study-level MLflow run with the claims' verdicts (layerwise.tracking.claims_run, issue 16).

A fabricated results/claims.csv (the report's columns) is logged into a temporary SQLite store and
read back with an independent MlflowClient: verdict tags and params, effect / interval / count
metrics, claims.csv as an artifact; a second log leaves the run alone, a changed claims.csv
replaces it, and the job import of the same folder does not mistake it for a job.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402

from layerwise.tracking import log_claims  # noqa: E402

STUDY = "test"
EXPERIMENT = f"layerwise-{STUDY}"
NOT_TESTED = "not tested by this profile"
CLAIMS = [  # id, verdict, effect, ci_low, ci_high, n_primary, n_for, n_against, unit
    ("1", NOT_TESTED, math.nan, math.nan, math.nan, 0, 0, 0, "pp"),
    ("2", "supported", -0.021, -0.025, -0.017, 18, 18, 0, "pp"),
    ("5", "contradicted", 0.3, 0.2, 0.4, 3, 0, 3, "log10/layer"),
    ("6b", "underpowered", -4.0, math.nan, math.nan, 1, 0, 0, "sq. error/image"),
]


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def write_claims(root: Path, rows=CLAIMS) -> Path:
    cols = ["id", "verdict", "effect", "ci_low", "ci_high", "n_primary", "n_for", "n_against",
            "unit"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols).assign(statement="s", weakest="")
    root.mkdir(parents=True, exist_ok=True)
    frame.to_csv(root / "claims.csv", index=False)
    (root / "provenance.json").write_text(json.dumps({"git_commit": "deadbeef"}))
    return root / "claims.csv"


def log(root: Path, uri: str) -> dict:
    return log_claims(root, root / "claims.csv", tracking_uri=uri, experiment=EXPERIMENT,
                      study=STUDY, out_json=root / "tracking" / "claims.json",
                      provenance_json=root / "provenance.json")  # fmt: skip


def claims_runs(uri: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([exp.experiment_id], "tags.`layerwise.role` = 'claims'",
                              ViewType.ACTIVE_ONLY)  # fmt: skip


def test_claims_run_holds_verdicts_effects_and_the_csv(tmp_path):
    root, uri = tmp_path / "results", f"sqlite:///{tmp_path}/mlflow.db"
    write_claims(root)
    out = log(root, uri)
    assert out["action"] == "created" and out["verdicts"]["2"] == "supported"
    assert json.loads((root / "tracking" / "claims.json").read_text()) == out
    (run,) = claims_runs(uri)
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert run.info.run_id == out["run_id"] and run.info.status == "FINISHED"
    assert run.info.run_name == "claims"
    assert tags["claim.2.verdict"] == params["claim.2.verdict"] == "supported"
    assert tags["claim.1.verdict"] == NOT_TESTED and tags["claim.6b.verdict"] == "underpowered"
    assert tags["study"] == STUDY and tags["git_commit"] == "deadbeef"
    assert params["claim.5.unit"] == "log10/layer"
    assert metrics["claim.2.effect"] == pytest.approx(-0.021)
    assert (metrics["claim.2.ci_low"], metrics["claim.2.ci_high"]) == pytest.approx(
        (-0.025, -0.017)
    )
    assert metrics["claim.2.n_primary"] == 18 and metrics["claim.2.verdict_code"] == 1
    assert metrics["claim.5.verdict_code"] == -1 and metrics["claim.6b.verdict_code"] == 0
    assert "claim.1.effect" not in metrics and "claim.1.verdict_code" not in metrics  # NaN / none
    assert "claim.6b.ci_low" not in metrics and metrics["claim.6b.effect"] == -4.0
    client = MlflowClient(tracking_uri=uri)
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["claims.csv"]
    # teams filter runs by verdict
    exp = client.get_experiment_by_name(EXPERIMENT)
    found = client.search_runs([exp.experiment_id], "tags.`claim.2.verdict` = 'supported'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_relogging_is_idempotent_and_a_change_replaces_the_run(tmp_path):
    root, uri = tmp_path / "results", f"sqlite:///{tmp_path}/mlflow.db"
    write_claims(root)
    first = log(root, uri)
    again = log(root, uri)
    assert again["action"] == "unchanged" and again["run_id"] == first["run_id"]
    assert len(claims_runs(uri)) == 1
    changed = [("2", "contradicted", 0.01, 0.005, 0.015, 18, 0, 18, "pp")]
    write_claims(root, changed)
    replaced = log(root, uri)
    assert replaced["action"] == "replaced" and replaced["run_id"] != first["run_id"]
    (run,) = claims_runs(uri)
    assert (
        run.data.tags["claim.2.verdict"] == "contradicted"
        and "claim.5.verdict" not in run.data.tags
    )
    # another results folder (another run set) sharing the store gets its own run
    other = tmp_path / "other"
    write_claims(other)
    assert log(other, uri)["action"] == "created"
    assert len(claims_runs(uri)) == 2 and log(root, uri)["action"] == "unchanged"


def test_claims_run_beside_the_job_import(tmp_path):
    """The job import of the same folder neither deletes nor counts the claims run."""
    from test_tracking import STUDY as JOB_STUDY
    from test_tracking import job_dirs, make_results_tree

    from layerwise.tracking import import_study

    root, uri = tmp_path / "results", f"sqlite:///{tmp_path}/mlflow.db"
    results_csv = make_results_tree(root)
    write_claims(root)
    claims = log_claims(root, root / "claims.csv", tracking_uri=uri, experiment=JOB_STUDY,
                        study=STUDY, out_json=root / "tracking" / "claims.json")  # fmt: skip
    for _ in range(2):
        summary = import_study(
            root, results_csv, job_dirs=job_dirs(root), tracking_uri=uri, experiment=JOB_STUDY,
            out_json=root / "tracking" / "i.json",
        )  # fmt: skip
        assert claims["run_id"] not in {v["parent_run_id"] for v in summary.values()}
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(claims["run_id"]).info.lifecycle_stage == "active"


def test_missing_or_old_claims_csv_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="claims rule"):
        log(tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
    pd.DataFrame({"id": ["1"], "verdict": ["supported"]}).to_csv(tmp_path / "claims.csv")
    with pytest.raises(ValueError, match="rerun the claims rule"):
        log(tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
