"""Tests of layerwise.tracking: import of job directories into MLflow (SQLite and a real server).

The fixture fabricates a results tree in exactly the on-disk format of docs/architecture.md
(1 pretraining job with 2 members, 2 fine-tuning jobs with 3 and 2 members) and every test queries
the store back with an independent MlflowClient.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow_server import free_port  # noqa: E402
from mlflow_server import mlflow_server as running_server  # noqa: E402

from layerwise.tracking import (  # noqa: E402
    TrackingServerUnreachable,
    import_study,
    resolve_tracking_uri,
)
from layerwise.tracking.job_dirs import load_job, read_selection  # noqa: E402

STUDY = "layerwise-test"
PRETRAIN = "pretrain/mnist-basic/rbm/lr0.01-e3-k1"
FT1 = "finetune/mnist-basic/d1/all"
FT2 = "finetune/mnist-basic/d2/all"
# member_id -> (epochs_run, selected, diverged)
FT_MEMBERS = {
    FT1: {
        "rbm.lr0.01-e3-k1.c0.do0.s1": (4, True, False),
        "rbm.lr0.01-e3-k1.c1.do0.s1": (3, False, False),
        "none.none.c0.do0.s1": (4, True, False),
    },
    FT2: {
        "none.none.c0.do1.s1": (2, True, False),
        "none.none.c1.do1.s1": (1, False, True),
    },
}


def _write_record(job_dir: Path, job_id: str, kind: str, depth, method, group, n_members) -> None:
    record = {
        "job_id": job_id, "kind": kind, "dataset": "mnist-basic", "depth": depth,
        "method": method, "group": group, "study": STUDY, "config_hash": "c0ffee",
        "dataset_sha256": "ab" * 32, "git_commit": "deadbeef", "versions": {"torch": "2.13.0"},
        "device": "cpu", "precision": "bf16", "products": "float32", "wall_time_s": 12.5,
        "started": "2026-01-02T03:04:05+00:00",
        "finished": "2026-01-02T03:04:17+00:00", "n_members": n_members,
        "settings": {"lr": 0.01, "epochs": 3, "schedule": {"decay": 0.5}, "layer_sizes": [784, 8]},
    }  # fmt: skip
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "record.json").write_text(json.dumps(record))


def _write_pretrain(root: Path) -> None:
    job_dir = root / PRETRAIN
    _write_record(job_dir, PRETRAIN, "pretrain", None, "rbm", None, 2)
    rows = [
        {"member": m, "seed": m + 1, "layer": layer, "epoch": e, "recon_error": 50.0 - e - m}
        for m in range(2)
        for layer in (1, 2)
        for e in (1, 2, 3)
    ]
    pd.DataFrame(rows).to_csv(job_dir / "history.csv", index=False)
    (job_dir / "stack.pt").write_bytes(b"fake stack")


def _member_row(job_id: str, depth: int, member_id: str, epochs: int, diverged: bool) -> dict:
    pretraining, rest = member_id.split(".", 1)  # pretrain_id may hold dots (lr0.01-...)
    pretrain_id, candidate, do, seed = rest.rsplit(".", 3)
    none = pretraining == "none"
    return {
        "study": STUDY, "dataset": "mnist-basic", "depth": depth, "pretraining": pretraining,
        "dropout": do == "do1", "seed": int(seed[1:]), "candidate": candidate,
        "member_id": member_id, "job_id": job_id, "pretrain_id": pretrain_id, "n_hidden": 8,
        "activation": "sigmoid", "lr": 0.1 if candidate == "c0" else 0.05, "momentum": 0.0,
        "p_drop_input": 0.2 if do == "do1" else 0.0, "p_drop_hidden": 0.0, "max_norm": 3.0,
        "pretrain_lr": float("nan") if none else 0.01,
        "pretrain_epochs": float("nan") if none else 3.0,
        "corruption_level": float("nan"), "cd_k": float("nan") if none else 1.0,
        "epochs_run": epochs, "best_epoch": max(1, epochs - 1),
        "train_error": 0.01, "valid_error": 0.05 + 0.01 * (candidate == "c1"),
        "test_error": float("nan") if diverged else 0.06,
        "n_train": 100, "n_valid": 50, "n_test": 50, "test_ci95": 0.066,
        "diverged": diverged, "diverged_epoch": 1.0 if diverged else float("nan"),
        "wall_time_s": 12.5,
    }  # fmt: skip


def _write_finetune(root: Path, job_id: str, depth: int) -> pd.DataFrame:
    job_dir = root / job_id
    members = FT_MEMBERS[job_id]
    _write_record(job_dir, job_id, "finetune", depth, None, "all", len(members))
    table = pd.DataFrame(
        [_member_row(job_id, depth, mid, ep, dv) for mid, (ep, _, dv) in members.items()]
    )
    table.to_csv(job_dir / "members.csv", index=False)
    hist = []
    for mid, (epochs, _, _) in members.items():
        for e in range(1, epochs + 1):
            row = {"member_id": mid, "epoch": e, "train_loss": 1.0 / e, "train_error": 0.5 / e}
            row["valid_error"] = 0.6 / e
            row.update({f"grad_norm_l{i}": float(i * e) for i in range(1, depth + 2)})
            hist.append(row)
    pd.DataFrame(hist).to_csv(job_dir / "history.csv", index=False)
    (job_dir / "weights").mkdir()
    for mid in members:
        (job_dir / "weights" / f"{mid}.pt").write_bytes(mid.encode())
    (job_dir / "config.yaml").write_text(f"study: {STUDY}\n")
    table["selected"] = [sel for _, sel, _ in members.values()]
    return table


def make_results_tree(root: Path) -> Path:
    """Fabricate results/ with 3 jobs and results.csv; returns the path of results.csv."""
    _write_pretrain(root)
    tables = [_write_finetune(root, FT1, 1), _write_finetune(root, FT2, 2)]
    results_csv = root / "results.csv"
    pd.concat(tables).to_csv(results_csv, index=False)
    return results_csv


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    """MLflow 3 sends usage telemetry; keep tests (and the spawned processes) offline."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "results"
    return root, make_results_tree(root)


def job_dirs(root: Path) -> list[Path]:
    """The job directories of the tree, as the track rule lists them from its inputs."""
    return [root / PRETRAIN, root / FT1, root / FT2]


def _import(root: Path, results_csv: Path, uri: str, out: str = "imported.json", **kw) -> dict:
    kw.setdefault("log_weights", "all")
    kw.setdefault("job_dirs", job_dirs(root))
    return import_study(
        root,
        results_csv,
        tracking_uri=uri,
        experiment=STUDY,
        out_json=root / "tracking" / out,
        **kw,
    )


def _active_runs(client: MlflowClient) -> list:
    exp = client.get_experiment_by_name(STUDY)
    return client.search_runs([exp.experiment_id], "", ViewType.ACTIVE_ONLY, 10_000)


def _assert_one_run_per_job_and_member(client: MlflowClient) -> None:
    runs = _active_runs(client)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.data.tags["job_id"] for r in parents) == sorted([PRETRAIN, FT1, FT2])
    expected_children = {FT1: set(FT_MEMBERS[FT1]), FT2: set(FT_MEMBERS[FT2])}
    expected_children[PRETRAIN] = {"rbm.lr0.01-e3-k1.s1", "rbm.lr0.01-e3-k1.s2"}
    for parent in parents:
        kids = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        ids = [r.data.tags["member_id"] for r in kids]
        assert len(ids) == len(set(ids)) == len(expected_children[parent.data.tags["job_id"]])
        assert set(ids) == expected_children[parent.data.tags["job_id"]]
    assert len(runs) == len(parents) + sum(len(v) for v in expected_children.values())


def test_import_logs_one_parent_per_job_and_one_child_per_member(tree, tmp_path):
    root, results_csv = tree
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    summary = _import(root, results_csv, uri)
    assert {v["action"] for v in summary.values()} == {"created"}
    assert json.loads((root / "tracking" / "imported.json").read_text()) == summary
    client = MlflowClient(tracking_uri=uri)
    _assert_one_run_per_job_and_member(client)
    results = pd.read_csv(results_csv)
    for row in results.itertuples():
        run = client.get_run(summary[row.job_id]["members"][row.member_id])
        assert run.data.tags["selected"] == str(bool(row.selected)).lower()
        assert run.data.tags["diverged"] == str(bool(row.diverged)).lower()
        assert run.data.tags["seed"] == str(row.seed)
        assert (
            run.data.params["lr"] == str(row.lr)
            and run.data.params["pretraining"] == row.pretraining
        )
        assert ("pretrain_lr" in run.data.params) == (row.pretraining != "none")
        assert "test_error" not in run.data.params and "selected" not in run.data.params
        assert run.data.metrics["valid_error"] == pytest.approx(row.valid_error)
        assert run.data.metrics["epochs_run"] == row.epochs_run
        assert ("test_error" in run.data.metrics) == (not row.diverged)
        curve = client.get_metric_history(run.info.run_id, "epoch/valid_error")
        assert [m.step for m in curve] == list(range(1, row.epochs_run + 1))
        assert [m.value for m in curve] == pytest.approx(
            [0.6 / e for e in range(1, row.epochs_run + 1)]
        )
        # a diverged member is a FAILED run: the run list shows it (its parent FINISHED)
        assert run.info.status == ("FAILED" if row.diverged else "FINISHED")
    assert all_finished(_active_runs(client))


def all_finished(runs) -> bool:
    """Every run ended as a completed import leaves it: FINISHED, but FAILED for a member that
    diverged (never RUNNING, never a FAILED parent)."""
    return all(
        r.info.status == ("FAILED" if r.data.tags.get("diverged") == "true" else "FINISHED")
        for r in runs
    )


def test_parent_tags_params_metrics_and_artifacts(tree, tmp_path):
    root, results_csv = tree
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    summary = _import(root, results_csv, uri)
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(summary[PRETRAIN]["parent_run_id"])
    tags = parent.data.tags
    assert (tags["job_id"], tags["kind"], tags["method"], tags["git_commit"]) == (
        PRETRAIN, "pretrain", "rbm", "deadbeef"
    )  # fmt: skip
    assert (tags["precision"], tags["products"]) == ("bf16", "float32")  # the mode, what ran
    assert "depth" not in tags  # null in the record
    assert parent.data.params["version.torch"] == "2.13.0"
    assert parent.data.params["schedule.decay"] == "0.5"  # nested settings flattened
    assert parent.data.metrics["wall_time_s"] == 12.5
    assert parent.info.end_time - parent.info.start_time == 12_000  # from started/finished
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {
        "stack.pt",
        "record.json",
    }
    exp = client.get_experiment_by_name(STUDY)
    # a SQLite store keeps artifacts next to its database, not in one checkout's results/
    assert exp.artifact_location == (tmp_path.resolve() / "mlartifacts" / STUDY).as_uri()
    child_id = summary[PRETRAIN]["members"]["rbm.lr0.01-e3-k1.s2"]
    curve = client.get_metric_history(child_id, "epoch/recon_error_l2")
    assert [(m.step, m.value) for m in curve] == [(1, 48.0), (2, 47.0), (3, 46.0)]
    mid = "none.none.c0.do0.s1"
    arts = client.list_artifacts(summary[FT1]["members"][mid], "weights")
    assert [a.path for a in arts] == [f"weights/{mid}.pt"]


def test_reimport_is_idempotent_and_changes_replace_the_job(tree, tmp_path):
    root, results_csv = tree
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = _import(root, results_csv, uri)
    second = _import(root, results_csv, uri, out="again.json")
    assert {v["action"] for v in second.values()} == {"unchanged"}
    assert second == {k: {**v, "action": "unchanged"} for k, v in first.items()}
    members_csv = root / FT1 / "members.csv"
    table = pd.read_csv(members_csv)
    table.loc[0, "test_error"] = 0.5
    table.to_csv(members_csv, index=False)
    third = _import(root, results_csv, uri)
    assert third[FT1]["action"] == "replaced"
    assert third[FT2]["action"] == third[PRETRAIN]["action"] == "unchanged"
    assert third[FT1]["parent_run_id"] != first[FT1]["parent_run_id"]
    client = MlflowClient(tracking_uri=uri)
    _assert_one_run_per_job_and_member(client)
    old = client.get_run(first[FT1]["parent_run_id"])
    assert old.info.lifecycle_stage == "deleted"
    new_id = third[FT1]["members"][table.loc[0, "member_id"]]
    assert client.get_run(new_id).data.metrics["test_error"] == 0.5
    # A change of selection in results.csv alone also replaces the job.
    results = pd.read_csv(results_csv)
    results.loc[results["job_id"] == FT2, "selected"] = ~results.loc[
        results["job_id"] == FT2, "selected"
    ]
    results.to_csv(results_csv, index=False)
    fourth = _import(root, results_csv, uri)
    assert [fourth[j]["action"] for j in (PRETRAIN, FT1, FT2)] == [
        "unchanged",
        "unchanged",
        "replaced",
    ]
    run = client.get_run(fourth[FT2]["members"]["none.none.c1.do1.s1"])
    assert run.data.tags["selected"] == "true"
    _assert_one_run_per_job_and_member(client)


def test_log_weights_selected_logs_only_selected_members(tree, tmp_path):
    root, results_csv = tree
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    summary = _import(root, results_csv, uri, log_weights="selected")
    client = MlflowClient(tracking_uri=uri)
    for mid, (_, selected, _) in FT_MEMBERS[FT1].items():
        arts = client.list_artifacts(summary[FT1]["members"][mid], "weights")
        assert len(arts) == int(selected)
    with pytest.raises(ValueError, match="'all', 'selected', 'none'"):
        _import(root, results_csv, uri, log_weights="best")


def test_concurrent_imports_never_duplicate(tree, tmp_path):
    root, results_csv = tree
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    ctx = mp.get_context("spawn")
    # The target is the library function itself: a spawned child can import it (not this file).
    procs = [
        ctx.Process(
            target=import_study,
            args=(root, results_csv),
            kwargs={
                "job_dirs": job_dirs(root),
                "tracking_uri": uri,
                "experiment": STUDY,
                "out_json": tmp_path / f"o{i}.json",
            },
        )
        for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    actions = [json.loads((tmp_path / f"o{i}.json").read_text()) for i in range(4)]
    assert sorted(len([a for a in s.values() if a["action"] == "created"]) for s in actions) == [
        0, 0, 0, 3
    ]  # fmt: skip
    _assert_one_run_per_job_and_member(MlflowClient(tracking_uri=uri))


@pytest.fixture
def mlflow_server(tmp_path):
    with running_server(tmp_path, free_port()) as (uri, _):
        yield uri


def test_import_into_a_real_mlflow_server(tree, mlflow_server, tmp_path):
    root, results_csv = tree
    summary = _import(root, results_csv, mlflow_server)
    assert {v["action"] for v in summary.values()} == {"created"}
    client = MlflowClient(tracking_uri=mlflow_server)
    _assert_one_run_per_job_and_member(client)
    mid = "rbm.lr0.01-e3-k1.c0.do0.s1"
    arts = client.list_artifacts(summary[FT1]["members"][mid], "weights")
    assert [a.path for a in arts] == [f"weights/{mid}.pt"]
    assert (tmp_path / "server-artifacts").is_dir()  # the server stored them, not results/
    assert (root / "tracking" / "mlflow-import.lock").exists()
    again = _import(root, results_csv, mlflow_server)
    assert {v["action"] for v in again.values()} == {"unchanged"}


def test_unreachable_server_gives_a_clear_error_quickly(tree):
    root, results_csv = tree
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(TrackingServerUnreachable) as err:
        _import(root, results_csv, uri)
    message = str(err.value)
    assert uri in message and "mlflow server" in message and "MLFLOW_TRACKING_URI" in message
    # Not a timing assertion on speed, only a guard against MLflow's minutes of retries.
    assert time.monotonic() - start < 60


def test_resolve_tracking_uri_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_tracking_uri("", tmp_path).endswith("/mlflow.db")
    assert resolve_tracking_uri("http://cfg:5000", tmp_path) == "http://cfg:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert resolve_tracking_uri("http://cfg:5000", tmp_path) == "http://env:5000"


def test_record_hash_covers_files_and_selection(tree):
    root, results_csv = tree
    selection = read_selection(results_csv)
    dirs = {d.relative_to(root).as_posix(): d for d in job_dirs(root)}
    base = load_job(dirs[FT1], selection, "all").record_hash
    assert load_job(dirs[FT1], selection, "all").record_hash == base
    assert load_job(dirs[FT1], selection, "none").record_hash != base
    flipped = {FT1: {k: not v for k, v in selection[FT1].items()}}
    assert load_job(dirs[FT1], flipped, "all").record_hash != base
    with (root / FT1 / "history.csv").open("a") as f:
        f.write("rbm.lr0.01-e3-k1.c0.do0.s1,5,0.1,0.1,0.1,1,1\n")
    assert load_job(dirs[FT1], selection, "all").record_hash != base
    with pytest.raises(ValueError, match="no rows in results.csv"):
        load_job(dirs[FT2], {FT1: selection[FT1]}, "all")
