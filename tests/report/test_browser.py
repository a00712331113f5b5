"""The HTML report in headless Chromium: renders, every image loads, tables have their rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser


def test_report_renders_in_chromium(browser, built_report, tmp_path):
    browser.get(built_report["out_html"].resolve().as_uri())
    shot = browser.get_screenshot_as_png()
    (tmp_path / "screenshot.png").write_bytes(shot)
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.var() > 100, "screenshot is blank"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);"
    )
    assert len(images) == 15 and all(done and width > 0 for done, width in images)  # 15 figures
    heatmaps = browser.execute_script(
        "return Array.from(document.querySelectorAll('#claims figure img'))"
        ".filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().height > 50)"
        ".map(i => i.closest('figure').id);"
    )
    assert heatmaps == [f"fig-claim{c}_heatmap" for c in ("1", "2", "3", "4", "7")]
    overflow = browser.execute_script(
        "const t = document.getElementById('claims-table');"
        "return [t.getBoundingClientRect().right, document.body.getBoundingClientRect().right];"
    )
    assert overflow[0] <= overflow[1] + 1, f"the claims table runs past the page: {overflow}"
    rows = browser.execute_script(
        "const n = {}; document.querySelectorAll('table.results').forEach(t => "
        "{ n[t.dataset.key] = (n[t.dataset.key] || 0) + t.tBodies[0].rows.length; }); return n;"
    )
    assert rows["table_depth"] == 4 * 3  # network types x depths 1-3
    assert rows["table_2007"] == 2  # data sets
    assert rows["table_dropout"] == 2 * 4 * 3
    heights = browser.execute_script("return document.body.scrollHeight;")
    assert heights > 3000  # the whole report laid out, not an error page
