"""One data-set job: the ``data`` config slice of one set -> ``results/data/{dataset}/``.

MNIST comes from ``$LAYERWISE_MNIST_DIR`` if set, else ``data.mnist.dir``, else a verified download
into the cache (``layerwise.data.mnist.fetch_mnist``). The original 2007 ``.amat`` files are read
instead of the generators when ``data.amat_dir`` holds them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from layerwise.data.build import build_dataset
from layerwise.data.mnist import DEFAULT_MIRRORS, ENV_VAR, fetch_mnist


def dataset_slice(cfg: dict, name: str) -> dict:
    """What the job of data set ``name`` reads from a validated config (and nothing else)."""
    d = cfg["data"]
    keys = ("seed", "mnist", "natural_images", "amat_dir")
    return {"name": name, "spec": d["datasets"][name], **{k: d[k] for k in keys}}


def run_dataset_job(data: dict, out_dir: Path, *, log=print) -> dict:
    """Generate (or read) data set ``data["name"]`` into ``out_dir``; returns its card."""
    t0, name, spec = time.perf_counter(), data["name"], data["spec"]
    mnist_dir = None
    if name.startswith("mnist"):
        mnist = data["mnist"]
        mnist_dir = fetch_mnist(
            local_dir=os.environ.get(ENV_VAR) or mnist["dir"],
            cache_dir=mnist["cache_dir"],
            mirrors=mnist["mirrors"] or DEFAULT_MIRRORS,
        )
        log(f"[data] {name}: MNIST from {mnist_dir}")
    card = build_dataset(
        name,
        seed=data["seed"],
        out_dir=out_dir,
        mnist_dir=mnist_dir,
        params=spec["params"],
        sizes={k: spec[k] for k in ("n_train", "n_valid", "n_test")},
        images=data["natural_images"] or None,
        amat_dir=data["amat_dir"],
    )
    log(f"[data] {name}: written to {out_dir} in {time.perf_counter() - t0:.1f} s")
    return card
