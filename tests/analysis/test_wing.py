"""The analysis wing imports no report, tracking, torch or mlflow code; report/ reads from it."""

from __future__ import annotations

import subprocess
import sys


def test_analysis_imports_neither_report_tracking_torch_nor_mlflow():
    code = ("import sys, layerwise.analysis.claims, layerwise.analysis.verdicts, "
            "layerwise.analysis.reproduction_rule; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'mlflow') or "
            "m.startswith(('layerwise.report', 'layerwise.tracking', 'layerwise.studies'))]; "
            "sys.exit(f'analysis imported {bad}' if bad else 0)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
