"""The dropout-study section: renders from fabricated study files, is absent without them."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from layerwise.report.dropout_section import dropout_study_section, load_study, scale_notes
from layerwise.report.html import render_document
from layerwise.report.style import FigureOut
from layerwise.report.tables import Table

NAN = float("nan")
#: (activation, variant, label, test error, Table 2 model, paper net, paper error, verdict)
CELLS = [
    ("sigmoid", "plain", "Standard (logistic)", 0.0190, "Standard Neural Net (logistic)",
     "2 x 800", 0.0160, "worse"),
    ("sigmoid", "dropout", "Dropout (logistic)", 0.0140, "Dropout NN (logistic)", "3 x 1024",
     0.0135, "within intervals"),
    ("relu", "plain", "Standard (ReLU)", 0.0170, "", "", NAN, "no published row"),
    ("relu", "dropout-maxnorm", "Dropout + max-norm (ReLU)", 0.0090,
     "Dropout NN + max-norm (ReLU)", "3 x 1024", 0.0106, "better"),
]  # fmt: skip


def _ci(p: float) -> float:
    return 1.96 * math.sqrt(p * (1 - p) / 10000)


def write_study(root: Path, *, n_hidden: int = 256, n_train: int = 10000) -> Path:
    """summary.csv plus, per activation, members.csv and history.csv (2 seeds x 2 lr)."""
    rows = []
    for act, variant, label, p, model, net, paper, verdict in CELLS:
        rows.append(dict(activation=act, variant=variant, label=label, depth=3, n_hidden=n_hidden,
                         n_train=n_train, n_seeds=2, n_diverged=0, n_test=10000, test_error=p,
                         test_ci95=_ci(p), test_error_std=0.0005, valid_error=p, lr_selected="",
                         paper_model=model, paper_net=net, paper_test_error=paper,
                         paper_ci95=_ci(paper) if model else NAN, verdict=verdict))  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(root / "summary.csv", index=False)
    for act in ("sigmoid", "relu"):
        members, hist = [], []
        for variant, lr, seed in [(c[1], lr, s) for c in CELLS if c[0] == act
                                  for lr in (0.01, 0.1) for s in (1, 2)]:  # fmt: skip
            mid = f"{act}.{variant}.lr{lr:g}.s{seed}"
            members.append(dict(member_id=mid, activation=act, variant=variant, seed=seed,
                                lr=lr, selected=lr == 0.1))  # fmt: skip
            for epoch in range(1, 9):
                hist.append(dict(member_id=mid, epoch=epoch, valid_error=0.1 / epoch + lr))
        (root / act).mkdir(exist_ok=True)
        pd.DataFrame(members).to_csv(root / act / "members.csv", index=False)
        pd.DataFrame(hist).to_csv(root / act / "history.csv", index=False)
    return root


def test_absent_without_study_files(tmp_path):
    assert dropout_study_section(None) is None
    assert dropout_study_section(tmp_path / "nowhere") is None
    (tmp_path / "empty").mkdir()
    assert dropout_study_section(tmp_path / "empty") is None


def test_history_keeps_only_the_selected_members(tmp_path):
    _, history = load_study(write_study(tmp_path / "study"))
    assert len(history) and set(history["member_id"].str.contains("lr0.1.")) == {True}
    assert set(history["variant"]) == {c[1] for c in CELLS}
    assert history.groupby(["activation", "variant", "seed"]).ngroups == len(CELLS) * 2


def test_section_table_figure_and_scale_note(tmp_path):
    section = dropout_study_section(write_study(tmp_path / "study"))
    assert section is not None and section.id == "dropout-study"
    table = next(b for b in section.blocks if isinstance(b, Table))
    frame = table.to_frame().set_index("Our net")
    assert list(frame.index) == [c[2] for c in CELLS]
    for _, _, label, p, model, _, paper, verdict in CELLS:
        row = frame.loc[label]
        assert row["Ours"].startswith(f"{100 * p:.2f}% ± {100 * _ci(p):.2f}")
        assert row["Verdict"] == verdict
        if model:
            assert row["Table 2 row"] == model
            assert row["Paper"].startswith(f"{100 * paper:.2f}% ± {100 * _ci(paper):.2f}")
            assert row["Diff."] == f"{100 * (p - paper):+.2f}"
        else:
            assert row["Table 2 row"] == "none" and row["Paper"] == ""
    fig = next(b for b in section.blocks if isinstance(b, FigureOut))
    image = np.asarray(Image.open(io.BytesIO(fig.png)).convert("L"), dtype=float)
    assert image.shape[1] > 500 and image.std() > 5  # a real plot, not a blank canvas
    html = render_document("t", "s", [section])
    assert "Our scale differs from the paper" in html and "2 x 800" in html


def test_no_scale_note_at_the_papers_scale(tmp_path):
    summary, _ = load_study(write_study(tmp_path / "s", n_hidden=1024, n_train=50000))
    notes = scale_notes(summary)
    assert not any("scale differs" in n for n in notes)
    assert any("2 x 800" in n for n in notes)  # the standard-net row is still flagged


def test_build_report_places_the_section_before_provenance(fake_tree, tmp_path):
    from layerwise.report.build import build_report

    study = write_study(tmp_path / "study")
    out = tmp_path / "report"
    build_report(**fake_tree, reference_csv=None, out_html=out / "r.html", out_pdf=None,
                 figures_dir=out / "figures",
                 studies={"dropout_study": [study / "summary.csv"]})  # fmt: skip
    html = (out / "r.html").read_text(encoding="utf-8")
    assert 0 < html.index('<section id="dropout-study">') < html.index('<section id="provenance">')
    assert (out / "figures" / "dropout_study_validation.png").is_file()
    exported = pd.read_csv(out / "figures" / "table_dropout_study.csv")
    assert len(exported) == len(CELLS)


def test_malformed_summary_is_a_report_error(tmp_path):
    from layerwise.report.errors import ReportError

    study = write_study(tmp_path / "study")
    pd.read_csv(study / "summary.csv").drop(columns=["verdict"]).to_csv(study / "summary.csv")
    with pytest.raises(ReportError, match="verdict"):
        dropout_study_section(study)
