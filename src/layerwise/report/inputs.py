"""Read and validate the report's input files (docs/architecture.md, "Files on disk").

Every problem with an input -- a missing file, a missing column, no rows, a value of the wrong type
-- becomes a :class:`ReportError` that names the file and the problem, so a broken run never
produces a broken page. Nothing here computes a statistic; see ``tables.py``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from layerwise import layout
from layerwise.analysis.claims import CLAIMS_COLUMNS, COMPARISON_COLUMNS
from layerwise.metrics import failed_rows
from layerwise.report.errors import ReportError

#: Columns of results.csv the report reads (layerwise.layout; extra columns are ignored).
RESULTS_COLUMNS = (*layout.REQUIRED_COLUMNS, layout.SELECTED)
#: Columns of history.csv the report needs; grad_norm_l* and train_error are optional.
HISTORY_COLUMNS = ("member_id", "epoch", "valid_error")
BOOL_COLUMNS = ("dropout", "diverged", "selected")
ERROR_COLUMNS = ("train_error", "valid_error", "test_error")
REFERENCE_COLUMNS = (
    "source",
    "table",
    "dataset",
    "model",
    "pretraining",
    "depth",
    "test_error_pct",
    "ci95_pct",
    "status",
)
PROVENANCE_KEYS = (
    "config",
    "git_commit",
    "versions",
    "device",
    "stage_wall_time_s",
    "n_jobs",
    "n_runs",
    "tracking_uri",
    "started",
    "finished",
)

_TRUE = {"true", "1", "yes", "t", "1.0"}
_FALSE = {"false", "0", "no", "f", "0.0"}


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{what} not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ReportError(f"{what} {path} is not a readable CSV: {err}") from err
    if frame.empty:
        raise ReportError(f"{what} {path} has no rows")
    return frame


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def _as_bool(series: pd.Series, name: str, what: str) -> pd.Series:
    """Accept real booleans and the spellings CSV round trips produce (True/true/1)."""
    if series.dtype == bool:
        return series
    text = series.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ReportError(
            f"{what} column {name!r} must be boolean (True/False); got {series[bad].iloc[0]!r}"
        )
    return text.isin(_TRUE)


def _as_number(series: pd.Series, name: str, what: str, *, allow_nan: bool) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna() if allow_nan else values.isna()
    if bad.any():
        raise ReportError(f"{what} column {name!r} must be numeric; got {series[bad].iloc[0]!r}")
    return values.astype(float)


def load_results(path: Path) -> pd.DataFrame:
    """results.csv -> validated frame (bools as bool, depth as int, errors as float in [0, 1])."""
    what = "results table"
    frame = _read_csv(path, what)
    _require_columns(frame, RESULTS_COLUMNS, what)
    for col in BOOL_COLUMNS:
        frame[col] = _as_bool(frame[col], col, what)
    depth = _as_number(frame["depth"], "depth", what, allow_nan=False)
    if ((depth % 1 != 0) | (depth < 1)).any():
        raise ReportError(f"{what} column 'depth' must hold integers >= 1; got {depth.unique()}")
    frame["depth"] = depth.astype(int)
    frame["n_test"] = _as_number(frame["n_test"], "n_test", what, allow_nan=False)
    if (frame["n_test"] < 1).any():
        raise ReportError(f"{what} column 'n_test' must be >= 1")
    for col in ERROR_COLUMNS:
        values = _as_number(frame[col], col, what, allow_nan=True)
        if ((values < 0) | (values > 1)).any():
            raise ReportError(f"{what} column {col!r} must be an error rate in [0, 1] (or NaN)")
        frame[col] = values
    for col in ("dataset", "pretraining", "candidate", "member_id", "pretrain_id"):
        frame[col] = frame[col].astype(str)
    if not frame["selected"].any() and not failed_rows(frame).all():
        # no selection at all is only legitimate when every member failed (the cells then read
        # "diverged"/"failed", docs/reliability.md); otherwise the table was not selected
        raise ReportError(f"{what} {path} has no selected rows (column 'selected' is all False)")
    return frame


def load_history(path: Path) -> pd.DataFrame:
    """history.csv -> validated frame; accepts `job` as a spelling of `job_id`."""
    what = "history table"
    frame = _read_csv(path, what)
    if "job_id" not in frame.columns and "job" in frame.columns:
        frame = frame.rename(columns={"job": "job_id"})
    _require_columns(frame, HISTORY_COLUMNS, what)
    if "job_id" not in frame.columns and not {"dataset", "depth"} <= set(frame.columns):
        raise ReportError(f"{what} needs 'job_id' or both 'dataset' and 'depth' to join results")
    frame["epoch"] = _as_number(frame["epoch"], "epoch", what, allow_nan=False)
    numeric = [c for c in frame.columns if c.startswith("grad_norm_l") or c.endswith("_error")]
    for col in numeric + (["depth"] if "depth" in frame.columns else []):
        frame[col] = _as_number(frame[col], col, what, allow_nan=True)
    frame["member_id"] = frame["member_id"].astype(str)
    return frame


def load_provenance(path: Path | None) -> dict:
    """provenance.json -> dict with every key of PROVENANCE_KEYS (absent ones become None)."""
    data: dict = {}
    if path is not None and Path(path).is_file():
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise ReportError(f"provenance file {path} is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise ReportError(f"provenance file {path} must hold a JSON object")
    return {key: data.get(key) for key in PROVENANCE_KEYS} | data


def load_reference(path: Path | None) -> pd.DataFrame:
    """Published numbers; None or a missing file falls back to the copy shipped in the package."""
    if path is None or not Path(path).is_file():
        source = resources.files("layerwise").joinpath("reference/published_results.csv")
        with resources.as_file(source) as shipped:
            frame = _read_csv(Path(shipped), "reference table")
    else:
        frame = _read_csv(Path(path), "reference table")
    _require_columns(frame, REFERENCE_COLUMNS, "reference table")
    frame["depth"] = pd.to_numeric(frame["depth"], errors="coerce")
    for col in ("test_error_pct", "ci95_pct"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["pretraining"] = frame["pretraining"].fillna("").astype(str)
    return frame


def load_json(path: Path) -> dict:
    """A small JSON object (data cards, extra sections); errors name the file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"cannot read JSON file {path}: {err}") from err
    if not isinstance(data, dict):
        raise ReportError(f"JSON file {path} must hold an object")
    return data


def finite_or_nan(values: pd.Series) -> np.ndarray:
    """Float array with inf mapped to NaN (a diverged member may log inf)."""
    arr = np.asarray(values, dtype=float)
    return np.where(np.isfinite(arr), arr, np.nan)


def load_claims(claims_csv: Path, comparisons_csv: Path | None) -> tuple[pd.DataFrame, ...]:
    """results/claims.csv and results/claim_comparisons.csv (the `claims` rule's outputs)."""
    claims = _read_csv(Path(claims_csv), "claims table")
    _require_columns(claims, CLAIMS_COLUMNS, f"claims table {claims_csv}")
    claims = claims.fillna({"exceptions": "", "note": "", "baseline": ""})
    if comparisons_csv is None or not Path(comparisons_csv).is_file():
        return claims, pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    try:
        comparisons = pd.read_csv(comparisons_csv)
    except pd.errors.EmptyDataError:
        comparisons = pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    _require_columns(comparisons, COMPARISON_COLUMNS, f"claim comparisons {comparisons_csv}")
    return claims, comparisons
