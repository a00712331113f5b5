"""Per-job progress logs: every line a job prints goes, flushed, to its log file (tail -f it)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path


def job_logger(path: str | Path | None) -> Callable[..., None]:
    """Send stdout/stderr of this process to ``path`` (appending); return a timestamping logger."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a", buffering=1)  # noqa: SIM115 -- lives as long as the job
        sys.stdout = sys.stderr = handle

    def log(*parts) -> None:
        print(time.strftime("%H:%M:%S"), *parts, flush=True)

    return log
