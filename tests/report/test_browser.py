"""The HTML report in headless Chromium: renders, every image loads, tables have their rows."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1200,1600"]  # fmt: skip


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Install Chromium + driver from Debian when missing; skip, with the reason, if that fails."""
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        steps = (["apt-get", "update"],
                 ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "chromium",
                  "chromium-driver"])  # fmt: skip
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"cannot install Chromium ({' '.join(step)}): {done.stderr[-300:]}")
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        pytest.skip(f"Chromium not found at {CHROMIUM} / {DRIVER} after installing")
    return CHROMIUM, DRIVER


@pytest.fixture
def browser(chromium, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(chromium[1]))
    yield driver
    driver.quit()


def test_report_renders_in_chromium(browser, built_report, tmp_path):
    browser.get(built_report["out_html"].resolve().as_uri())
    shot = browser.get_screenshot_as_png()
    (tmp_path / "screenshot.png").write_bytes(shot)
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.var() > 100, "screenshot is blank"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);"
    )
    assert len(images) == 9 and all(done and width > 0 for done, width in images)
    rows = browser.execute_script(
        "const n = {}; document.querySelectorAll('table.results').forEach(t => "
        "{ n[t.dataset.key] = (n[t.dataset.key] || 0) + t.tBodies[0].rows.length; }); return n;"
    )
    assert rows["table_depth"] == 4 * 3  # network types x depths 1-3
    assert rows["table_2007"] == 2  # data sets
    assert rows["table_dropout"] == 2 * 4 * 3
    heights = browser.execute_script("return document.body.scrollHeight;")
    assert heights > 3000  # the whole report laid out, not an error page
