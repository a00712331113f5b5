"""The reproduction table stacks the pieces' comparisons and judges each cell."""

import pandas as pd
import pytest

from layerwise.report.reproduction import COMPARISON, collect, main


def _piece(root, name, rows):
    path = root / name / COMPARISON
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def _row(model, depth, ours, verdict, dropout=False):
    return dict(source="P", table="t", dataset="d", model=model, pretraining="rbm", depth=depth,
                dropout=dropout, paper_pct=2.0, paper_ci_pct=0.1, status="ok", unverified=True,
                ours_pct=ours, ours_ci_pct=0.1, diff_pct=ours - 2.0, verdict=verdict)  # fmt: skip


def test_pieces_are_stacked_and_cells_judged(tmp_path, capsys):
    rows = [_row("DBN-1", 1, 2.05, "within intervals"), _row("DBN-3", 3, 3.0, "worse"),
            _row("DBN-3", 3, 1.0, "better", dropout=True)]  # fmt: skip
    _piece(tmp_path, "a", rows)
    _piece(tmp_path, "b", [_row("DBN-3", 3, 1.5, "better")])
    table = collect(tmp_path)
    assert list(table["piece"]) == ["a", "a", "b"]  # dropout rows are not targets
    assert list(table["reached"]) == [True, False, True]
    main([str(tmp_path), "--out", str(tmp_path / "r.csv")])
    out = capsys.readouterr().out
    assert "| a | DBN-3 (rbm) | 3 | 2.00 +- 0.10 (recalled) | 3.00 +- 0.10 | worse |" in out
    assert "2 of 3 cells reached" in out and (tmp_path / "r.csv").is_file()


def test_no_pieces_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        collect(tmp_path)
