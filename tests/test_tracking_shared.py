"""A tracking store shared by several checkouts, and a store that fails during an import.

Issue 12, points 2 and 4: two checkouts importing the same study into one store (a SQLite file or
a real ``mlflow server`` on 127.0.0.1) must never delete each other's runs, nor put their
artifacts into each other's results/; a server that dies mid-import must end the import within
seconds with one line naming the URI, and the next import must leave no RUNNING run behind.
The results trees are the fabricated ones of test_tracking.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow_server import free_port as _free_port  # noqa: E402
from mlflow_server import mlflow_server  # noqa: E402
from mlflow_server import stop as _stop  # noqa: E402
from test_tracking import (  # noqa: E402
    FT1,
    STUDY,
    _active_runs,
    _assert_one_run_per_job_and_member,
    _import,
    all_finished,
    make_results_tree,
)

from layerwise.tracking import TrackingError, TrackingServerUnreachable  # noqa: E402
from layerwise.tracking import runs as runlog  # noqa: E402

RUNS_PER_TREE = 3 + 7  # 3 parent runs (jobs), 7 child runs (members)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _trees(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """Two checkouts' results folders holding the same study, run at different times (so their
    records, and record hashes, differ: as two real clones')."""
    trees = {}
    for name in ("a", "b"):
        root = tmp_path / name / "results"
        trees[name] = (root, make_results_tree(root))
    for record in (tmp_path / "b" / "results").rglob("record.json"):
        text = json.loads(record.read_text())
        text["started"] = "2026-02-03T04:05:06+00:00"
        record.write_text(json.dumps(text))
    return trees


def _imported_ids(root: Path) -> list[str]:
    """Every run id a checkout's imported.json points at."""
    jobs = json.loads((root / "tracking" / "imported.json").read_text()).values()
    return [i for job in jobs for i in [job["parent_run_id"], *job["members"].values()]]


def _all_active(client: MlflowClient, root: Path) -> bool:
    return all(client.get_run(i).info.lifecycle_stage == "active" for i in _imported_ids(root))


def _runs_of(client: MlflowClient, root: Path, view=ViewType.ACTIVE_ONLY) -> list:
    run_set = json.loads((root / "tracking" / "run_set.json").read_text())["id"]
    exp = client.get_experiment_by_name(STUDY)
    found = client.search_runs([exp.experiment_id], "", view, 10_000)
    return [r for r in found if r.data.tags.get("layerwise.run_set") == run_set]


def _check_two_checkouts(uri: str, trees: dict) -> MlflowClient:
    """Import a, then b, then a change in b, then a again: each keeps its own runs."""
    client = MlflowClient(tracking_uri=uri)
    (root_a, csv_a), (root_b, csv_b) = trees["a"], trees["b"]
    first_a = _import(root_a, csv_a, uri)
    first_b = _import(root_b, csv_b, uri)
    assert {v["action"] for v in first_b.values()} == {"created"}  # a's runs are not b's
    assert _all_active(client, root_a) and _all_active(client, root_b)
    assert len(_active_runs(client)) == 2 * RUNS_PER_TREE
    members_csv = root_b / FT1 / "members.csv"
    table = pd.read_csv(members_csv)
    table.loc[0, "test_error"] = 0.5
    table.to_csv(members_csv, index=False)
    assert _import(root_b, csv_b, uri)[FT1]["action"] == "replaced"
    again_a = _import(root_a, csv_a, uri)
    assert {v["action"] for v in again_a.values()} == {"unchanged"}  # idempotent per checkout
    assert again_a == {k: {**v, "action": "unchanged"} for k, v in first_a.items()}
    assert _all_active(client, root_a) and _all_active(client, root_b)
    assert len(_runs_of(client, root_a)) == len(_runs_of(client, root_b)) == RUNS_PER_TREE
    assert len(_active_runs(client)) == 2 * RUNS_PER_TREE
    tags = _runs_of(client, root_b)[0].data.tags
    assert tags["layerwise.results_root"].endswith(str(root_b.resolve()))
    return client


def test_two_checkouts_share_a_sqlite_store(tmp_path):
    trees = _trees(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    uri = f"sqlite:///{shared}/shared.db"
    client = _check_two_checkouts(uri, trees)
    # artifacts live next to the shared database, never in a checkout's results/
    for root, _ in trees.values():
        assert not (root / "mlartifacts").exists()
    for run_id in _imported_ids(trees["b"][0]):
        assert client.get_run(run_id).info.artifact_uri.startswith(
            (shared / "mlartifacts").as_uri()
        )
    assert any((shared / "mlartifacts").rglob("*.pt"))


def test_two_checkouts_share_a_real_server(tmp_path):
    trees = _trees(tmp_path)
    with mlflow_server(tmp_path, _free_port()) as (uri, _):
        _check_two_checkouts(uri, trees)
    assert any((tmp_path / "server-artifacts").rglob("*.pt"))


def test_a_server_that_dies_mid_import_fails_fast_and_leaves_no_running_run(tmp_path, monkeypatch):
    root = tmp_path / "results"
    results_csv = make_results_tree(root)
    port = _free_port()
    with mlflow_server(tmp_path, port) as (uri, proc):
        calls = []
        original = runlog.member_metrics

        def dying(job, member):  # the server dies while the second member is logged
            calls.append(member["member_id"])
            if len(calls) == 2:
                _stop(proc)
            return original(job, member)

        monkeypatch.setattr(runlog, "member_metrics", dying)
        start = time.monotonic()
        with pytest.raises(TrackingError) as err:
            _import(root, results_csv, uri)
        took = time.monotonic() - start
        print(f"the import gave up after {took:.1f} s")  # measured: docs/reliability.md
        monkeypatch.setattr(runlog, "member_metrics", original)
    message = str(err.value)
    assert uri in message and "\n" not in message
    assert took < 30, f"the import took {took:.0f} s to give up"  # MLflow's default: ~250 s
    # the same server again: the next import completes and leaves no RUNNING run
    with mlflow_server(tmp_path, port) as (uri, _):
        summary = _import(root, results_csv, uri)
        assert "created" in {v["action"] for v in summary.values()}
        client = MlflowClient(tracking_uri=uri)
        _assert_one_run_per_job_and_member(client)
        assert all_finished(_runs_of(client, root))


def test_a_store_error_mid_import_marks_open_runs_failed(tmp_path, monkeypatch):
    """The store still answers (here a SQLite file) but one call fails: the runs the import had
    open are marked FAILED at once, and the next import replaces them."""
    root = tmp_path / "results"
    results_csv = make_results_tree(root)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    original = runlog.member_weights

    def broken(job, member, log_weights):
        raise OSError("disk full")

    monkeypatch.setattr(runlog, "member_weights", broken)
    with pytest.raises(TrackingError, match="disk full") as err:
        _import(root, results_csv, uri)
    assert uri in str(err.value) and "\n" not in str(err.value)
    client = MlflowClient(tracking_uri=uri)
    statuses = {r.info.status for r in _runs_of(client, root)}
    assert statuses == {"FAILED"}
    monkeypatch.setattr(runlog, "member_weights", original)
    _import(root, results_csv, uri)
    _assert_one_run_per_job_and_member(client)
    assert all_finished(_runs_of(client, root))


def test_unreachable_server_hint_uses_the_port_of_the_uri(tmp_path):
    root = tmp_path / "results"
    results_csv = make_results_tree(root)
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(TrackingServerUnreachable) as err:
        _import(root, results_csv, uri)
    assert f"--port {port}" in str(err.value) and "--port 5000" not in str(err.value)
