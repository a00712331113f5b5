"""The smoke study's own report: opens in headless Chromium (not blank, every image loaded, tables
with one row per network type x depth), and the PDF has its sections and a first page that
renders."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from workflow_run import SMOKE

from layerwise.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CFG = load_config(SMOKE)


def test_smoke_report_in_chromium(browser, smoke_study, tmp_path):
    browser.get((smoke_study / "reports/report.html").resolve().as_uri())
    shot = browser.get_screenshot_as_png()
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.var() > 100, "screenshot is blank"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);"
    )
    assert len(images) >= 5 and all(done and width > 0 for done, width in images)
    rows = browser.execute_script(
        "const n = {}; document.querySelectorAll('table.results').forEach(t => "
        "{ n[t.dataset.key] = (n[t.dataset.key] || 0) + t.tBodies[0].rows.length; }); return n;"
    )
    g = CFG["grid"]
    assert rows["table_depth"] == len(g["pretraining"]) * len(g["depths"])
    assert rows["table_2007"] == len(g["datasets"])
    # no external requests: the file is self-contained
    html = (smoke_study / "reports/report.html").read_text()
    assert 'src="http' not in html and "url(http" not in html and 'rel="stylesheet"' not in html


def test_smoke_report_pdf(smoke_study, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(smoke_study / "reports/report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in ("Summary", "Provenance", "mnist-basic", "rectangles"):
        assert title in text, title
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            str(smoke_study / "reports/report.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    page = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("L"), dtype=float)
    assert page.var() > 50


def test_snakemake_own_report(smoke_study, mnist_dir, tmp_path):
    """`snakemake --report` packs the marked figures and tables with their captions."""
    from workflow_run import run_snakemake

    out = tmp_path / "snakemake-report.zip"
    run_snakemake(smoke_study, mnist_dir, "--report", str(out), timeout=600)
    import zipfile

    names = zipfile.ZipFile(out).namelist()
    assert any(n.endswith("results.csv") for n in names), names[:20]
    assert sum(n.endswith(".png") for n in names) >= 5
