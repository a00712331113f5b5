"""Wall time per stage of a finished run, read from Snakemake's own job records.

Snakemake keeps one metadata file per output in ``.snakemake/metadata/`` with the rule that made
it and the job's start and end times. This module groups them into jobs (one job may write
several outputs) and prints, per rule, the number of jobs, the sum of their wall times (CPU-bound
jobs: about the CPU time they used) and the span from the first job's start to the last job's
end; the last line is the whole run's span, i.e. the run's wall time when every job ran in this
invocation (jobs skipped because their outputs were up to date keep their older times, and a run
resumed after an interruption spans the pause):

    python -m layerwise.run_timing              # the run in the current folder
    python -m layerwise.run_timing reproduce/convex --json timing.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

METADATA = Path(".snakemake") / "metadata"
SAME_JOB_S = 1.0  # outputs whose recorded starts are this close belong to one job


@dataclass(frozen=True)
class Job:
    rule: str
    start: float
    end: float


@dataclass(frozen=True)
class StageTime:
    rule: str
    jobs: int
    job_seconds: float
    span_seconds: float
    first_start: float
    last_end: float


def read_jobs(workdir: Path) -> list[Job]:
    """One entry per job that Snakemake recorded under ``workdir`` (outputs of a job merged)."""
    folder = Path(workdir) / METADATA
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} does not exist: give the folder the run was started in (the one holding "
            "`.snakemake/`; for `make reproduce`, reproduce/<piece>)"
        )
    records: dict[tuple, list[tuple[float, float]]] = {}
    for path in sorted(folder.iterdir()):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # Snakemake's own scratch files; nothing to time
        start, end = record.get("starttime"), record.get("endtime")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
            continue
        key = (str(record.get("rule", "?")), record.get("job_hash"))
        records.setdefault(key, []).append((float(start), float(end)))
    jobs = []
    for (rule, _), times in records.items():
        # the outputs of one job start within microseconds of each other; a job hash met again
        # later (another invocation) is another job
        times.sort()
        group = [times[0]]
        for start, end in times[1:]:
            if start - group[0][0] > SAME_JOB_S:
                jobs.append(_merge(rule, group))
                group = []
            group.append((start, end))
        jobs.append(_merge(rule, group))
    if not jobs:
        raise FileNotFoundError(f"{folder} holds no finished job: has the run produced anything?")
    return sorted(jobs, key=lambda j: (j.start, j.rule, j.end))


def _merge(rule: str, times: list[tuple[float, float]]) -> Job:
    return Job(rule=rule, start=min(t[0] for t in times), end=max(t[1] for t in times))


def stage_times(jobs: list[Job]) -> list[StageTime]:
    """Per rule, in the order the rules first started; the last row (rule ``all``) is the run."""
    by_rule: dict[str, list[Job]] = {}
    for job in jobs:
        by_rule.setdefault(job.rule, []).append(job)

    def summary(rule: str, group: list[Job]) -> StageTime:
        first, last = min(j.start for j in group), max(j.end for j in group)
        return StageTime(rule=rule, jobs=len(group),
                         job_seconds=round(sum(j.end - j.start for j in group), 1),
                         span_seconds=round(last - first, 1), first_start=first,
                         last_end=last)  # fmt: skip

    rows = [summary(rule, group) for rule, group in by_rule.items()]
    rows.sort(key=lambda r: r.first_start)
    return [*rows, summary("all", jobs)]


def markdown(rows: list[StageTime]) -> str:
    lines = ["| stage (rule) | jobs | sum of job wall times | span |", "|---|---|---|---|"]
    for row in rows:
        name = "**whole run**" if row.rule == "all" else row.rule
        lines.append(f"| {name} | {row.jobs} | {_minutes(row.job_seconds)} | "
                     f"{_minutes(row.span_seconds)} |")  # fmt: skip
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", default=".", type=Path,
                        help="the folder the run was started in (default: here)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = stage_times(read_jobs(args.workdir))
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
