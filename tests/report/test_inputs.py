"""Malformed or empty inputs give a ReportError that names the problem, and write no report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from layerwise.report.build import build_report
from layerwise.report.errors import ReportError
from layerwise.report.images import tile_filters
from layerwise.report.inputs import load_history, load_provenance, load_reference, load_results


@pytest.fixture
def results_frame(fake_tree) -> pd.DataFrame:
    return pd.read_csv(fake_tree["results_csv"])


def _write(frame: pd.DataFrame, tmp_path, name="results.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["test_error", "selected"]), r"lacks column\(s\) \['test_error'"),
        (lambda f: f.iloc[:0], "no rows"),
        (lambda f: f.assign(test_error="abc"), "'test_error' must be numeric"),
        (lambda f: f.assign(test_error=12.5), r"error rate in \[0, 1\]"),
        (lambda f: f.assign(selected="maybe"), "'selected' must be boolean"),
        (lambda f: f.assign(selected=False), "no selected rows"),
        (lambda f: f.assign(depth=1.5), "'depth' must hold integers"),
    ],
)
def test_malformed_results_raise(results_frame, tmp_path, mutate, message):
    path = _write(mutate(results_frame.copy()), tmp_path)
    with pytest.raises(ReportError, match=message):
        load_results(path)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(ReportError, match="not found"):
        load_results(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ReportError, match="not a readable CSV"):
        load_results(tmp_path / "empty.csv")
    (tmp_path / "h.csv").write_text("member_id,epoch\nx,1\n")
    with pytest.raises(ReportError, match="valid_error"):
        load_history(tmp_path / "h.csv")
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(ReportError, match="not valid JSON"):
        load_provenance(tmp_path / "p.json")


def test_build_report_refuses_malformed_and_writes_nothing(fake_tree, results_frame, tmp_path):
    bad = _write(results_frame.drop(columns=["pretraining"]), tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="pretraining"):
        build_report(**(fake_tree | {"results_csv": bad}), reference_csv=None,
                     out_html=out / "r.html", out_pdf=out / "r.pdf",
                     figures_dir=out / "f")  # fmt: skip
    assert not (out / "r.html").exists() and not (out / "r.pdf").exists()


def test_provenance_tolerates_missing_keys(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"git_commit": "abc"}))
    prov = load_provenance(tmp_path / "p.json")
    assert prov["git_commit"] == "abc" and prov["device"] is None and prov["config"] is None
    assert load_provenance(None)["versions"] is None


def test_reference_falls_back_to_shipped_copy(tmp_path):
    shipped = load_reference(None)
    assert len(shipped) > 50 and {"verified", "recalled"} <= set(shipped["status"])
    assert len(load_reference(tmp_path / "absent.csv")) == len(shipped)


def test_tile_filters_layout_and_range():
    w1 = np.arange(784 * 130, dtype=np.float32).reshape(784, 130)
    mosaic = tile_filters(w1, max_filters=100)
    assert mosaic.shape == (10 * 29 - 1, 10 * 29 - 1)  # 100 filters -> 10 x 10, 1-pixel gaps
    assert mosaic.min() == 0.0 and mosaic.max() == 1.0
    first = mosaic[:28, :28]  # filter 0 = w1[:, 0] scaled to its own range
    expected = (w1[:, 0] - w1[:, 0].min()) / np.ptp(w1[:, 0])
    np.testing.assert_allclose(first.ravel(), expected, rtol=1e-6)
    with pytest.raises(ReportError, match="784"):
        tile_filters(np.zeros((100, 5)))
