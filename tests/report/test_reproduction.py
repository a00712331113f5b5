"""The reproduction table stacks the pieces' comparisons and judges each cell by the rule."""

import pandas as pd
import pytest

from layerwise.report.figures import published_scatter
from layerwise.report.reproduction import (
    CELLS,
    COMPARISON,
    collect,
    main,
    read_fan_in,
    read_pieces,
)
from layerwise.report.style import styled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _piece(root, name, rows, cells=None):
    path = root / name / COMPARISON
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    if cells is not None:
        pd.DataFrame(cells).to_csv(root / name / CELLS, index=False)


def _row(model, depth, ours, verdict, dropout=False, dataset="d", pretraining="rbm", **more):
    return dict(source="P", table="t", dataset=dataset, model=model, pretraining=pretraining,
                depth=depth, dropout=dropout, paper_pct=2.0, paper_ci_pct=0.1,
                status="ok" if ours is not None else "missing", unverified=True, ours_pct=ours,
                ours_ci_pct=0.1, diff_pct=None if ours is None else ours - 2.0,
                verdict=verdict) | more  # fmt: skip


def _cell(depth, mean_pct, std_pct, dataset="d", pretraining="rbm", dropout=False, n_seeds=2):
    return dict(dataset=dataset, depth=depth, pretraining=pretraining, dropout=dropout,
                status="ok", mean=mean_pct / 100, ci95=0.001, std=std_pct / 100,
                n_seeds=n_seeds, n_diverged=0, n_test=50000.0)  # fmt: skip


def test_pieces_are_stacked_and_cells_judged_with_their_seed_spread(tmp_path, capsys):
    rows = [_row("DBN-1", 1, 2.05, "within intervals"), _row("DBN-3", 3, 3.0, "worse"),
            _row("DBN-3", 3, 1.0, "better", dropout=True)]  # fmt: skip
    # DBN-1's seeds spread (0.3 points): consistent; DBN-3's agree: one point worse is worse
    _piece(tmp_path, "a", rows, [_cell(1, 2.05, 0.3), _cell(3, 3.0, 0.01),
                                 _cell(3, 1.0, 0.01, dropout=True)])  # fmt: skip
    _piece(tmp_path, "b", [_row("DBN-3", 3, 1.5, "better")])  # no cells.csv: binomial only
    table = collect(tmp_path)
    assert list(table["piece"]) == ["a", "a", "b"]  # dropout rows are not targets
    assert list(table["verdict"]) == ["consistent", "worse", "better"]
    assert list(table["overlap"]) == ["within intervals", "worse", "better"]  # the pieces' own
    assert list(table["n_seeds"]) == [2, 2, 0]
    assert table["ours_hw_pct"].iloc[0] == pytest.approx(12.706 * 0.3 / 2**0.5, rel=1e-3)
    main([str(tmp_path), "--out", str(tmp_path / "r.csv"), "--label", "development"])
    out = capsys.readouterr().out
    line = "| a | DBN-3 (rbm) | 3 | 2.00 +- 0.10 (recalled) | 3.00 +- 0.10 | 1.00 +- 0.14 | worse |"
    assert line in out
    assert "Development counts over 3 distinct cells: consistent 1, better 1, worse 1. Rule:" in out
    for name in ("r.csv", "r.png", "r-effects.csv"):
        assert str(tmp_path / name) in out and (tmp_path / name).is_file()
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)  # the figure beside the CSV


def test_the_same_net_against_two_papers_is_counted_once(tmp_path, capsys):
    """The 2007 row of a 2009 depth-table cell: shown, judged, not counted."""
    rows = [_row("deep net", 1, 2.05, "within intervals", source="P2009", unverified=False),
            _row("DBN-1", 1, 2.05, "worse", source="P2007", paper_pct=1.5)]  # fmt: skip
    _piece(tmp_path, "a", rows, [_cell(1, 2.05, 0.01)])
    table = collect(tmp_path)
    assert list(table["verdict"]) == ["consistent", "worse"]
    assert list(table["counted"]) == [True, False]
    main([str(tmp_path), "--out", str(tmp_path / "r.csv")])
    out = capsys.readouterr().out
    assert "Counts over 1 distinct cells: consistent 1, better 0, worse 0." in out
    assert "| (worse; same net, not counted) |" in out


def test_the_margin_is_an_option(tmp_path, capsys):
    """2.08 +- 0.01 over seeds against 2.00 +- 0.01: worse at no margin, consistent at 10%."""
    row = _row("DBN-1", 1, 2.08, "worse", paper_ci_pct=0.01, ours_ci_pct=0.01)
    _piece(tmp_path, "a", [row], [_cell(1, 2.08, 0.001)])
    assert collect(tmp_path, margin=0.0)["verdict"].item() == "worse"
    main([str(tmp_path), "--out", str(tmp_path / "r.csv"), "--margin", "0.1"])
    assert "consistent 1, better 0, worse 0" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "r.csv")["verdict"].item() == "consistent"


def test_the_effects_table_and_figure_go_beside_the_csv(tmp_path):
    rows = [_row("deep net", d, m, "-", pretraining=p, unverified=False, paper_pct=pp)
            for d, p, m, pp in [(1, "none", 4.0, 4.2), (1, "rbm", 3.0, 3.2)]]  # fmt: skip
    _piece(tmp_path, "a", rows, [_cell(1, 4.0, 0.01, pretraining="none"), _cell(1, 3.0, 0.01)])
    main([str(tmp_path), "--out", str(tmp_path / "r.csv")])
    effects = pd.read_csv(tmp_path / "r-effects.csv")
    (gain,) = effects.itertuples()
    assert (gain.kind, gain.pretraining) == ("pretraining gain", "rbm")
    assert (gain.ours_pct, gain.paper_pct) == pytest.approx((1.0, 1.0))
    assert gain.verdict == "consistent"
    assert (tmp_path / "r-effects.png").read_bytes().startswith(PNG_MAGIC)


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


def test_no_number_of_ours_writes_the_tables_and_no_figure(tmp_path, capsys):
    _piece(tmp_path, "a", [_row("DBN-1", 1, None, "missing")])
    main([str(tmp_path), "--out", str(tmp_path / "r.csv")])
    assert (tmp_path / "r.csv").is_file() and not (tmp_path / "r.png").exists()
    assert (tmp_path / "r-effects.csv").is_file() and not (tmp_path / "r-effects.png").exists()
    assert "over 1 distinct cells: consistent 0, better 0, worse 0, missing 1" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("args", [["--out", "r.png"], ["--out", "r.csv", "--margin", "5"]])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, capsys, args):
    _piece(tmp_path, "a", [_row("DBN-1", 1, 2.0, "within intervals")])
    args = [a if not a.startswith("r.") else str(tmp_path / a) for a in args]
    with pytest.raises(SystemExit):
        main([str(tmp_path), *args])
    assert "--" in capsys.readouterr().err and not list(tmp_path.glob("r*"))


def test_no_pieces_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        collect(tmp_path)


def _fan_in_root(tmp_path, fan_in=True):
    """A piece with none and rbm at depth 1 (gain 1.0 point, published 1.0) and, with
    ``fan_in``, its fan-in folder: a published-comparison export of its own and a none cell 0.8
    points worse than the piece's (Glorot) one."""
    rows = [_row("deep net", 1, m, "-", pretraining=p, unverified=False, paper_pct=pp)
            for p, m, pp in [("none", 4.0, 4.2), ("rbm", 3.0, 3.2)]]  # fmt: skip
    _piece(tmp_path, "a", rows, [_cell(1, 4.0, 0.01, pretraining="none"), _cell(1, 3.0, 0.01)])
    if fan_in:
        _piece(tmp_path, "a-fan-in", [rows[0] | {"ours_pct": 4.8}, rows[1] | {"ours_pct": None}],
               [_cell(1, 4.8, 0.01, pretraining="none")])  # fmt: skip
    return tmp_path


def test_a_fan_in_folder_is_not_a_piece(tmp_path, capsys):
    root = _fan_in_root(tmp_path)
    table = collect(root)
    assert list(table["piece"]) == ["a", "a"] and list(table["ours_pct"]) == [4.0, 3.0]
    comparisons, cells = read_pieces(root)
    assert set(comparisons["piece"]) == set(cells["piece"]) == {"a"}
    fan_in = read_fan_in(root)
    assert (list(fan_in["piece"]), list(fan_in["mean"])) == (["a"], [0.048])
    main([str(root), "--out", str(root / "r.csv")])
    out = capsys.readouterr().out
    assert "Counts over 2 distinct cells" in out and "a-fan-in" not in out.split("\n\n")[0]
    assert "effects against glorot and fan-in (a)" in out


def test_the_effects_against_each_baseline(tmp_path):
    root = _fan_in_root(tmp_path)
    main([str(root), "--out", str(root / "r.csv")])
    effects = pd.read_csv(root / "r-effects.csv")
    assert list(effects["baseline"]) == ["glorot", "fan-in"]
    assert set(effects["kind"]) == {"pretraining gain"} and set(effects["pretraining"]) == {"rbm"}
    glorot, fan_in = effects.itertuples()
    assert (glorot.ours_a_pct, fan_in.ours_a_pct) == pytest.approx((4.0, 4.8))
    assert (glorot.ours_pct, fan_in.ours_pct) == pytest.approx((1.0, 1.8))
    assert glorot.paper_pct == fan_in.paper_pct == pytest.approx(1.0)  # one published effect
    assert (glorot.verdict, fan_in.verdict) == ("consistent", "higher")
    assert (root / "r-effects.png").read_bytes().startswith(PNG_MAGIC)


def test_no_fan_in_folder_gives_the_glorot_effects_only(tmp_path, capsys):
    root = _fan_in_root(tmp_path, fan_in=False)
    assert read_fan_in(root).empty
    main([str(root), "--out", str(root / "r.csv")])
    assert "effects against glorot only" in capsys.readouterr().out
    effects = pd.read_csv(root / "r-effects.csv")
    assert list(effects["baseline"]) == ["glorot"]
    assert effects["ours_pct"].item() == pytest.approx(1.0)
