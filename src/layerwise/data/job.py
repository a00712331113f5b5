"""One data-set job: the ``data`` config slice of one set -> ``results/data/{dataset}/``.

MNIST comes from ``$LAYERWISE_MNIST_DIR`` if set, else ``data.mnist.dir``, else a verified download
into the cache (``layerwise.data.mnist.fetch_mnist``). The original 2007 ``.amat`` files are read
instead of the generators when ``data.amat_dir`` holds them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from layerwise import files
from layerwise.data.baselines import run_baselines
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


#: Data sets left out of the baselines unless ``data.baselines.datasets`` lists them (the SVM on
#: 60000 full-MNIST images takes hours).
BASELINES_SKIPPED = ("mnist-full",)


def baselines_datasets(cfg: dict) -> list[str]:
    """The data sets whose baselines the workflow computes (none when disabled), sorted."""
    b = cfg["data"]["baselines"]
    if not b["enabled"]:
        return []
    names = b["datasets"]
    if names is None:
        names = [d for d in cfg["data"]["datasets"] if d not in BASELINES_SKIPPED]
    return sorted(names)


def baselines_slice(cfg: dict, name: str) -> dict:
    """What the baselines job of data set ``name`` reads from a validated config: the settings of
    layerwise.data.baselines.run_baselines (plain builtins, so Snakemake compares them)."""
    b = cfg["data"]["baselines"]
    settings = {
        "classifiers": list(b["classifiers"]),
        "max_test": b["max_test"],
        "seed": b["seed"],
        "svm_rbf": dict(b["svm_rbf"]),
        "logreg": dict(b["logreg"]),
        "shape_stats": name in b["shape_stats"],
    }
    return {"name": name, "settings": settings}


def run_baselines_job(job: dict, data_npz: Path, out_json: Path, *, log=print) -> dict:
    """Baselines of one data set (``baselines_slice``) -> ``out_json``, written atomically.

    The file holds run_baselines' result plus ``dataset``, the split ``sizes`` of the data card and
    ``wall_seconds``; layerwise.report.baselines_section reads it.
    """
    t0, name = time.perf_counter(), job["name"]
    log(f"[baselines] {name}: {job['settings']}")
    with threadpool_limits(limits=1):  # one thread, as the rule asks (BLAS of the regression)
        out = run_baselines(data_npz, job["settings"])
    card_path = Path(data_npz).parent / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    out.update(dataset=name, sizes=card.get("sizes"), wall_seconds=time.perf_counter() - t0)
    for clf in job["settings"]["classifiers"]:
        r = out[clf]
        log(f"[baselines] {name}: {clf} test error {100 * r['test_error']:.2f}% "
            f"+- {100 * r['ci95']:.2f} on {r['n_test']} test images")  # fmt: skip
    files.write_json(out_json, out)
    log(f"[baselines] {name}: written to {out_json} in {out['wall_seconds']:.1f} s")
    return out
