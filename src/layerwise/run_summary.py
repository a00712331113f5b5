"""What a run ended with, on the terminal: cells finished, diverged and failed (the Snakefile's
onsuccess / onerror hooks print it; no torch, no mlflow).

A run whose every member diverged still exits 0 -- each job did what it was asked, and the report
says "diverged" in every cell -- so the end of the run says so loudly, with what to try.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from layerwise.metrics import failed_rows
from layerwise.report.cells import cell_stats

RULE = "=" * 78


def run_summary(results_csv: Path) -> tuple[str, bool]:
    """(the lines to print, whether any cell finished) for the results table ``results_csv``."""
    path = Path(results_csv)
    if not path.is_file():
        return f"layerwise: {path} was not written: no cell finished in this run.", False
    results = pd.read_csv(path)
    counts = cell_stats(results)["status"].value_counts() if len(results) else pd.Series()
    ok, diverged, failed = (int(counts.get(s, 0)) for s in ("ok", "diverged", "failed"))
    line = (
        f"layerwise: {ok} cell{'s' if ok != 1 else ''} finished, {diverged} diverged in every "
        f"member, {failed} failed in every member (training error at chance); "
        f"{int(failed_rows(results).sum()) if len(results) else 0} of {len(results)} members "
        f"diverged or failed ({path})"
    )
    if ok:
        return line, True
    warning = [
        RULE,
        "WARNING: no cell finished -- every member diverged or failed, so the report has no",
        "number to show. Lower the learning rates (finetune.lr) or check the data, then rerun;",
        "reports/report.html says which cells diverged.",
        RULE,
    ]
    return "\n".join([line, *warning]), False


def print_run_summary(results_csv: Path) -> bool:
    """Print :func:`run_summary`; whether any cell finished."""
    text, finished = run_summary(results_csv)
    print(text, flush=True)
    return finished
