"""The smoke study, run once per test session through the real `snakemake` with `--cores 4`."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_run import run_snakemake


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory, mnist_dir) -> Path:
    """Working directory of a finished smoke study (results/ and reports/ inside)."""
    workdir = tmp_path_factory.mktemp("smoke-study")
    run_snakemake(workdir, mnist_dir, "--cores", "4")
    return workdir
