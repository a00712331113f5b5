"""Job directories -> one tidy results table for the depth-table study (benchopt habit: one row
per run).

``results.csv`` has one row per fine-tuned member and a ``selected`` column marking, for every
(data set, depth, pretraining, dropout, seed), the candidate with the lowest validation error,
ties to the lower validation NLL (``layerwise.metrics.select_best``, finetune.tie_break).
``history.csv`` concatenates the per-epoch histories.
``provenance.json`` summarises what produced them (for the report).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from layerwise import files, layout, provenance
from layerwise.metrics import select_best


class ResultsError(ValueError):
    """A job directory that is missing or malformed."""


def _read_members(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(
            f"cannot read {path}: {exc}; delete its job directory and rerun"
        ) from exc
    missing = [c for c in layout.REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsError(f"{path} lacks columns {missing}; delete its job directory and rerun")
    return df


def read_job_tables(
    job_dirs: list[Path], tie_break: str = "valid_loss"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every fine-tuning job directory; return (results table with `selected`, history).
    ``tie_break``: how equal validation errors are selected (finetune.tie_break)."""
    if not job_dirs:
        raise ResultsError("no fine-tuning jobs to collect: is grid.datasets empty?")
    tables, histories = [], []
    for d in map(Path, job_dirs):
        members = _read_members(d / layout.MEMBERS)
        tables.append(members)
        hist = pd.read_csv(d / layout.HISTORY)
        info = members[[*layout.HISTORY_KEYS, "job_id"]]
        histories.append(hist.merge(info, on="member_id", how="left"))
    table = pd.concat(tables, ignore_index=True)
    dup = table.duplicated(["job_id", "member_id"])
    if dup.any():
        raise ResultsError(f"duplicate members: {table.loc[dup, 'member_id'].tolist()[:5]}")
    table["dropout"] = table["dropout"].astype(bool)
    table["diverged"] = table["diverged"].astype(bool)
    table[layout.SELECTED] = select_best(table, tie_break=tie_break)
    return table, pd.concat(histories, ignore_index=True)


def halving_counts(table: pd.DataFrame) -> dict[str, int]:
    """Member-epochs trained (the search's cost) and members stopped by successive halving."""
    pruned = table["pruned_epoch"].notna() if "pruned_epoch" in table else pd.Series(False)
    epochs = table["epochs_run"].sum() if "epochs_run" in table else 0
    return {"member_epochs": int(epochs), "n_pruned": int(pruned.sum())}


def stage_wall_times(record_paths: list[Path]) -> tuple[dict[str, float], int, list[str]]:
    """Sum of job wall times per stage, the number of runs (members), and the devices used."""
    stages: dict[str, float] = {}
    n_runs, devices = 0, set()
    for path in record_paths:
        rec = json.loads(Path(path).read_text())
        stages[rec["kind"]] = stages.get(rec["kind"], 0.0) + float(rec.get("wall_time_s", 0.0))
        n_runs += int(rec.get("n_members", 0))
        devices.add(rec.get("device", "unknown"))
    return {k: round(v, 1) for k, v in stages.items()}, n_runs, sorted(devices)


def write_study_tables(
    config: dict,
    finetune_dirs: list[Path],
    record_paths: list[Path],
    out_results: Path,
    out_history: Path,
    out_provenance: Path,
) -> None:
    """The `collect` rule: tidy table, concatenated history and provenance, written atomically.

    ``config`` is what the study trained with (the config without its ``report``, ``tracking``
    and ``resources`` sections, so that changing those does not rebuild the table).
    """
    table, history = read_job_tables(finetune_dirs, config["finetune"]["tie_break"])
    files.write_with(out_results, lambda p: table.to_csv(p, index=False))
    files.write_with(out_history, lambda p: history.to_csv(p, index=False))
    stages, n_runs, devices = stage_wall_times(record_paths)
    files.write_json(
        out_provenance,
        {
            "config": config,
            "git_commit": provenance.git_commit(),
            "versions": provenance.package_versions(),
            "device": ", ".join(devices),
            "stage_wall_time_s": stages,
            "n_jobs": len(record_paths),
            "n_runs": n_runs,
            **halving_counts(table),
            "started": provenance.earliest(
                json.loads(Path(p).read_text()).get("started") for p in record_paths
            ),
            "finished": provenance.now(),
        },
    )
