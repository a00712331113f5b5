"""Where runs go: the tracking URI, the import lock and a fast reachability check (no mlflow here).

Training jobs never talk to MLflow; one workflow rule imports the file record at the end. The lock
(``fcntl.flock``, exclusive) makes concurrent imports safe even so: a SQLite store has one writer at
a time and a second importer finds every job "unchanged" instead of duplicating it. For a local
SQLite store the lock file sits next to the database (``mlflow.db.lock``), so every importer of the
same database shares it whatever its results_root; for a server it lives under
``results_root/tracking/``.

Several checkouts may share one store (a team server, or one SQLite file). Each results folder has
its own *run set*: a random id created once in ``results_root/tracking/run_set.json`` and put on
every run it imports (tag ``layerwise.run_set``). An import only ever looks at, replaces or deletes
runs of its own run set, so checkouts never touch each other's runs; re-importing the same folder
stays idempotent. The artifacts of a SQLite store live next to the database file
(``<db folder>/mlartifacts/<experiment>``), never inside one checkout's results.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from layerwise import files

SQLITE_PREFIX = "sqlite:///"


class TrackingError(RuntimeError):
    """An import into the tracking store failed; the message is one line naming the URI."""


class TrackingServerUnreachable(ConnectionError):
    """The tracking URI names a server that does not answer."""


def resolve_tracking_uri(config_uri: str | None, results_root: Path) -> str:
    """MLFLOW_TRACKING_URI (if set and non-empty) wins, then ``config_uri``, else a local SQLite
    store ``sqlite:///<absolute results_root>/mlflow.db``."""
    env_uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env_uri:
        return env_uri
    if config_uri and config_uri.strip():
        return config_uri.strip()
    return SQLITE_PREFIX + str(Path(results_root).resolve() / "mlflow.db")


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative paths resolve against the cwd)."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    path = tracking_uri[len(SQLITE_PREFIX) :].split("?", 1)[0]
    if not path or path == ":memory:":
        raise ValueError(
            f"tracking URI {tracking_uri!r}: an in-memory SQLite store cannot be shared"
        )
    return Path(path).resolve()


def lock_path(tracking_uri: str, results_root: Path) -> Path:
    """Lock file next to a SQLite database, else ``results_root/tracking/mlflow-import.lock``."""
    db = sqlite_path(tracking_uri)
    if db is not None:
        return db.with_name(db.name + ".lock")
    return Path(results_root).resolve() / "tracking" / "mlflow-import.lock"


def run_set(results_root: Path) -> dict:
    """This results folder's run set ``{"id", "results_root", "host"}``, created on first use.

    Call it while holding the import lock: two importers of one folder then agree on the id.
    """
    path = Path(results_root).resolve() / "tracking" / "run_set.json"
    if path.is_file():
        found = json.loads(path.read_text())
        if isinstance(found, dict) and found.get("id"):
            return found
    made = {
        "id": uuid.uuid4().hex,
        "results_root": str(Path(results_root).resolve()),
        "host": socket.gethostname(),
    }
    files.write_json(path, made)
    return made


def artifact_root(tracking_uri: str) -> Path | None:
    """Where a SQLite store keeps artifacts: ``<db folder>/mlartifacts``; None for a server."""
    db = sqlite_path(tracking_uri)
    return None if db is None else db.parent / "mlartifacts"


@contextlib.contextmanager
def import_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if absent) for the duration of the block.

    flock is released by the kernel when the process dies, so a crashed import never leaves a
    stale lock behind. On NFS, flock is only advisory across hosts; the import rule is a
    Snakemake localrule, so all importers run on one host.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_reachable(tracking_uri: str, timeout_s: float = 5.0) -> None:
    """For http(s) URIs, GET ``/health`` once with a short timeout (MLflow's own client retries
    with backoff for minutes); raise :class:`TrackingServerUnreachable` naming the fix.

    Any HTTP answer, even an error status, proves a server is listening: MLflow then reports its
    own, more specific error.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return
    if not 0 < timeout_s <= 600:
        raise ValueError(f"timeout_s must be in (0, 600], got {timeout_s}")
    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):
            return
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError) as err:
        raise TrackingServerUnreachable(
            f"MLflow tracking server {tracking_uri} is unreachable ({err}). "
            f"{start_hint(tracking_uri)}"
        ) from err


def start_hint(tracking_uri: str) -> str:
    """What to do about an unreachable server: start one on the URI's own host and port."""
    parts = urllib.parse.urlsplit(tracking_uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    return (
        f"Start it (on {host}: `mlflow server --backend-store-uri sqlite:///mlflow.db "
        f"--host {host} --port {port}`), fix the tracking URI, or unset MLFLOW_TRACKING_URI "
        f"to use the local SQLite store results/mlflow.db."
    )
