"""Atomic file writes: a file either holds a finished result or does not exist.

Every stage writes ``<stem>.tmp-<pid><suffix>`` next to the target and then
``os.replace``s it, so an
interrupted job (Ctrl-C, a killed SLURM job, a full disk) never leaves a half-written file that a
later stage, or a rerun of the workflow, could take for a result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix: some writers (np.savez) append one when it is missing
    tmp = target.with_name(f"{target.stem}.tmp-{os.getpid()}{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | Path, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_with(target: str | Path, writer: Callable[[Path], None]) -> None:
    """Atomically write ``target`` with ``writer(tmp_path)`` (``df.to_csv``, ``torch.save``)."""
    with atomic_path(target) as tmp:
        writer(tmp)
