"""What each MLflow run holds: tags, params, metrics, artifacts of parent (job) and child (member).

Naming (chosen so that a run's latest value is the number the paper tables report):

- per-epoch curves are ``epoch/<column>`` at step = epoch (MLflow groups the ``epoch/`` section);
  pretraining curves are ``epoch/recon_error_l{layer}``;
- final metrics keep the tidy-table names (``train_error``, ``valid_error``, ``test_error``,
  ``test_ci95``, ``best_epoch``, ``epochs_run``, ``diverged_epoch``, ``pruned_epoch``), logged at
  step 0 (a member stopped by successive halving is also tagged ``pruned``); non-finite
  finals (a member that diverged before any evaluation) are omitted rather than logged as NaN;
- params of a child are the member's hyperparameter columns (every members.csv column that is not
  an outcome or an identity); params of a parent are the record's settings (flattened with dots)
  and ``version.<package>``;
- all timestamps come from the record (started/finished), so re-importing is deterministic;
- a member that diverged or failed ends as a FAILED run (:func:`member_status`), its parent
  FINISHED (the import of the job completed).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path

from mlflow.entities import Metric, Param

from layerwise.tracking.job_dirs import Job

FINAL_METRICS = (
    "train_error",
    "valid_error",
    "test_error",
    "test_ci95",
    "best_epoch",
    "epochs_run",
    "diverged_epoch",
    "pruned_epoch",  # successive halving (engine.finetune_state.Tracker.prune)
    "test_mse_per_image",  # deep autoencoder (Hinton & Salakhutdinov 2006)
    "train_mse_per_image",
)
# Identity/outcome columns of members.csv that are not hyperparameters.
NOT_PARAMS = frozenset(
    {
        *FINAL_METRICS,
        "member_id",
        "job_id",
        "study",
        "selected",
        "diverged",
        "fail_reason",
        "wall_time_s",
    }
)
RECORD_TAGS = (
    "job_id", "kind", "dataset", "depth", "method", "group", "study",
    "config_hash", "dataset_sha256", "git_commit", "device", "precision", "products", "started",
    "finished",
)  # fmt: skip
_KEY_BAD = re.compile(r"[^\w\-. /:]")
MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value's length


def job_times_ms(record: dict) -> tuple[int | None, int | None]:
    """(started, finished) of the record as epoch milliseconds (None if absent)."""
    return _iso_ms(record.get("started")), _iso_ms(record.get("finished"))


def parent_tags(job: Job) -> dict[str, str]:
    return {k: _text(job.record[k]) for k in RECORD_TAGS if job.record.get(k) is not None}


def parent_params(job: Job) -> list[Param]:
    flat = _flatten(job.record.get("settings") or {})
    flat.update({f"version.{k}": v for k, v in (job.record.get("versions") or {}).items()})
    return [Param(_key(k), _text(v)[:MAX_PARAM_VALUE]) for k, v in sorted(flat.items())]


def parent_metrics(job: Job) -> list[Metric]:
    ts = job_times_ms(job.record)[1] or 0
    values = {"wall_time_s": job.record.get("wall_time_s"), "n_members": len(job.members)}
    return [Metric(k, float(v), ts, 0) for k, v in values.items() if _finite(v)]


def parent_artifacts(job: Job, log_weights: str) -> list[Path]:
    """Small text files always; stack.pt (pretrain) unless log_weights == "none"."""
    paths = [job.path / n for n in ("record.json", "config.yaml", "members.csv")]
    if job.kind == "pretrain" and log_weights != "none":
        paths.append(job.path / "stack.pt")
    return [p for p in paths if p.is_file()]


def member_tags(job: Job, member: dict) -> dict[str, str]:
    tags = {
        "member_id": member["member_id"],
        "job_id": job.job_id,
        "kind": job.kind,
        "seed": _text(member["seed"]),
        "selected": _text(bool(member["selected"])),
        "diverged": _text(_diverged(job, member)),
    }
    if not _missing(member.get("fail_reason")):  # "non-finite" | "blow-up" | "chance"
        tags["fail_reason"] = _text(member["fail_reason"])
    if _finite(member.get("pruned_epoch")):
        tags["pruned"] = "true"
    tags.update(
        {
            k: _text(job.record[k])
            for k in ("dataset", "depth", "study")
            if job.record.get(k) is not None
        }
    )
    return tags


def member_status(job: Job, member: dict) -> str:
    """FAILED for a member that diverged or failed (``fail_reason``), so that the run list shows
    it; FINISHED otherwise."""
    failed = _diverged(job, member) or not _missing(member.get("fail_reason"))
    return "FAILED" if failed else "FINISHED"


def member_params(job: Job, member: dict) -> list[Param]:
    if job.kind == "pretrain":
        chosen = {"member": member["member"], "seed": member["seed"]}
    else:
        chosen = {k: v for k, v in member.items() if k not in NOT_PARAMS}
    return [
        Param(_key(k), _text(v)[:MAX_PARAM_VALUE]) for k, v in chosen.items() if not _missing(v)
    ]


def member_metrics(job: Job, member: dict) -> list[Metric]:
    """Per-epoch curves (step = epoch) and final metrics (step 0) of one member."""
    ts = job_times_ms(job.record)[1] or 0
    rows = job.history[job.history["member_id"] == member["member_id"]]
    metrics: list[Metric] = []
    if job.kind == "pretrain":
        for layer, curve in rows.groupby("layer", sort=True):
            curve = curve.sort_values("epoch")
            key = f"recon_error_l{int(layer)}"
            metrics += [
                Metric(f"epoch/{key}", float(v), ts, int(e))
                for e, v in zip(curve["epoch"], curve["recon_error"], strict=True)
            ]
            if _finite(curve["recon_error"].iloc[-1]):
                metrics.append(Metric(key, float(curve["recon_error"].iloc[-1]), ts, 0))
        return metrics
    columns = [c for c in rows.columns if c not in ("member_id", "epoch")]
    for row in rows.sort_values("epoch").to_dict("records"):
        metrics += [Metric(f"epoch/{c}", float(row[c]), ts, int(row["epoch"])) for c in columns]
    finals = [k for k in FINAL_METRICS if k in member and _finite(member[k])]
    return metrics + [Metric(k, float(member[k]), ts, 0) for k in finals]


def member_weights(job: Job, member: dict, log_weights: str) -> Path | None:
    """A finetune member's ``weights/{member_id}.pt`` if log_weights asks for it and it exists."""
    wanted = log_weights == "all" or (log_weights == "selected" and bool(member["selected"]))
    path = job.path / "weights" / f"{member['member_id']}.pt"
    return path if wanted and job.kind != "pretrain" and path.is_file() else None


def _diverged(job: Job, member: dict) -> bool:
    if "diverged" in member:
        return _text(member["diverged"]).lower() in ("true", "1")
    # Pretraining: a member diverged if its last reconstruction error is not finite.
    rows = job.history[job.history["member_id"] == member["member_id"]]
    return bool(len(rows)) and not _finite(
        rows.sort_values(["layer", "epoch"])["recon_error"].iloc[-1]
    )


def _flatten(settings: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _key(name: str) -> str:
    return _KEY_BAD.sub("_", str(name))[:250]


def _text(value: object) -> str:
    """Stable text of a value: bools lower-case, integral floats without '.0', lists as JSON."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _iso_ms(stamp: str | None) -> int | None:
    if not stamp:
        return None
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
