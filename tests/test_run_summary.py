"""The end of a run says what it produced (layerwise.run_summary, the Snakefile's onsuccess and
onerror hooks): cells finished / diverged / failed, and a loud warning when no cell finished."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from layerwise.run_summary import print_run_summary, run_summary

ROOT = Path(__file__).resolve().parents[1]


def _results(path: Path, rows: list[tuple[int, str, bool, bool, str]]) -> Path:
    """rows: (depth, pretraining, selected, diverged, fail_reason) on rectangles, seed 1."""
    table = pd.DataFrame(
        [
            {"dataset": "rectangles", "depth": d, "pretraining": p, "dropout": False, "seed": 1,
             "selected": sel, "diverged": div, "fail_reason": why,
             "valid_error": float("nan") if div else 0.1,
             "test_error": float("nan") if div else 0.12, "n_test": 500}
            for d, p, sel, div, why in rows
        ]
    )  # fmt: skip
    table.to_csv(path, index=False)
    return path


def test_every_member_diverged_ends_with_a_loud_warning(tmp_path, capsys):
    path = _results(tmp_path / "results.csv", [(1, "none", False, True, "non-finite"),
                                               (1, "ae", False, True, "blow-up")])  # fmt: skip
    assert print_run_summary(path) is False
    out = capsys.readouterr().out
    assert "layerwise: 0 cells finished, 2 diverged in every member" in out
    assert "2 of 2 members diverged or failed" in out
    assert "WARNING: no cell finished" in out and "finetune.lr" in out


def test_a_run_with_finished_cells_says_how_many(tmp_path):
    path = _results(tmp_path / "results.csv", [(1, "none", True, False, ""),
                                               (1, "ae", False, True, "non-finite"),
                                               (2, "ae", False, False, "chance")])  # fmt: skip
    text, finished = run_summary(path)
    assert finished and "WARNING" not in text
    assert re.search(r"1 cell finished, 1 diverged in every member, 1 failed in every member", text)


def test_no_results_table_is_said_too(tmp_path):
    text, finished = run_summary(tmp_path / "results.csv")
    assert not finished and "was not written" in text


def test_the_snakefile_prints_it_at_the_end_of_every_run():
    snakefile = (ROOT / "Snakefile").read_text()
    for hook in ("onsuccess:", "onerror:"):
        body = snakefile.split(hook, 1)[1].split("\n\n\n", 1)[0]
        assert "print_run_summary(L.RESULTS_CSV)" in body, hook
