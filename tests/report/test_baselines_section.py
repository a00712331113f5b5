"""The report's data section: our baseline classifiers beside the published 2007 values."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from layerwise.report.baselines_section import (
    baselines_section,
    card_notes,
    compare_baselines,
    fidelity_verdict,
    read_baselines,
)
from layerwise.report.errors import ReportError
from layerwise.report.html import render_table
from layerwise.report.inputs import load_reference
from layerwise.report.tables import Table


def _result(err: float, n: int = 10000) -> dict:
    return {"test_error": err, "ci95": 1.96 * math.sqrt(err * (1 - err) / n), "n_test": n}


def _write(tmp_path, dataset: str, svm: float | None, logreg: float, stats: float | None = None):
    """A baselines.json as layerwise.data.job.run_baselines_job writes it (the fields read)."""
    data = {"dataset": dataset, "sizes": {"train": 6000, "valid": 2000, "test": 50000}}
    data["settings"] = {"classifiers": ["svm_rbf", "logreg"], "max_test": 10000, "seed": 0}
    data |= {"logreg": _result(logreg), "wall_seconds": 12.5}
    if svm is not None:
        data["svm_rbf"] = _result(svm)
    if stats is not None:
        data["shape_stats_logreg"] = _result(stats)
    path = tmp_path / dataset / "baselines.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def compared(tmp_path) -> pd.DataFrame:
    files = [
        _write(tmp_path, "convex", 0.1826, 0.4332, stats=0.062),  # published SVMrbf 19.13
        _write(tmp_path, "rectangles", 0.0337, 0.3754),  # 2.15: +57%, harder
        _write(tmp_path, "mnist-back-image", 0.1419, 0.1923),  # 22.61: -37%, easier
        _write(tmp_path, "mnist-full", None, 0.08),  # logistic regression only
    ]
    return compare_baselines(read_baselines(files), load_reference(None))


def test_verdict_is_relative_to_the_published_svm():
    assert fidelity_verdict(19.13 * 1.2, 19.13) == "within 20%"
    assert fidelity_verdict(19.13 * 0.8, 19.13) == "within 20%"
    assert fidelity_verdict(19.13 * 0.79, 19.13) == "easier"
    assert fidelity_verdict(3.37, 2.15) == "harder"
    assert fidelity_verdict(5.0, math.nan) == "no published value"
    assert fidelity_verdict(math.nan, 19.13) == "no SVM"


def test_published_values_and_verdicts(compared):
    by = compared.set_index("dataset")
    assert list(by.index) == ["convex", "rectangles", "mnist-back-image", "mnist-full"]
    assert by.loc["convex", "svm_rbf_pct"] == pytest.approx(18.26)
    assert by.loc["convex", "svm_rbf_n_test"] == 10000
    assert by.loc["convex", "svmrbf_pct"] == 19.13 and by.loc["convex", "nnet_pct"] == 32.25
    assert by.loc["convex", "svmpoly_pct"] == pytest.approx(19.82)
    assert by.loc["convex", "svmrbf_recalled"]  # the 2007 rows are recalled in the CSV
    assert by.loc["convex", "n_train"] == 6000 and by.loc["convex", "n_valid"] == 2000
    assert list(by["verdict"]) == ["within 20%", "harder", "easier", "no SVM"]
    assert by.loc["rectangles", "relative"] == pytest.approx(3.37 / 2.15 - 1)
    # mnist-full: the SVM of Srivastava et al. (2014), verified, but no SVMpoly / NNet
    assert by.loc["mnist-full", "svmrbf_pct"] == 1.40
    assert not by.loc["mnist-full", "svmrbf_recalled"]
    assert math.isnan(by.loc["mnist-full", "nnet_pct"])


def test_section_shows_the_table_with_intervals_n_test_and_recalled_marks(compared):
    section = baselines_section(compared)
    assert section.id == "baselines"
    (table,) = [b for b in section.blocks if isinstance(b, Table)]
    frame = table.to_frame().set_index("Data set")
    assert frame.loc["convex (6000 / 2000)", "SVM (RBF), ours"] == "18.26% ± 0.76 (n_test 10000)"
    assert frame.loc["convex (6000 / 2000)", "SVMrbf, published"] == "19.13% ± 0.34 (recalled)"
    assert frame.loc["convex (6000 / 2000)", "SVMpoly / NNet, published"].startswith(
        "19.82% ± 0.35 / 32.25% ± 0.41"
    )
    assert frame.loc["rectangles (6000 / 2000)", "Verdict"] == "harder (+57% relative)"
    assert frame.loc["mnist-full (6000 / 2000)", "SVM (RBF), ours"] == "not run"
    html = render_table(table) + "".join(b for b in section.blocks if isinstance(b, str))
    assert "within 20%" in html and "recalled" in html
    assert "convex: a logistic regression on simple per-image statistics" in html
    assert "errs 6.20% ± 0.47 (n_test 10000)" in html
    assert "within 20% (relative) of the published SVMrbf on 1 of 4" in section.blocks[0]


def test_each_data_card_caption_puts_our_svm_beside_the_published(compared, tmp_path):
    from layerwise.report.images import card_caption, sample_figures
    from layerwise.report.tables import Grid

    notes = card_notes(compared)
    assert set(notes) == {"convex", "rectangles", "mnist-back-image"}  # mnist-full: no SVM run
    assert notes["rectangles"].startswith("RBF SVM 3.37% ± 0.35 on 10000 test images, published ")
    assert notes["rectangles"].endswith(": harder")
    assert "recalled" in notes["convex"] and "within 20%" in notes["convex"]
    caption = card_caption("convex", {"n_train": 6000}, notes["convex"])
    assert caption.startswith("Samples of convex, one row per class (n_train = 6000). RBF SVM")
    assert card_notes(None) == {}
    png = tmp_path / "data" / "convex" / "samples.png"
    png.parent.mkdir(parents=True)
    png.write_bytes(b"png")
    grid = Grid(datasets=["convex", "rectangles"], depths=[1], methods=["none"], dropouts=[False])
    figures, missing = sample_figures(tmp_path / "data", grid, notes)
    assert [f.caption for f in figures] == [card_caption("convex", {}, notes["convex"])]
    assert missing and "rectangles" in missing[0]


def test_no_baselines_no_section(tmp_path):
    assert baselines_section(None) is None
    empty = compare_baselines(read_baselines([]), load_reference(None))
    assert empty.empty and baselines_section(empty) is None


def test_a_broken_file_names_itself(tmp_path):
    bad = tmp_path / "convex" / "baselines.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    with pytest.raises(ReportError, match="convex/baselines.json"):
        read_baselines([bad])
    bad.write_text(json.dumps({"dataset": "convex", "svm_rbf": {"test_error": 0.1}}))
    with pytest.raises(ReportError, match="svm_rbf lacks"):
        read_baselines([bad])


def test_build_report_puts_the_section_before_the_figures(fake_tree, tmp_path):
    from layerwise.report.build import build_report

    files = [_write(tmp_path / "b", "mnist-basic", 0.0274, 0.0871)]
    out = tmp_path / "out"
    build_report(**fake_tree, reference_csv=None, out_html=out / "r.html", out_pdf=None,
                 figures_dir=out / "f", baselines_files=files)  # fmt: skip
    html = (out / "r.html").read_text(encoding="utf-8")
    assert html.index("Data sets: baseline classifiers") < html.index("First-layer filters")
    assert "2.74% ± 0.32" in html and "3.03% ± 0.15" in html
    assert (out / "f" / "table_baselines.csv").is_file()
