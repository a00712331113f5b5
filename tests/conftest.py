"""Shared test fixtures: where the MNIST files are, and MNIST loaded once per session.

The MNIST folder is ``$LAYERWISE_MNIST_DIR`` if set, else ``../shared/data/mnist`` relative to the
repository root (the offline copy on the development and CI machines). Tests that need it are
skipped, with the reason, when neither holds the four files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from layerwise.data.mnist import MNIST_FILES, load_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]

# One intra-op thread per test process (read by torch at import): on a small shared machine two
# OpenMP threads spinning against other processes made some tests ~9x slower. The workflow's jobs
# set their own thread count from the config.
os.environ.setdefault("OMP_NUM_THREADS", "1")
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"


def _has_mnist(folder: Path) -> bool:
    return all(
        (folder / f"{base}.gz").is_file() or (folder / base).is_file()
        for base, _ in MNIST_FILES.values()
    )


def find_mnist_dir() -> Path | None:
    """The first folder holding the four MNIST files: $LAYERWISE_MNIST_DIR, then the shared copy."""
    env = os.environ.get("LAYERWISE_MNIST_DIR")
    for folder in ([Path(env)] if env else []) + [SHARED_MNIST]:
        if _has_mnist(folder):
            return folder
    return None


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Folder holding the four MNIST files (skips the test when there is none)."""
    folder = find_mnist_dir()
    if folder is None:
        pytest.skip(f"MNIST files not found: set LAYERWISE_MNIST_DIR or put them in {SHARED_MNIST}")
    return folder


@pytest.fixture(scope="session")
def mnist_arrays(mnist_dir: Path) -> dict[str, np.ndarray]:
    """`load_mnist` of the shared copy, once per session; arrays are read-only."""
    arrays = load_mnist(mnist_dir)
    for a in arrays.values():
        a.flags.writeable = False
    return arrays


# ---- headless Chromium for the report's browser tests (tests/report, tests/workflow) ----

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


@pytest.fixture(scope="session")
def benchmark_script():
    """Load benchmarks/<name>.py as a module (the benchmark scripts are not a package)."""

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load
