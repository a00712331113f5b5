"""A killed import never breaks the local SQLite store (docs/reliability.md, "Tracking").

Killed with SIGKILL while MLflow created ``results/mlflow.db`` in place, an import used to leave a
half-created database that every later import refused (``table _alembic_tmp_model_version_tags
already exists``) until the user deleted it by hand. Here an import process of the fabricated
results tree of test_tracking.py kills itself with SIGKILL at chosen SQL statements (during the
store's creation, right after it, and during the import proper), once more from outside while the
store is being built, and the next import must bring every job and member in exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from test_tracking import (  # noqa: E402
    _assert_one_run_per_job_and_member,
    _import,
    make_results_tree,
)

from layerwise.tracking import sqlite_store  # noqa: E402

TESTS = Path(__file__).resolve().parent
# The child imports the tree; with KILL_AT=N it SIGKILLs itself before its N-th SQL statement.
# With IN_PLACE=1 it lets MLflow create the store in place, as the code before this fix did.
CHILD = f"""
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {str(TESTS)!r})
from sqlalchemy import event
from sqlalchemy.engine import Engine
kill_at, seen = int(os.environ.get("KILL_AT", "0")), [0]
@event.listens_for(Engine, "before_cursor_execute")
def _count(*args, **kwargs):
    seen[0] += 1
    if seen[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
from test_tracking import _import
root = Path(sys.argv[1])
uri = "sqlite:///" + str(root / "mlflow.db")
if os.environ.get("IN_PLACE"):
    from mlflow import MlflowClient
    MlflowClient(tracking_uri=uri).search_experiments()
_import(root, root / "results.csv", uri)
print("imported")
"""


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def _child(root: Path, kill_at: int = 0, **env) -> subprocess.Popen:
    env = {**os.environ, "KILL_AT": str(kill_at), **env}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _run_child(root: Path, kill_at: int = 0, **env) -> tuple[int, str]:
    proc = _child(root, kill_at, **env)
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def _check_complete(root: Path) -> None:
    """The next import (a fresh process) succeeds and holds every job and member exactly once."""
    rc, out = _run_child(root)
    assert rc == 0 and "imported" in out, out[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    _assert_one_run_per_job_and_member(client)
    assert not list(root.glob("mlflow.tmp-*")), "a killed build's temporary file was left behind"


def test_sigkill_at_any_point_of_an_import_never_breaks_the_store(tmp_path):
    root = tmp_path / "results"
    make_results_tree(root)
    # statements 1-1683 create the store (MLflow 3.17), about 550 more import the tree
    for kill_at in (5, 400, 1000, 1650, 1780):
        rc, out = _run_child(root, kill_at)
        assert rc == -signal.SIGKILL, f"not killed at statement {kill_at}:\n{out[-3000:]}"
    assert (root / "mlflow.db").is_file()  # the last kill came after the store was in place
    for kill_at in (40, 300):  # the store exists: killed during the import proper
        rc, out = _run_child(root, kill_at)
        assert rc == -signal.SIGKILL, f"not killed at statement {kill_at}:\n{out[-3000:]}"
    _check_complete(root)


def test_sigkill_from_outside_while_the_store_is_being_built(tmp_path):
    root = tmp_path / "results"
    make_results_tree(root)
    proc = _child(root)
    deadline = time.monotonic() + 300
    while not list(root.glob("mlflow.tmp-*.db")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the store was never built"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not (root / "mlflow.db").exists()  # the old state: no store, never half of one
    _check_complete(root)


def test_a_store_half_created_by_mlflow_in_place_is_rebuilt(tmp_path):
    """What the code before this fix left behind (MLflow killed while creating the file in
    place): the next import rebuilds it instead of failing with an SQLAlchemy traceback."""
    root = tmp_path / "results"
    make_results_tree(root)
    rc, out = _run_child(root, 400, IN_PLACE="1")
    assert rc == -signal.SIGKILL, out[-3000:]
    assert sqlite_store.store_state(root / "mlflow.db")[0] == sqlite_store.BROKEN
    _check_complete(root)


def test_a_broken_store_with_runs_is_kept_aside_and_every_import_reruns(tmp_path):
    root = tmp_path / "results"
    results_csv = make_results_tree(root)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    _import(root, results_csv, uri)
    (root / "tracking" / "claims.json").write_text("{}")  # another import rule's marker
    with sqlite3.connect(root / "mlflow.db") as con:  # as a migration killed half-way leaves it
        con.execute("create table _alembic_tmp_runs (x integer)")
    con.close()
    note = sqlite_store.ensure_sqlite_store(uri, root)
    assert note and "kept as mlflow.db.broken-" in note and "run the workflow again" in note
    assert len(list(root.glob("mlflow.db.broken-*"))) == 1
    assert sorted(p.name for p in (root / "tracking").glob("*.json")) == ["run_set.json"]
    assert sqlite_store.store_state(root / "mlflow.db") == (sqlite_store.READY, 0)
    _import(root, results_csv, uri)
    _assert_one_run_per_job_and_member(MlflowClient(tracking_uri=uri))


def test_a_whole_store_is_left_alone(tmp_path):
    root = tmp_path / "results"
    results_csv = make_results_tree(root)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    _import(root, results_csv, uri)
    inode = (root / "mlflow.db").stat().st_ino
    assert sqlite_store.ensure_sqlite_store(uri, root) is None
    assert (root / "mlflow.db").stat().st_ino == inode
    assert sqlite_store.ensure_sqlite_store("http://127.0.0.1:1", root) is None
