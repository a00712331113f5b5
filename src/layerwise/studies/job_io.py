"""What every job of every study does around its training: device, record, files.

A job receives its *slice* of the config (what it reads, nothing else: Snakemake reruns it exactly
when that slice changes) and writes its directory (``layerwise.layout``) atomically. The record's
``config_hash`` covers the slice, so two jobs with the same hash ran the same settings.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from layerwise import files, layout, provenance
from layerwise.config import config_hash
from layerwise.device import (
    choose_device,
    configure_precision,
    current_precision,
    product_arithmetic,
)
from layerwise.engine.finetune import FinetuneSettings
from layerwise.layout import PREDICTIONS_LABELS
from layerwise.studies.members import budget_of


@dataclass(frozen=True)
class RunSettings:
    """Where and how a training job runs (config keys ``study``, ``device``, ``precision``)."""

    study: str
    device: str = "auto"
    precision: str = "float32"

    @classmethod
    def from_config(cls, cfg: dict) -> RunSettings:
        return cls(cfg["study"], cfg["device"], cfg["precision"])


def setup_device(run: RunSettings, threads: int) -> torch.device:
    """Thread count, device and product precision of a training job ("auto" resolved for the
    device; "bf16" on the CPU = bfloat16 products in the engine's training steps)."""
    torch.set_num_threads(max(1, int(threads)))
    device = choose_device(run.device)
    configure_precision(run.precision, device)
    return device


class JobClock:
    """Start time of a job (wall clock for the record, perf counter for the duration)."""

    def __init__(self) -> None:
        self.started, self.t0 = provenance.now(), time.perf_counter()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.t0, 3)


def job_record(
    kind: str, job_id: str, study: str, ds, device, clock: JobClock, slice_, **extra
) -> dict:
    """The record.json of a job (docs/architecture.md): identity, provenance, precision, wall time.

    ``slice_`` is the config slice (any JSON-able object) the job ran with; ``config_hash`` is its
    hash.
    """
    return {
        "job_id": job_id,
        "kind": kind,
        "study": study,
        "dataset": ds.name,
        "config_hash": config_hash(slice_),
        "dataset_sha256": (ds.card or {}).get("checksum", "unknown"),
        "git_commit": provenance.git_commit(),
        "versions": provenance.package_versions(),
        "device": str(device),
        "precision": current_precision(),  # the mode, "auto" resolved
        "products": product_arithmetic(None, device),  # what the products really ran in
        "wall_time_s": clock.seconds(),
        "started": clock.started,
        "finished": provenance.now(),
        **extra,
    }


def write_population(out_dir: Path, member_ids: list[str], result) -> None:
    """weights/{member_id}.pt (best-epoch layers, output layer last) and history.csv."""
    out_dir = Path(out_dir)
    for k, mid in enumerate(member_ids):
        params = [(w[k].detach().cpu().clone(), b[k].detach().cpu().clone())
                  for w, b in result.best_params]  # fmt: skip
        files.write_with(layout.weights_file(out_dir, mid), lambda p, x=params: torch.save(x, p))
    hist = result.history.copy()
    hist.insert(0, "member_id", [member_ids[int(k)] for k in hist.pop("member")])
    files.write_with(out_dir / layout.HISTORY, lambda p: hist.to_csv(p, index=False))


def write_predictions(out_dir: Path, member_ids: list[str], result, y_test) -> None:
    """predictions.npz: member_id -> (n_test,) uint8 predicted class of the best-epoch
    parameters (the engine's ``test_predictions``; a member whose test split was not evaluated,
    dropped by successive halving, has no entry), plus ``y_test`` once (docs/claims.md: what the
    paired tests read)."""
    pred = result.test_predictions.cpu().numpy()
    if pred.size and pred.max() > 255:
        raise ValueError(f"predictions.npz stores uint8 classes; got class {pred.max()}")
    arrays = {
        mid: pred[k].astype(np.uint8) for k, mid in enumerate(member_ids) if (pred[k] >= 0).all()
    }
    arrays[PREDICTIONS_LABELS] = np.asarray(y_test).astype(np.uint8)
    files.write_with(Path(out_dir) / layout.PREDICTIONS, lambda p: np.savez_compressed(p, **arrays))


def write_table(path: Path, table) -> None:
    files.write_with(Path(path), lambda p: table.to_csv(p, index=False))


def plain(obj):
    """A JSON/YAML-safe copy of nested dicts, lists and tuples (tuples become lists)."""
    return json.loads(json.dumps(obj, default=str))


def job_slice(run: RunSettings, **parts) -> dict:
    """The config slice of a job as plain data (config.yaml, record hash): run settings + parts
    (dataclasses become dicts, tuples lists; a job's engine settings become its ``budget``, the
    per-member fields being its members')."""
    out = {"run": dataclasses.asdict(run)}
    for name, part in parts.items():
        out[name] = _fields(part) if dataclasses.is_dataclass(part) else part
    return plain(out)


def _fields(part) -> dict:
    """A dataclass as a dict, any FinetuneSettings field as ``budget`` (members.budget_of)."""
    engine = {f.name for f in dataclasses.fields(part)
              if isinstance(getattr(part, f.name), FinetuneSettings)}  # fmt: skip
    return {
        ("budget" if key in engine else key): budget_of(getattr(part, key)) if key in engine else v
        for key, v in dataclasses.asdict(part).items()
    }


def write_slice(out_dir: Path, slice_: dict) -> None:
    """config.yaml: the config slice the job ran with."""
    files.write_text(Path(out_dir) / layout.CONFIG, yaml.safe_dump(slice_, sort_keys=False))
