"""`make reproduce` runs what the reproduction reports: each piece with the held-out overlay and,
beside it, its fan-in baseline, then the stack labelled held-out; the development runs on request.
The Makefile's own loop runs here, with stand-ins for snakemake and python that log their calls."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
from workflow_run import ROOT

LOGGER = '#!/bin/sh\necho "$(basename "$0") $*" >> "{log}"\n'


@pytest.fixture
def fake_venv(tmp_path):
    """A working directory whose .venv holds logging stand-ins, installed (its stamp up to date)."""
    work = tmp_path / "work"
    (work / "requirements").mkdir(parents=True)
    (work / "pyproject.toml").write_text("")
    (work / "requirements" / "lock.txt").write_text("")
    bin_dir = work / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("snakemake", "python"):
        tool = bin_dir / name
        tool.write_text(LOGGER.format(log=work / "calls.log"))
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    stamp = work / ".venv" / ".installed"
    stamp.write_text("")
    later = os.stat(work / "pyproject.toml").st_mtime + 10
    os.utime(stamp, (later, later))
    return work


def make_reproduce(work, *variables: str) -> list[str]:
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    out = subprocess.run(["make", "reproduce", *variables], cwd=work, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return (work / "calls.log").read_text().splitlines()


def _runs(calls: list[str]) -> list[tuple[str, list[str]]]:
    """Each snakemake call, in order: its --directory and the config files it was given, by name
    (a list, so that a folder run twice would show)."""
    runs = []
    for call in calls:
        if call.startswith("snakemake "):
            words = call.split()
            folder = words[words.index("--directory") + 1]
            configs = words[words.index("--configfile") + 1 :]
            runs.append((folder, [c.rsplit("/", 1)[-1] for c in configs if c.endswith(".yaml")]))
    return runs


def test_by_default_the_held_out_runs_and_their_fan_in_baselines(fake_venv):
    calls = make_reproduce(fake_venv, "PIECES=rectangles-depth1 convex")
    assert _runs(calls) == [
        ("reproduce/rectangles-depth1", ["rectangles-depth1.yaml", "held-out.yaml"]),
        ("reproduce/rectangles-depth1-fan-in", ["rectangles-depth1.yaml", "held-out.yaml",
                                                "fan-in.yaml"]),
        ("reproduce/convex", ["convex.yaml", "held-out.yaml"]),
        ("reproduce/convex-fan-in", ["convex.yaml", "held-out.yaml", "fan-in.yaml"]),
    ]  # fmt: skip
    assert calls[-1].endswith("layerwise.report.reproduction reproduce "
                              "--out reproduce/reproduction.csv --label held-out")  # fmt: skip
    wall = (fake_venv / "reproduce" / "wall_times.txt").read_text()
    assert "rectangles-depth1-fan-in: " in wall and "convex: " in wall


def test_the_development_runs_on_request(fake_venv):
    calls = make_reproduce(fake_venv, "PIECES=convex", "REPRODUCE_OVERLAY=", "FAN_IN=",
                           "REPRODUCE_LABEL=development")  # fmt: skip
    assert _runs(calls) == [("reproduce/convex", ["convex.yaml"])]
    assert calls[-1].endswith("--label development")
