"""What a result needs to be reproduced: git commit, package versions, device, times."""

from __future__ import annotations

import datetime as _dt
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "layerwise",
    "torch",
    "numpy",
    "pandas",
    "snakemake",
    "mlflow",
    "scikit-image",
    "seaborn",
    "matplotlib",
    "weasyprint",
)


def git_commit(cwd: str | Path | None = None) -> str:
    """The commit of the working tree (with "-dirty" if it has changes), or "unknown"."""
    cwd = Path(cwd) if cwd else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def package_versions(names=PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def earliest(stamps) -> str | None:
    """The earliest of ISO-8601 time stamps (as written by :func:`now`); None when there is none.
    A study's ``started`` is the earliest start among its jobs' records."""
    found = [s for s in stamps if s]
    return min(found, key=_parse, default=None)


def _parse(stamp: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
