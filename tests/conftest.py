"""Shared test fixtures: where the MNIST files are, and MNIST loaded once per session.

The MNIST folder is ``$LAYERWISE_MNIST_DIR`` if set, else ``../shared/data/mnist`` relative to the
repository root (the offline copy on the development and CI machines). Tests that need it are
skipped, with the reason, when neither holds the four files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from layerwise.data.mnist import MNIST_FILES, load_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]
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
