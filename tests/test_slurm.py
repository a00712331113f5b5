"""Cluster execution through profiles/slurm (snakemake-executor-plugin-slurm) on a real
single-node SLURM cluster started by .ci/slurm-cluster.sh (see docs/cluster.md).

Opt-in, because starting the cluster installs Debian packages and starts daemons as root:
    pytest -m slurm tests/test_slurm.py        (or LAYERWISE_SLURM_TESTS=1 pytest ...)
The session fixture reuses a cluster that is already up and stops only one it started itself.
Every SLURM fact is read from slurmctld (`squeue --states=all`), not from snakemake's log.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from slurm_fixtures import (
    PROFILE,
    SNAKEMAKE,
    TEST_OVERRIDES,
    cluster_script,
    executed_rules,
    job_stats,
    run_snakemake,
    why_no_cluster,
)
from workflow_run import SMOKE, SNAKEFILE, env_with_mnist

from layerwise.config import load_config

PROFILE_CFG = yaml.safe_load((PROFILE / "config.yaml").read_text())
RETRIES = PROFILE_CFG["retries"]


@pytest.fixture(scope="session")
def slurm_cluster(request):
    """A running local SLURM cluster for this session; skips, with the reason, where none runs."""
    opted_in = "slurm" in (request.config.getoption("-m") or "")
    if not (opted_in or os.environ.get("LAYERWISE_SLURM_TESTS") == "1"):
        pytest.skip("SLURM tests are opt-in: run `pytest -m slurm` or set LAYERWISE_SLURM_TESTS=1")
    reason = why_no_cluster()
    if reason:
        pytest.skip(reason)
    already_up = cluster_script("status", timeout=60).returncode == 0
    if not already_up:
        started = cluster_script("start")
        if started.returncode != 0:
            pytest.skip(f"local SLURM cluster failed to start:\n{started.stderr[-2000:]}")
    yield
    if not already_up:  # stop by recorded PID only what this fixture started
        cluster_script("stop", timeout=120)


def _profile_args() -> list[str]:
    return ["--profile", str(PROFILE), *TEST_OVERRIDES]


def _throwaway(tmp_path: Path, snakefile: str) -> Path:
    (tmp_path / "Snakefile").write_text(snakefile)
    return tmp_path


FLAKY = """
localrules: all
rule all:
    input: "flaky.txt"
rule flaky:  # fails on attempt 1; asks for more memory on each attempt (sbatch --mem)
    output: "flaky.txt"
    resources: mem_mb=lambda wildcards, attempt: 500 * attempt, runtime=5
    shell: "test {resources.mem_mb} -ge 1000 || {{ echo 'attempt 1 fails on purpose'; exit 3; }}; "
           "echo $SLURM_JOB_ID > {output}"
"""

BROKEN = """
localrules: all
rule all:
    input: "good.txt", "bad.txt"
rule good:
    output: "good.txt"
    shell: "echo $SLURM_JOB_ID > {output}"
rule bad:  # fails until the file `fixed` exists (a user fixing the cause between runs)
    output: "bad.txt"
    shell: "test -e fixed || {{ echo 'bad is broken' >&2; exit 3; }}; echo $SLURM_JOB_ID > {output}"
"""


@pytest.mark.slurm
def test_profile_keys_are_snakemake_options():
    """Every key of profiles/slurm/config.yaml is an option of this snakemake + plugin."""
    help_text = subprocess.run(
        [*SNAKEMAKE, "--help"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    unknown = [key for key in PROFILE_CFG if f"--{key}" not in help_text]
    assert not unknown, f"profile keys snakemake does not know: {unknown}"
    assert PROFILE_CFG["executor"] == "slurm"
    assert "slurm_account" not in PROFILE_CFG["default-resources"]  # the cluster default applies


@pytest.mark.slurm
def test_failed_attempt_is_resubmitted_with_more_memory(slurm_cluster, tmp_path):
    workdir = _throwaway(tmp_path, FLAKY)
    run = run_snakemake(_profile_args(), cwd=workdir, timeout=180)
    assert run.returncode == 0, run.output[-3000:]
    flaky = [job for job in run.slurm_jobs if job.rule == "flaky"]
    assert [job.state for job in flaky] == ["FAILED", "COMPLETED"]
    assert [job.min_memory for job in flaky] == ["500M", "1000M"]  # resources scale with attempt
    assert set(run.submitted()) == {job.job_id for job in run.slurm_jobs}
    # the output was written inside the second SLURM job, not on the submit host
    assert (workdir / "flaky.txt").read_text().strip() == str(flaky[1].job_id)
    failed_log = workdir / f".snakemake/slurm_logs/rule_flaky/{flaky[0].job_id}.log"
    assert "attempt 1 fails on purpose" in failed_log.read_text()


@pytest.mark.slurm
def test_failure_after_retries_then_rerun_resumes(slurm_cluster, tmp_path):
    workdir = _throwaway(tmp_path, BROKEN)
    first = run_snakemake(_profile_args(), cwd=workdir, timeout=240)
    assert first.returncode != 0
    states = {r: [j.state for j in first.slurm_jobs if j.rule == r] for r in ("good", "bad")}
    assert states == {"good": ["COMPLETED"], "bad": ["FAILED"] * (1 + RETRIES)}
    assert set(first.submitted()) == {job.job_id for job in first.slurm_jobs}
    good = workdir / "good.txt"
    good_before = (good.read_text(), good.stat().st_mtime_ns)
    assert not (workdir / "bad.txt").exists()

    (workdir / "fixed").touch()
    second = run_snakemake(_profile_args(), cwd=workdir, timeout=180)
    assert second.returncode == 0, second.output[-3000:]
    assert [(j.rule, j.state) for j in second.slurm_jobs] == [("bad", "COMPLETED")]
    assert (good.read_text(), good.stat().st_mtime_ns) == good_before  # not redone
    assert (workdir / "bad.txt").read_text().strip() == str(second.slurm_jobs[0].job_id)


def _dry_run(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    args = ["-s", str(SNAKEFILE), "--directory", str(workdir), "--configfile", str(SMOKE), "-n"]
    return subprocess.run(
        [*SNAKEMAKE, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.slurm
@pytest.mark.slow
def test_smoke_study_runs_every_job_through_slurm(slurm_cluster, tmp_path, mnist_dir):
    env = env_with_mnist(mnist_dir)
    dry = _dry_run(tmp_path, env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    planned = job_stats(dry.stdout)

    args = ["-s", str(SNAKEFILE), "--directory", str(tmp_path), "--configfile", str(SMOKE)]
    run = run_snakemake([*args, *_profile_args()], cwd=tmp_path, timeout=900, env=env)
    assert run.returncode == 0, run.output[-4000:]

    remote, local = executed_rules(run.output)
    assert remote + local == planned  # every planned job ran, on SLURM or locally
    assert run.slurm_rules() == remote  # each non-local job is exactly one SLURM job
    assert not set(local) & set(run.slurm_rules())
    assert {"dataset", "pretrain", "finetune"} <= set(run.slurm_rules())  # the heavy stages
    assert {job.state for job in run.slurm_jobs} == {"COMPLETED"}
    assert len({job.name for job in run.slurm_jobs}) == 1  # one snakemake run, no stray jobs
    assert set(run.submitted()) == {job.job_id for job in run.slurm_jobs}
    logs = list((tmp_path / ".snakemake/slurm_logs").rglob("*.log"))
    assert sorted(int(p.stem) for p in logs) == sorted(j.job_id for j in run.slurm_jobs)

    _assert_results_complete(tmp_path / "results/results.csv")
    html = (tmp_path / "reports/report.html").read_text()
    for dataset in load_config(SMOKE)["grid"]["datasets"]:
        assert dataset in html


def _assert_results_complete(path: Path) -> None:
    """Every (dataset, depth, pretraining, dropout, seed) cell of the smoke grid has candidates,
    exactly one of them selected unless every one failed (diverged, blew up or stayed at chance:
    the toy rectangles nets often do), and a test error in [0, 1]."""
    grid = load_config(SMOKE)["grid"]  # with the schema's defaults (pretraining: all four)
    table = pd.read_csv(path)
    keys = ["dataset", "depth", "pretraining", "dropout", "seed"]
    cells = Counter(map(tuple, table.loc[table["selected"].astype(bool), keys].values.tolist()))
    failed = table["fail_reason"].notna() & (table["fail_reason"].astype(str) != "")
    all_failed = {k for k, g in failed.groupby([table[c] for c in keys]) if g.all()}
    planned = {
        (d, depth, p, do, s)
        for d in grid["datasets"]
        for depth in grid["depths"]
        for p in grid["pretraining"]
        for do in grid["dropout"]
        for s in grid["seeds"]
    }
    assert set(map(tuple, table[keys].values.tolist())) == planned  # every cell has candidates
    assert set(cells) == planned - all_failed
    assert set(cells.values()) == {1}
    converged = ~table["diverged"].astype(bool)
    assert table.loc[converged, "test_error"].between(0, 1).all()
