"""The reproduction table stacks the pieces' comparisons and judges each cell."""

import pandas as pd
import pytest

from layerwise.report.figures import published_scatter
from layerwise.report.reproduction import COMPARISON, collect, main
from layerwise.report.style import styled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _piece(root, name, rows):
    path = root / name / COMPARISON
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def _row(model, depth, ours, verdict, dropout=False, dataset="d"):
    return dict(source="P", table="t", dataset=dataset, model=model, pretraining="rbm", depth=depth,
                dropout=dropout, paper_pct=2.0, paper_ci_pct=0.1, status="ok", unverified=True,
                ours_pct=ours, ours_ci_pct=0.1, diff_pct=None if ours is None else ours - 2.0,
                verdict=verdict)  # fmt: skip


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
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)  # the figure beside the CSV
    assert "wrote " + str(tmp_path / "r.csv") + " and " + str(tmp_path / "r.png") in out


def test_the_figure_has_a_panel_per_data_set_on_its_own_scale(tmp_path):
    """Two pieces of one set and a third set: two panels, titled, each spanning its own cells."""
    _piece(tmp_path, "rect", [_row("SAA-3", 3, 2.3, "within intervals", dataset="rectangles")])
    _piece(tmp_path, "rect1", [_row("NNet", 1, 7.0, "within intervals", dataset="rectangles")])
    high = _row("DBN-3", 3, 19.0, "worse", dataset="convex") | {"paper_pct": 18.6}
    _piece(tmp_path, "vex", [high, _row("NNet", 1, None, "missing", dataset="convex")])
    with styled():
        fig = published_scatter(collect(tmp_path))
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["rectangles", "convex"]
    rect, vex = (ax.get_xlim() for ax in panels)
    assert rect[0] < 1.9 and 7.1 < rect[1] < 10  # the rectangles cells (2.0-7.1), not convex's
    assert 15 < vex[0] < 18.5 and 19.1 < vex[1] < 22  # convex's one number, its own scale


def test_no_number_of_ours_writes_the_table_and_no_figure(tmp_path, capsys):
    _piece(tmp_path, "a", [_row("DBN-1", 1, None, "missing")])
    main([str(tmp_path), "--out", str(tmp_path / "r.csv")])
    assert (tmp_path / "r.csv").is_file() and not (tmp_path / "r.png").exists()
    assert "0 of 1 cells reached" in capsys.readouterr().out


def test_an_out_named_png_is_refused_before_anything_is_written(tmp_path, capsys):
    _piece(tmp_path, "a", [_row("DBN-1", 1, 2.0, "within intervals")])
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--out", str(tmp_path / "r.png")])
    assert "name the CSV" in capsys.readouterr().err and not (tmp_path / "r.png").exists()


def test_no_pieces_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        collect(tmp_path)
