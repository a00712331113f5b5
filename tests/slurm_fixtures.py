"""Helpers for tests/test_slurm.py: the local SLURM cluster (.ci/slurm-cluster.sh), snakemake runs
with a hard timeout, and what SLURM itself recorded about a run's jobs.

Two independent witnesses of "this job went through SLURM":
- snakemake's own log ("Job 3 has been submitted with SLURM jobid 17 (log: .../rule_X/...)"), and
- slurmctld, read with `squeue --states=all` (finished jobs stay listed for MinJobAge = 3600 s on
  the test cluster). The plugin names every job of one run by the run's UUID and puts
  `rule_<name>[_wildcards_<w>]` in the job comment, so jobs are attributed to rules from SLURM's
  side without trusting snakemake's log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from workflow_run import kill_group

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPT = ROOT / ".ci" / "slurm-cluster.sh"
PROFILE = ROOT / "profiles" / "slurm"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# Overrides of profiles/slurm for the local test cluster (docs/cluster.md explains each):
# no accounting -> status from squeue; tiny jobs -> poll every second instead of 10 s.
TEST_OVERRIDES = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
)

_SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")
_RULE_OF_LOG = re.compile(r"/slurm_logs/rule_([^/]+)/")
_RULE_OF_COMMENT = re.compile(r"^rule_(.+?)(?:_wildcards_.*)?$")


@dataclass(frozen=True)
class SlurmJob:
    """One row of `squeue --states=all`: what slurmctld knows about a job."""

    job_id: int
    name: str  # the snakemake run UUID
    state: str  # COMPLETED, FAILED, RUNNING, ...
    rule: str  # from the comment the plugin sets
    min_memory: str  # e.g. "200M": the --mem the job was submitted with


@dataclass
class Run:
    """A finished (or killed) snakemake invocation and the SLURM jobs submitted during it."""

    returncode: int
    output: str
    slurm_jobs: list[SlurmJob] = field(default_factory=list)

    def submitted(self) -> dict[int, str]:
        """SLURM job id -> rule, as snakemake's log reports its submissions."""
        out = {}
        for job_id, log in _SUBMITTED.findall(self.output):
            match = _RULE_OF_LOG.search(log)
            out[int(job_id)] = match.group(1) if match else "?"
        return out

    def slurm_rules(self) -> Counter:
        """Rule -> number of SLURM jobs, from slurmctld's side."""
        return Counter(job.rule for job in self.slurm_jobs)


def cluster_script(action: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `.ci/slurm-cluster.sh <action>` (start | status | stop) and capture its output."""
    return subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), action],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def why_no_cluster() -> str | None:
    """Why the fixture cannot start a cluster here, or None if it may try."""
    if os.geteuid() != 0:
        return "SLURM tests need root (the cluster script installs packages and starts daemons)"
    if not CLUSTER_SCRIPT.is_file():
        return f"{CLUSTER_SCRIPT} is missing"
    if shutil.which("sinfo") is None and shutil.which("apt-get") is None:
        return "neither SLURM (sinfo) nor apt-get is available to install it"
    return None


def squeue_jobs(after_id: int = 0) -> list[SlurmJob]:
    """All jobs slurmctld still lists (any state) with id > `after_id`."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k|%m"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    jobs = []
    for line in out.splitlines():
        job_id, name, state, comment, mem = line.strip().split("|", 4)
        if int(job_id) > after_id:
            match = _RULE_OF_COMMENT.match(comment)
            jobs.append(
                SlurmJob(int(job_id), name, state, match.group(1) if match else comment, mem)
            )
    return sorted(jobs, key=lambda j: j.job_id)


def last_job_id() -> int:
    """Highest job id slurmctld lists (0 on a fresh cluster)."""
    return max((job.job_id for job in squeue_jobs()), default=0)


def run_snakemake(
    args: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> Run:
    """Run snakemake in its own process group; on timeout stop it, scancel the jobs it submitted
    and raise AssertionError with the tail of its output."""
    before = last_job_id()
    log = cwd / f"snakemake-{before}.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*SNAKEMAKE, *args],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGINT makes snakemake scancel its jobs; it ignores a plain SIGTERM while it waits
            kill_group(proc, grace=20.0)
            leftover = [str(j.job_id) for j in squeue_jobs(before)]
            if leftover:
                subprocess.run(["scancel", *leftover], timeout=30, check=False)
            raise AssertionError(
                f"snakemake timed out after {timeout} s:\n{log.read_text()[-4000:]}"
            ) from None
    return Run(proc.returncode, log.read_text(), squeue_jobs(before))


def job_stats(output: str) -> Counter:
    """Rule -> job count from the 'Job stats:' table snakemake prints (first table only)."""
    counts: Counter = Counter()
    lines = output.splitlines()
    start = lines.index("Job stats:") + 3  # skip the title, header and dashes
    for line in lines[start:]:
        name, count = line.split()
        if name == "total":
            break
        counts[name] = int(count)
    return counts


def executed_rules(output: str) -> tuple[Counter, Counter]:
    """(remote, local) rule -> count of jobs snakemake started, from its 'rule X:' and
    'localrule X:' job headers."""
    remote = Counter(re.findall(r"^rule (\S+):$", output, flags=re.M))
    local = Counter(re.findall(r"^localrule (\S+):$", output, flags=re.M))
    return remote, local
