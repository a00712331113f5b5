"""The deep_autoencoder study's summary files, read for the claims (6, 6b) and the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SUMMARY_COLUMNS = ("method", "code_size", "pretrained", "seed", "test_mse_per_image")


class SummaryError(ValueError):
    """A summary.csv that is empty or lacks a column; the message names the file."""


def find_code_dirs(folder) -> list[Path]:
    """``code{n}`` folders holding a summary.csv, sorted by decreasing code size.

    ``folder``: the study's folder, or the report rule's inputs (the summary.csv files) as a list.
    """
    if isinstance(folder, (list, tuple)):
        found = [Path(p).parent for p in folder if Path(p).is_file()]
    elif folder is None or not Path(folder).is_dir():
        return []
    else:
        found = [p.parent for p in Path(folder).glob("code*/summary.csv")]
    return sorted(found, key=lambda p: -int(p.name[4:]) if p.name[4:].isdigit() else 0)


def load_summaries(dirs: list[Path]) -> pd.DataFrame:
    """All summary.csv files as one table; a missing column is a SummaryError naming the file."""
    frames = []
    for d in dirs:
        frame = pd.read_csv(d / "summary.csv")
        missing = [c for c in SUMMARY_COLUMNS if c not in frame]
        if missing or frame.empty:
            raise SummaryError(f"{d / 'summary.csv'}: empty or missing columns {missing}")
        frame["pretrained"] = frame["pretrained"].astype(str).str.lower().isin(["true", "1"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
