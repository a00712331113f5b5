"""Cell statistics, the papers' tables, verdicts and summary sentences on hand-made frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from layerwise.analysis.reproduction_rule import rule_sentence
from layerwise.report.cells import CellLookup, CellStat, cell_stats, ci95, mark_best
from layerwise.report.compare import compare_published, compare_tables, verdict
from layerwise.report.errors import ReportError
from layerwise.report.summary import (
    MAX_SENTENCES,
    build_summary,
    compare_cells,
    depth_effect,
    reproduction_sentences,
)
from layerwise.report.tables import Grid, depth_table, dropout_table, table_2007


def _row(ds, depth, method, test, *, seed=0, dropout=False, selected=True, diverged=False,
         train=None, n_test=50000):  # fmt: skip
    return dict(dataset=ds, depth=depth, pretraining=method, dropout=dropout, seed=seed,
                candidate="c0", member_id=f"{method}.s{seed}", pretrain_id="p0",
                train_error=test / 2 if train is None else train, valid_error=test,
                test_error=np.nan if diverged else test, n_test=n_test, diverged=diverged,
                selected=selected)  # fmt: skip


def test_ci95_matches_paper_printout():
    # Larochelle et al. 2009 print 2.71 +- 0.14 for n_test = 50000.
    assert f"{100 * ci95(0.0271, 50000):.2f}" == "0.14"
    assert CellStat("ok", 0.0271, ci95(0.0271, 50000)).text() == "2.71% ± 0.14"
    assert ci95(0.0, 100) == 0.0
    with pytest.raises(ReportError, match=r"\[0, 1\]"):
        ci95(1.5, 100)


def test_cell_stats_mean_std_and_selection():
    frame = pd.DataFrame([
        _row("a", 1, "none", 0.04, seed=0), _row("a", 1, "none", 0.06, seed=1),
        _row("a", 1, "none", 0.50, seed=0, selected=False),  # not selected: ignored
        _row("a", 1, "rbm", 0.03, seed=0), _row("a", 1, "rbm", 0.03, seed=1, diverged=True),
        _row("a", 2, "rbm", 0.03, seed=0, diverged=True),
    ])  # fmt: skip
    stats = cell_stats(frame).set_index(["depth", "pretraining"])
    none = stats.loc[(1, "none")]
    assert none["mean"] == pytest.approx(0.05)
    assert none["std"] == pytest.approx(np.std([0.04, 0.06], ddof=1))
    assert none["ci95"] == pytest.approx(1.96 * math.sqrt(0.05 * 0.95 / 50000))
    assert none["n_seeds"] == 2 and none["status"] == "ok"
    partial = stats.loc[(1, "rbm")]  # one member diverged: mean over the other
    assert (partial["n_seeds"], partial["n_diverged"], partial["mean"]) == (1, 1, 0.03)
    assert math.isnan(partial["std"])
    assert stats.loc[(2, "rbm")]["status"] == "diverged"


def test_cell_stats_ignores_the_missing_test_errors_of_pruned_members():
    pruned = dict(selected=False, diverged=False)
    frame = pd.DataFrame([
        _row("a", 1, "none", 0.04, seed=0), {**_row("a", 1, "none", 0.3, seed=0, **pruned),
                                            "test_error": np.nan},
        {**_row("a", 2, "none", 0.3, seed=0, **pruned), "test_error": np.nan},  # no selection
        {**_row("a", 3, "none", 0.04, seed=0), "test_error": np.nan},  # selected, no test error
    ])  # fmt: skip
    stats = cell_stats(frame).set_index(["depth", "pretraining"])
    cell = stats.loc[(1, "none")]
    assert (cell["status"], cell["mean"], cell["n_diverged"]) == ("ok", 0.04, 0)
    assert (2, "none") not in stats.index  # nothing selected, nothing failed: "missing"
    assert stats.loc[(3, "none")]["status"] == "diverged"


def test_mark_best_bolds_best_and_overlapping():
    best = CellStat("ok", 0.0271, ci95(0.0271, 50000))
    close = CellStat("ok", 0.0290, ci95(0.0290, 50000))  # 2.90 - 0.15 < 2.71 + 0.14
    far = CellStat("ok", 0.0350, ci95(0.0350, 50000))
    gone = CellStat("diverged")
    assert mark_best([far, close, best, gone, CellStat("missing")]) == [
        False, True, True, False, False]  # fmt: skip
    assert mark_best([gone]) == [False]


def _lookup_frame():
    rows = [
        _row("a", 1, "none", 0.0450), _row("a", 2, "none", 0.0440),
        _row("a", 1, "rbm", 0.0310), _row("a", 2, "rbm", 0.0271),
        _row("a", 2, "ae", 0.0290), _row("a", 1, "ae", 0.02, diverged=True),
        _row("b", 1, "none", 0.1400), _row("b", 1, "rbm", 0.1000),
        _row("a", 1, "none", 0.0400, dropout=True),
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    grid = Grid(["a", "b"], [1, 2], ["none", "ae", "dae", "rbm"], [False, True])
    return frame, grid, CellLookup(cell_stats(frame))


def test_depth_table_values_bold_missing_diverged():
    _, grid, lookup = _lookup_frame()
    table = depth_table(lookup, grid)
    assert table.header == ["Pretraining", "Depth", "a", "b"]
    assert len(table.rows) == 4 * 2  # network type x depth, whatever the run holds
    cells = {(r[0].text or prev, r[1].text): r for prev, r in _carry(table.rows)}
    assert cells[("RBM", "2")][2].text == "2.71% ± 0.14" and cells[("RBM", "2")][2].bold
    assert cells[("autoencoder", "2")][2].bold  # 2.90 +- 0.15 overlaps 2.71 +- 0.14
    assert not cells[("RBM", "1")][2].bold  # 3.10 +- 0.15: disjoint from best
    assert not cells[("none (random init)", "1")][2].bold
    assert cells[("autoencoder", "1")][2].text == "diverged"
    assert cells[("denoising autoencoder", "1")][2].text == "missing"
    assert cells[("RBM", "1")][3].bold and cells[("RBM", "2")][3].text == "missing"
    assert "0" not in {c.text for row in table.rows for c in row}  # missing is never 0


def _carry(rows):
    """Pair each row with the last non-empty first-column label (the table blanks repeats)."""
    label = ""
    for row in rows:
        label = row[0].text or label
        yield label, row


def test_table_2007_and_dropout_table():
    _, grid, lookup = _lookup_frame()
    t07 = table_2007(lookup, grid)
    assert t07.header == ["Data set", "NNet", "DBN-1", "SAA-3", "DBN-3", "SdA-3"]
    a = t07.rows[0]
    assert [c.text for c in a[1:3]] == ["4.50% ± 0.18", "3.10% ± 0.15"]
    assert [c.bold for c in a[1:3]] == [False, True]
    assert a[3].text == a[4].text == a[5].text == "not in this profile"  # depth 3 not planned
    planned = Grid(grid.datasets, [1, 2, 3], grid.methods, grid.dropouts)
    assert table_2007(lookup, planned).rows[0][4].text == "missing"  # planned, no result
    dropout = dropout_table(lookup, grid)
    first = dropout.rows[0]  # a, none, depth 1: 4.50 +- 0.18 off vs 4.00 +- 0.17 on
    assert [c.text for c in first[3:]] == ["4.50% ± 0.18", "4.00% ± 0.17", "helps"]
    assert [first[3].bold, first[4].bold] == [False, True]


def test_verdicts():
    assert verdict(0.0271, 0.0014, 0.0280, 0.0014) == "within intervals"
    assert verdict(0.0200, 0.0012, 0.0271, 0.0014) == "better"
    assert verdict(0.0400, 0.0017, 0.0271, 0.0014) == "worse"


def test_compare_published_matches_and_labels():
    frame, grid, lookup = _lookup_frame()
    ref = pd.DataFrame([
        dict(source="P", table="t", dataset="a", model="DBN-2", pretraining="rbm", depth=2.0,
             test_error_pct=2.74, ci95_pct=0.14, status="verified"),
        dict(source="P", table="t", dataset="a", model="DBN-1", pretraining="rbm", depth=1.0,
             test_error_pct=3.94, ci95_pct=0.17, status="recalled"),
        dict(source="P", table="t", dataset="a", model="NNet", pretraining="none", depth=2.0,
             test_error_pct=3.00, ci95_pct=math.nan, status="verified"),
        dict(source="P", table="t", dataset="a", model="SAA-1", pretraining="autoencoder",
             depth=1.0, test_error_pct=3.0, ci95_pct=0.15, status="verified"),
        dict(source="P", table="t", dataset="a", model="x", pretraining="rbm", depth=4.0,
             test_error_pct=2.0, ci95_pct=0.1, status="verified"),  # depth 4 not in grid
        dict(source="P", table="t", dataset="zz", model="x", pretraining="rbm", depth=1.0,
             test_error_pct=2.0, ci95_pct=0.1, status="verified"),  # data set not in run
        dict(source="H", table="t", dataset="a", model="x", pretraining="rbm", depth=1.0,
             test_error_pct=3.0, ci95_pct=math.nan, status="recalled-mse-per-image"),
    ])  # fmt: skip
    out = compare_published(ref, lookup, grid, {"a": 50000, "b": 50000})
    assert list(out["model"]) == ["DBN-2", "DBN-1", "NNet", "SAA-1"]
    # the rule (one seed per cell: the binomial half-widths); DBN-2 is 2.71 against 2.74
    assert list(out["verdict"]) == ["consistent", "better", "worse", "diverged"]
    assert list(out["counted"]) == [True] * 4
    assert list(out["unverified"]) == [False, True, False, False]
    assert out.loc[0, "diff_pct"] == pytest.approx(2.71 - 2.74)
    assert out.loc[2, "paper_ci_pct"] == pytest.approx(100 * ci95(0.03, 50000))


def _ref(model, method, depth, pct, ci, status="verified", source="P"):
    return dict(source=source, table="t", dataset="a", model=model, pretraining=method,
                depth=float(depth), test_error_pct=pct, ci95_pct=ci, status=status)  # fmt: skip


def test_compare_published_counts_each_net_once_and_states_the_rule():
    """The 2007 row of a 2009 cell is the same net: judged, shown, not counted; a dropout row is
    another net (the dropout-on cell)."""
    _, grid, lookup = _lookup_frame()
    ref = pd.DataFrame([
        _ref("DBN-1", "rbm", 1, 3.94, 0.17, status="recalled", source="P2007"),
        _ref("deep net", "rbm", 1, 3.17, 0.15, source="P2009"),
        _ref("NNet", "none", 1, 4.50, 0.18, source="P2009"),
        _ref("NNet dropout", "none", 1, 4.00, 0.17, source="S2014"),
        _ref("SAA-1", "autoencoder", 1, 3.0, 0.15, source="P2009"),
    ])  # fmt: skip
    out = compare_published(ref, lookup, grid, {"a": 50000})
    assert list(out["verdict"]) == ["better", "consistent", "consistent", "consistent",
                                    "diverged"]  # fmt: skip
    assert list(out["counted"]) == [False, True, True, True, True]
    assert list(out["dropout"]) == [False, False, False, True, False]
    assert out.loc[1, "diff_hw_pct"] == pytest.approx(math.hypot(100 * ci95(0.031, 50000), 0.15))
    head, misses = reproduction_sentences(out)
    assert head.startswith("Of the 4 distinct published cells this run covers (5 published rows: "
                           "a net compared with two papers counts once), ours is consistent with "
                           "published in 3, better in 0 and worse in 0; 1 has no finished "
                           "result. Rule: per distinct cell")  # fmt: skip
    assert head.endswith(rule_sentence())
    assert misses == ["Not reproduced: a SAA-1 depth 1: our cell is diverged."]
    tables = compare_tables(out)
    assert rule_sentence() in tables[0].caption and "within intervals" not in tables[0].caption
    dbn1 = tables[0].rows[0]
    assert (dbn1[-1].text, dbn1[-1].note) == ("better", "unverified; same net, not counted")


def test_summary_sentences_come_from_numbers():
    frame, grid, lookup = _lookup_frame()
    a1, a1_none = lookup.get("a", 1, "rbm"), lookup.get("a", 1, "none")
    assert compare_cells(a1, a1_none) == "beats"
    assert compare_cells(a1_none, a1) == "is worse than"
    summary = build_summary(lookup, grid, pd.DataFrame(columns=["status", "verdict"]))
    assert summary.headline[0].startswith("Across ")  # ae at depth 1 diverged: cannot be compared
    assert "cannot be compared" in summary.headline[0]
    assert "No published cell is covered by this run." in summary.headline
    assert depth_effect(lookup, "a", "rbm", [1, 2]) == "helps"
    assert depth_effect(lookup, "a", "none", [1, 2]) == "does not help"
    assert any(s.startswith("A net deeper than one hidden layer beats depth 1") for s in
               summary.headline)  # fmt: skip
    assert len(summary.headline) <= MAX_SENTENCES
    claims = pd.DataFrame(
        {
            "id": ["1", "2", "5"],
            "verdict": ["supported except", "contradicted", "not tested by this profile"],
            "exceptions": ["opposite effect: convex", "", ""],
            "power": [0.9, 0.95, float("nan")], "min_seeds": [5, 5, 0], "delta": [0.5, 1, 0.1],
            "unit": ["pp", "pp", "log10/layer"], "baseline": ["glorot", "glorot", ""],
        }
    )
    with_claims = build_summary(lookup, grid, pd.DataFrame(columns=["status", "verdict"]), claims)
    assert with_claims.headline[0] == (
        "Of the lectures' 3 claims, judged in the next section by their written protocol over "
        "training seeds: claim 1 supported except opposite effect: convex; claim 2 "
        "contradicted; claim 5 not tested by this profile. Random initialisation here means "
        "Glorot-initialised nets.")  # fmt: skip
    assert with_claims.headline[1:] == summary.headline


def test_depth_table_caption_names_the_test_images_the_intervals_use():
    frame, grid, lookup = _lookup_frame()
    assert "(n_test = 50000 on every data set)" in depth_table(lookup, grid).caption
    frame.loc[frame["dataset"] == "b", "n_test"] = 10000
    mixed = CellLookup(cell_stats(frame))
    assert "(n_test: a 50000, b 10000)" in depth_table(mixed, grid).caption
    assert mixed.test_sizes(["c"]) == ""
