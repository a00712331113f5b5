"""build_report on the fake tree: self-contained HTML, exported PNG/CSV, a readable PDF."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

SECTION_TITLES = ["Summary", "The papers' tables", "Ours versus published", "Figures", "Provenance"]
FIGURES = [
    "ours_vs_published", "error_vs_depth",
    "validation_curves", "seed_spread", "gradient_norms", "bias_variance",
    "filters_mnist-basic", "filters_mnist-rot", "samples_mnist-basic", "samples_mnist-rot",
    *(f"claim{c}_heatmap" for c in ("1", "2", "3", "4", "7")),
]  # fmt: skip


def test_stage_wall_times_and_tracking_uri_are_shown(built_report):
    """The provenance's wall time per stage and the run's tracking URI reach the page."""
    html = built_report["out_html"].read_text(encoding="utf-8")
    section = html[html.index('<section id="provenance">') :]
    for stage, seconds in (("data", "3.2 s"), ("pretrain", "120.0 s"), ("finetune", "300.5 s")):
        assert re.search(rf"<t[dh]>{stage}</t[dh]>\s*<td>{re.escape(seconds)}</td>", section)
    assert "sqlite:///fake/mlflow.db" in section


def test_html_is_self_contained(built_report):
    html = built_report["out_html"].read_text(encoding="utf-8")
    # No external request of any kind: no linked stylesheet or script, every src is a data URI.
    assert "<link" not in html and "<script" not in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="(https?:)?//', html)
    for title in SECTION_TITLES:
        assert f">{title.replace(chr(39), '&#x27;')}</h2>" in html


def test_html_marks_partial_run(built_report):
    html = built_report["out_html"].read_text(encoding="utf-8")
    assert '<td class="missing">missing' in html  # mnist-basic, depth 3, dae
    assert '<td class="diverged">diverged' in html  # mnist-rot, depth 2, ae
    assert "unverified" in html and "<strong>" in html


def test_exports_figures_and_tables(built_report):
    folder = built_report["figures_dir"]
    for name in FIGURES:
        with Image.open(folder / f"{name}.png") as img:
            assert img.width > 200 and np.asarray(img.convert("L")).std() > 5  # not blank
    depth = pd.read_csv(folder / "table_depth.csv")
    assert list(depth.columns) == ["Pretraining", "Depth", "mnist-basic", "mnist-rot"]
    assert len(depth) == 4 * 3
    cells = pd.read_csv(folder / "cells.csv")
    assert set(cells["status"]) == {"ok", "diverged"}
    assert len(cells) == 2 * 3 * 4 * 2 - 1  # one cell missing from the fake run


def test_summary_counts_match_tables(built_report):
    """The generated headline agrees with an independent count from cells.csv."""
    cells = pd.read_csv(built_report["figures_dir"] / "cells.csv")
    off = cells[~cells["dropout"] & (cells["status"] == "ok")].set_index(
        ["dataset", "depth", "pretraining"])  # fmt: skip
    beats = 0
    for (ds, depth, method), row in off.iterrows():
        if method == "none" or (ds, depth, "none") not in off.index:
            continue
        base = off.loc[(ds, depth, "none")]
        beats += (base["mean"] - row["mean"]) > base["ci95"] + row["ci95"]
    html = built_report["out_html"].read_text(encoding="utf-8")
    assert f"pretraining beats random initialisation in {beats}," in html


def test_summary_is_at_most_eight_sentences_and_lists_no_cells(built_report):
    """Issue 16: a short summary (the claims' verdicts first), no per-cell bullet list."""
    page = built_report["out_html"].read_text(encoding="utf-8")
    section = page[page.index('<section id="summary">') : page.index('<section id="claims">')]
    assert "<ul" not in section and "<li" not in section
    text = html.unescape(re.sub(r"<h2>.*?</h2>|<[^>]+>", " ", section))
    sentences = re.findall(r"[^.!?]+[.!?](?=\s|$)", text.strip())
    assert 3 <= len(sentences) <= 8, sentences
    assert sentences[0].strip().startswith("Of the lectures' 8 claims, judged in the next section")
    assert "claim 2 " in sentences[0] and "Glorot-initialised" in section


@pytest.fixture(scope="session")
def pdftoppm() -> str:
    if shutil.which("pdftoppm") is None:
        subprocess.run(["apt-get", "install", "-y", "poppler-utils"], capture_output=True)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed and apt-get could not install it")
    return shutil.which("pdftoppm")


def test_pdf_text_and_first_page(built_report, pdftoppm, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(built_report["out_pdf"])
    assert len(reader.pages) >= 4
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in SECTION_TITLES:
        assert title in text
    assert "missing" in text and "diverged" in text
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    subprocess.run([pdftoppm, "-r", "50", "-png", "-f", "1", "-l", "1",
                    str(built_report["out_pdf"]), str(tmp_path / "p")], check=True)  # fmt: skip
    (page,) = tmp_path.glob("p*.png")
    pixels = np.asarray(Image.open(page).convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # text on a white page


def test_report_never_imports_torch_or_mlflow():
    code = ("import sys, layerwise.report.build, layerwise.report.sections; "
            "bad = [m for m in ('torch', 'mlflow') if m in sys.modules]; "
            "sys.exit(f'report imported {bad}' if bad else 0)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_minimal_partial_run_renders_without_pdf(fake_tree, tmp_path):
    """One data set, depth 1, two methods, no gradient norms, no provenance: still a page."""
    from layerwise.analysis.claims import write_claims
    from layerwise.report.build import build_report

    results = pd.read_csv(fake_tree["results_csv"])
    keep = (results["dataset"] == "mnist-rot") & (results["depth"] == 1) & ~results["dropout"]
    results = results[keep & results["pretraining"].isin(["none", "rbm"])]
    results.to_csv(tmp_path / "results.csv", index=False)
    history = pd.read_csv(fake_tree["history_csv"])
    history.drop(columns=[c for c in history if c.startswith("grad_norm")]).to_csv(
        tmp_path / "history.csv", index=False)  # fmt: skip
    out = tmp_path / "out"
    claims = dict(claims_csv=tmp_path / "claims.csv", comparisons_csv=tmp_path / "comps.csv")
    write_claims(results_csv=tmp_path / "results.csv", history_csv=tmp_path / "history.csv",
                 prediction_files=[], autoencoder_files=[], claims=None, baseline="glorot",
                 out_claims=claims["claims_csv"], out_comparisons=claims["comparisons_csv"])
    build_report(**(fake_tree | {"results_csv": tmp_path / "results.csv",
                                 "history_csv": tmp_path / "history.csv",
                                 "provenance_json": tmp_path / "absent.json"}),
                 reference_csv=None, out_html=out / "r.html", out_pdf=None,
                 figures_dir=out / "f", **claims)  # fmt: skip
    html = (out / "r.html").read_text(encoding="utf-8")
    assert "pretraining beats random initialisation in 1, ties in 0 and is worse in 0." in html
    assert "record_grad_norms: false" in html  # claim 5 says why it is not tested
    assert "No data for this figure." in html  # gradient norms absent
    assert "<td>unknown</td>" in html  # provenance missing
    assert not (out / "r.pdf").exists() and (out / "f" / "table_depth.csv").is_file()


def test_ours_vs_published_figure_has_a_point_per_compared_cell(built_report):
    """The scatter's data are the comparison table's rows with a number of ours (exported CSV)."""
    compared = pd.read_csv(built_report["figures_dir"] / "published_comparison.csv")
    plotted = compared[compared["ours_pct"].notna()]
    assert len(plotted) > 0 and (plotted["paper_ci_pct"] > 0).all()
    html = built_report["out_html"].read_text(encoding="utf-8")
    published = html[html.index('<section id="published">') : html.index('<section id="figures">')]
    assert "Ours against published, one point per published cell" in published
