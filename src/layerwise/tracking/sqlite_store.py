"""A local SQLite store that is whole or absent: built (or upgraded) beside and renamed into place.

MLflow creates a SQLite store in place, one schema migration after another, and a process killed in
the middle (SIGKILL, a lost node, the out-of-memory killer) leaves a half-created database that
every later client refuses (``table _alembic_tmp_... already exists``). Here a missing store is
created in a temporary file next to the database (``files.atomic_path``) and renamed onto it only
when complete; an outdated one is upgraded on a copy the same way. A store found broken anyway (made
by an older version of this code or another tool) is rebuilt: when it holds no runs it is replaced;
otherwise it is kept aside as ``mlflow.db.broken-<UTC time>`` and this folder's import markers
(``results/tracking/*.json`` but the run set) are removed, so that the next workflow run imports
every record again -- the files under ``results/`` are the source of truth.

Call :func:`ensure_sqlite_store` while holding the import lock (``store.import_lock``): the lock
sits next to the database, so every importer of the same file waits for it.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from pathlib import Path

from layerwise import files
from layerwise.tracking.store import SQLITE_PREFIX, sqlite_path

READY, ABSENT, OUTDATED, BROKEN = "ready", "absent", "outdated", "broken"
KEEP_MARKERS = ("run_set.json",)


def ensure_sqlite_store(tracking_uri: str, results_root: Path) -> str | None:
    """Make the SQLite store of ``tracking_uri`` whole; None for a server URI or a store that is
    fine, else one line saying what was repaired (for the import's log)."""
    db = sqlite_path(tracking_uri)
    if db is None:
        return None
    db.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(db)
    state, n_runs = store_state(db)
    if state == READY:
        return None
    if state == OUTDATED:
        _build(db, copy_of=db)
        return f"{db}: upgraded to this MLflow's schema on a copy, renamed into place"
    if state == ABSENT:
        _build(db)
        return None
    if not n_runs:
        _drop(db)
        _build(db)
        return f"{db} was half-created (an import killed while creating it): rebuilt"
    aside = db.with_name(f"{db.name}.broken-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}")
    os.replace(db, aside)
    _drop(db)
    _build(db)
    cleared = clear_markers(Path(results_root))
    return (
        f"{db} was broken ({n_runs} runs): kept as {aside.name} and rebuilt; {cleared} import "
        f"marker(s) removed, so run the workflow again to import every record into it"
    )


def store_state(db: Path) -> tuple[str, int]:
    """(state, number of runs it holds): READY (complete, this MLflow's schema), ABSENT, OUTDATED
    (complete at an older schema) or BROKEN (unreadable, half-created or half-migrated)."""
    if not db.exists():
        return ABSENT, 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            version = _one(con, "select version_num from alembic_version", names, "alembic_version")
            n_runs = _one(con, "select count(*) from runs", names, "runs") or 0
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return BROKEN, 0
    if any(n.startswith("_alembic_tmp_") for n in names) or version is None:
        return BROKEN, n_runs
    expected, head, history = _schema()
    if not expected <= names:
        return BROKEN, n_runs
    if version == head:
        return READY, n_runs
    return (OUTDATED if version in history else BROKEN), n_runs


def clear_markers(results_root: Path) -> int:
    """Remove ``results_root/tracking/*.json`` but the run set: every import rule reruns."""
    removed = 0
    for marker in sorted((results_root / "tracking").glob("*.json")):
        if marker.name not in KEEP_MARKERS:
            marker.unlink()
            removed += 1
    return removed


def _one(con: sqlite3.Connection, sql: str, names: set[str], table: str):
    if table not in names:
        return None
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


def _schema() -> tuple[set[str], str, set[str]]:
    """This MLflow's table names, head revision and every revision it can upgrade from."""
    from alembic.script import ScriptDirectory
    from mlflow.store.db import utils
    from mlflow.store.db.base_sql_model import Base
    from mlflow.store.tracking import sqlalchemy_store  # noqa: F401  (registers the tables)

    script = ScriptDirectory.from_config(utils._get_alembic_config(db_url=""))
    history = {rev.revision for rev in script.walk_revisions()}
    return set(Base.metadata.tables), utils._get_latest_schema_revision(), history


def _build(db: Path, copy_of: Path | None = None) -> None:
    """Create (or copy and upgrade) the store in a temporary file beside ``db``, then rename it."""
    from mlflow.store.db import utils
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    with files.atomic_path(db) as tmp:
        if copy_of is not None:
            with sqlite3.connect(copy_of) as src, sqlite3.connect(tmp) as dst:
                src.backup(dst)
            src.close()
            dst.close()
        uri = SQLITE_PREFIX + str(tmp)
        engine = SqlAlchemyStore._get_or_create_engine(uri)
        try:
            if copy_of is not None:
                utils._upgrade_db(engine)
            SqlAlchemyStore(uri, (db.parent / "mlartifacts").as_uri())
        finally:
            SqlAlchemyStore._engine_map.pop(uri, None)
            engine.dispose()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if copy_of is None:
            _drop(db)  # a journal of an older file must never be applied to the new one
    _fsync_dir(db.parent)


def _drop(db: Path) -> None:
    """Remove the database file and its journals (if present)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def _remove_leftovers(db: Path) -> None:
    """Temporary files of a build that was killed (``mlflow.tmp-<pid>.db`` and its journals)."""
    for path in db.parent.glob(f"{db.stem}.tmp-*{db.suffix}*"):
        path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
