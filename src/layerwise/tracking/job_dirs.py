"""Read job directories (the file record) into what the MLflow import needs; no mlflow here.

A job directory is the unit of import (docs/architecture.md, "Files on disk"):

- ``pretrain/{dataset}/{method}/{pretrain_id}/``: record.json, history.csv
  (member, seed, layer, epoch, recon_error), stack.pt.
- ``finetune/{dataset}/d{depth}/{group}/``: record.json, members.csv (tidy columns minus
  ``selected``; selection comes from results.csv), history.csv (member_id, epoch, ...),
  ``weights/{member_id}.pt``, config.yaml.
- any other study's job (``dropout_study/{activation}/``, ``deep_autoencoder/code{n}/``, and a
  new study's): record.json, the members file the record names (``members_file``, default
  members.csv; with a ``selected`` column when the study selects within the job), history.csv
  (member_id, epoch, ...), ``weights/{member_id}.pt`` where there are weights. No code here
  changes when a study is added.

Which directories are imported is the track rule's business (its inputs); nothing is globbed.

The *record hash* decides whether a job already in MLflow is up to date. It covers record.json,
members.csv and history.csv bytes, the job's ``selected`` flags from results.csv and the
``log_weights`` choice (changing which artifacts are logged is a change of what MLflow mirrors).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layerwise import layout

LOG_WEIGHTS_CHOICES = ("all", "selected", "none")


@dataclass(frozen=True)
class Job:
    """One job directory: its record, one row per member and its per-epoch history."""

    job_id: str
    kind: str  # "pretrain" | "finetune" | "dropout_study"
    path: Path
    record: dict
    members: pd.DataFrame  # one row per member; columns member_id, selected (bool), ...
    history: pd.DataFrame  # finetune: member_id, epoch, ...; pretrain: member_id, layer, epoch, ...
    record_hash: str


def read_selection(results_csv: Path) -> dict[str, dict[str, bool]]:
    """results.csv -> {job_id: {member_id: selected}}."""
    table = pd.read_csv(results_csv, usecols=["job_id", "member_id", "selected"])
    table["selected"] = table["selected"].map(_as_bool)
    selection: dict[str, dict[str, bool]] = {}
    for row in table.itertuples(index=False):
        selection.setdefault(str(row.job_id), {})[str(row.member_id)] = bool(row.selected)
    return selection


def load_job(job_dir: Path, selection: dict[str, dict[str, bool]], log_weights: str) -> Job:
    """Read one job directory; ``selection`` comes from :func:`read_selection`."""
    if log_weights not in LOG_WEIGHTS_CHOICES:
        raise ValueError(f"log_weights must be one of {LOG_WEIGHTS_CHOICES}, got {log_weights!r}")
    record = json.loads((job_dir / "record.json").read_text())
    kind = record.get("kind")
    if kind == "finetune":
        members, history = _finetune_tables(job_dir, record["job_id"], selection)
    elif kind == "pretrain":
        members, history = _pretrain_tables(job_dir, record["job_id"])
    else:  # any other study: its members file says which members it selected, if any
        members, history = _study_tables(job_dir, record.get("members_file", layout.MEMBERS))
    flags = dict(zip(members["member_id"], members["selected"], strict=True))
    digest = record_hash(job_dir, flags, log_weights)
    return Job(record["job_id"], kind, job_dir, record, members, history, digest)


#: What an import makes of a job; a change re-imports every job once (2: members that diverged
#: or failed are FAILED runs).
IMPORT_FORMAT = 2


def record_hash(job_dir: Path, selected: dict[str, bool], log_weights: str) -> str:
    """sha256 over record.json, members.csv, history.csv bytes, selected flags, log_weights and
    the import format."""
    h = hashlib.sha256()
    for name in ("record.json", "members.csv", "history.csv"):
        path = job_dir / name
        if path.exists():
            # Name and length prefix so that moving bytes between files changes the hash.
            data = path.read_bytes()
            h.update(f"{name}\0{len(data)}\0".encode())
            h.update(data)
    for member_id in sorted(selected):
        h.update(f"selected\0{member_id}\0{int(selected[member_id])}\n".encode())
    h.update(f"log_weights\0{log_weights}".encode())
    h.update(f"format\0{IMPORT_FORMAT}".encode())
    return h.hexdigest()


def _finetune_tables(
    job_dir: Path, job_id: str, selection: dict[str, dict[str, bool]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    members = pd.read_csv(job_dir / "members.csv")
    members["member_id"] = members["member_id"].astype(str)
    flags = selection.get(job_id)
    if flags is None:
        raise ValueError(f"job {job_id!r} has no rows in results.csv; rebuild results.csv first")
    missing = sorted(set(members["member_id"]) - set(flags))
    if missing:
        raise ValueError(f"job {job_id!r}: members {missing[:3]} missing from results.csv")
    members["selected"] = members["member_id"].map(flags).astype(bool)
    history = pd.read_csv(job_dir / "history.csv")
    history["member_id"] = history["member_id"].astype(str)
    return members, history


def _study_tables(job_dir: Path, members_file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Any other study's job (dropout study, deep autoencoder, ...): its members file holds one
    row per member, with ``selected`` when the study selects within the job (False otherwise);
    history.csv has member_id and epoch columns (other identifying columns are member params)."""
    members = pd.read_csv(job_dir / members_file)
    members["member_id"] = members["member_id"].astype(str)
    if "selected" in members:
        members["selected"] = members["selected"].map(_as_bool).astype(bool)
    else:
        members["selected"] = False
    history = pd.read_csv(job_dir / layout.HISTORY)
    history = history.drop(columns=[c for c in ("seed", "pretrained") if c in history])
    history["member_id"] = history["member_id"].astype(str)
    return members, history


def _pretrain_tables(job_dir: Path, job_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pretraining members are the (member, seed) pairs of history.csv.

    member_id = ``{method}.{pretrain_id}.s{seed}``, the prefix that the fine-tuning member ids
    of the same stack carry. Pretraining has no selection: ``selected`` is False.
    """
    history = pd.read_csv(job_dir / "history.csv")
    prefix = ".".join(job_id.split("/")[2:4])  # pretrain/{dataset}/{method}/{pretrain_id}
    history["member_id"] = [f"{prefix}.s{int(s)}" for s in history["seed"]]
    # the record lists every seed, also those with no history (random init "none" trains nothing)
    seeds = json.loads((job_dir / "record.json").read_text()).get("settings", {}).get("seeds")
    if seeds is not None:
        members = pd.DataFrame({"member": range(len(seeds)), "seed": seeds})
        members["member_id"] = [f"{prefix}.s{int(s)}" for s in seeds]
        members = members[["member_id", "member", "seed"]]
    else:
        members = history[["member_id", "member", "seed"]].drop_duplicates("member_id")
        members = members.sort_values("member").reset_index(drop=True)
    members["selected"] = False
    return members, history


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise ValueError(f"results.csv: selected must be true/false, got {value!r}")
    return bool(value) and not pd.isna(value)
