"""A small, realistic fake results tree (docs/architecture.md file contract) for the report tests.

2 data sets x depths 1-3 x 4 methods x dropout off/on x 2 candidates x 2 seeds, with one cell whose
every member diverged (mnist-rot, depth 2, ae, dropout off) and one missing cell (mnist-basic,
depth 3, dae, dropout off) so partial runs are exercised. Numbers follow the papers' pattern:
pretraining helps, more so with depth, rotation is harder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

DATASETS = {"mnist-basic": 0.045, "mnist-rot": 0.14}  # random-init test error at depth 1
GAIN = {"none": 0.0, "ae": 0.22, "dae": 0.30, "rbm": 0.32}  # relative error reduction at depth 1
DEPTHS = (1, 2, 3)
SEEDS = (0, 1)
CANDIDATES = ("c0", "c1")
N_TEST = 50000
DIVERGED_CELL = ("mnist-rot", 2, "ae", False)
MISSING_CELL = ("mnist-basic", 3, "dae", False)
N_HIDDEN = 120


def _error(ds: str, depth: int, method: str, dropout: bool, cand: str, rng) -> float:
    base = DATASETS[ds] * (1 - GAIN[method])
    depth_effect = 1 - 0.06 * (depth - 1) if method != "none" else 1 + 0.03 * (depth - 1)
    p = base * depth_effect * (0.93 if dropout else 1.0) * (1.08 if cand == "c1" else 1.0)
    return float(np.clip(p + rng.normal(0, 0.0012), 0.001, 0.99))


def fake_results(rng: np.random.Generator) -> pd.DataFrame:
    """The tidy results table with `selected` = lowest validation error per (cell, seed)."""
    rows = []
    for ds in DATASETS:
        for depth in DEPTHS:
            for method in GAIN:
                for dropout in (False, True):
                    if (ds, depth, method, dropout) == MISSING_CELL:
                        continue
                    diverged = (ds, depth, method, dropout) == DIVERGED_CELL
                    for cand in CANDIDATES:
                        for seed in SEEDS:
                            test = _error(ds, depth, method, dropout, cand, rng)
                            rows.append(_row(ds, depth, method, dropout, cand, seed, test,
                                             diverged, rng))  # fmt: skip
    frame = pd.DataFrame(rows)
    keys = ["dataset", "depth", "pretraining", "dropout", "seed"]
    order = frame["valid_error"].fillna(np.inf)
    best = order.groupby([frame[k] for k in keys]).transform("min")
    frame["selected"] = (order == best) & ~(frame["diverged"] & (frame["candidate"] != "c0"))
    return frame


def _row(ds, depth, method, dropout, cand, seed, test, diverged, rng) -> dict:
    pid = "none" if method == "none" else "p0"
    nan = float("nan")
    return dict(
        study="fake", dataset=ds, depth=depth, pretraining=method, dropout=dropout, seed=seed,
        candidate=cand, member_id=f"{method}.{pid}.{cand}.do{int(dropout)}.s{seed}",
        job_id=f"finetune/{ds}/d{depth}/all", pretrain_id=pid, n_hidden=N_HIDDEN,
        activation="sigmoid", lr=0.1 if cand == "c0" else 0.03, momentum=0.0,
        p_drop_input=0.2 if dropout else 0.0, p_drop_hidden=0.5 if dropout else 0.0,
        max_norm=3.0 if dropout else nan, pretrain_lr=nan if method == "none" else 0.01,
        pretrain_epochs=nan if method == "none" else 10,
        corruption_level=0.25 if method == "dae" else nan, cd_k=1 if method == "rbm" else nan,
        epochs_run=nan if diverged else 20, best_epoch=nan if diverged else 15,
        train_error=nan if diverged else test * (0.3 + 0.15 * depth * (method == "none")),
        valid_error=nan if diverged else test + rng.normal(0, 0.001),
        test_error=nan if diverged else test, n_train=10000, n_valid=2000, n_test=N_TEST,
        test_ci95=nan if diverged else 1.96 * np.sqrt(test * (1 - test) / N_TEST),
        diverged=diverged, diverged_epoch=3 if diverged else nan, wall_time_s=12.5,
    )  # fmt: skip


def fake_history(results: pd.DataFrame, n_epochs: int = 10) -> pd.DataFrame:
    """Per-epoch history of every member; without pretraining gradient norms vanish inputwards."""
    rows = []
    for r in results.itertuples(index=False):
        final = 0.5 if r.diverged else r.valid_error
        decay = 0.3 if r.pretraining == "none" else 0.75  # ratio of norms of adjacent layers
        for epoch in range(1, n_epochs + 1):
            row = dict(dataset=r.dataset, depth=r.depth, job_id=r.job_id, member_id=r.member_id,
                       epoch=epoch, train_loss=2.3 / epoch, train_error=final * (1 + 3 / epoch),
                       valid_error=final * (1 + 2 / epoch))  # fmt: skip
            for layer in range(1, max(DEPTHS) + 2):
                norm = 1.0 / epoch * decay ** (r.depth + 1 - layer)
                row[f"grad_norm_l{layer}"] = norm if layer <= r.depth + 1 else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _blob_filters(k: int, n_hidden: int, rng: np.random.Generator) -> np.ndarray:
    """(k, 784, n_hidden) float32: smooth oriented blobs, like pretrained first-layer filters."""
    yy, xx = np.mgrid[0:28, 0:28]
    out = np.empty((k, 784, n_hidden), dtype=np.float32)
    for m in range(k):
        cy, cx = rng.uniform(6, 22, (2, n_hidden))
        theta, freq = rng.uniform(0, np.pi, n_hidden), rng.uniform(0.2, 0.6, n_hidden)
        for j in range(n_hidden):
            envelope = np.exp(-((yy - cy[j]) ** 2 + (xx - cx[j]) ** 2) / 30)
            wave = np.cos(
                freq[j] * ((xx - cx[j]) * np.cos(theta[j]) + (yy - cy[j]) * np.sin(theta[j]))
            )
            out[m, :, j] = (envelope * wave + 0.05 * rng.normal(size=(28, 28))).ravel()
    return out


def write_fake_tree(root: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Write results.csv, history.csv, data folders, filters and provenance under root."""
    root.mkdir(parents=True, exist_ok=True)
    results = fake_results(rng)
    results.to_csv(root / "results.csv", index=False)
    fake_history(results).to_csv(root / "history.csv", index=False)
    for ds in DATASETS:
        folder = root / "data" / ds
        folder.mkdir(parents=True)
        card = dict(
            name=ds, n_train=10000, n_valid=2000, n_test=N_TEST, seed=2007, sha256="ab" * 32
        )
        (folder / "card.json").write_text(json.dumps(card))
        grid = rng.uniform(0, 1, (10 * 28, 10 * 28)) ** 4  # sample grid, one row per class
        matplotlib.image.imsave(folder / "samples.png", grid, cmap="gray")
        for method in ("ae", "dae", "rbm"):
            job = root / "pretrain" / ds / method / "p0"
            job.mkdir(parents=True)
            np.savez(job / "filters.npz", W1=_blob_filters(len(SEEDS), N_HIDDEN, rng))
    provenance = dict(
        config={"study": "fake", "grid": {"datasets": list(DATASETS), "depths": list(DEPTHS),
                "pretraining": list(GAIN), "dropout": [False, True], "seeds": list(SEEDS)}},
        git_commit="0123abc", versions={"python": "3.11", "numpy": np.__version__},
        device="cpu", stage_wall_time_s={"data": 3.2, "pretrain": 120.0, "finetune": 300.5},
        n_jobs=6, n_runs=len(results), tracking_uri="sqlite:///results/mlflow.db",
        started="2025-01-01T10:00:00", finished="2025-01-01T11:00:00",
    )  # fmt: skip
    (root / "provenance.json").write_text(json.dumps(provenance))
    return dict(results_csv=root / "results.csv", history_csv=root / "history.csv",
                data_dir=root / "data",
                filter_files=sorted((root / "pretrain").glob("*/*/*/filters.npz")),
                provenance_json=root / "provenance.json")  # fmt: skip


@pytest.fixture(scope="session")
def fake_tree(tmp_path_factory) -> dict[str, Path]:
    """Input paths of build_report for the fake tree (session-wide, read-only by convention)."""
    return write_fake_tree(tmp_path_factory.mktemp("fake_tree"), np.random.default_rng(20070))


@pytest.fixture(scope="session")
def built_report(fake_tree, tmp_path_factory) -> dict:
    """build_report run once on the fake tree: output paths plus its wall time in seconds."""
    from layerwise.analysis.claims import write_claims
    from layerwise.report.build import build_report

    out = tmp_path_factory.mktemp("report")
    claims = dict(claims_csv=out / "claims.csv", comparisons_csv=out / "claim_comparisons.csv")
    write_claims(results_csv=fake_tree["results_csv"], history_csv=fake_tree["history_csv"],
                 prediction_files=[], autoencoder_files=[], claims=None, baseline="glorot",
                 out_claims=claims["claims_csv"],
                 out_comparisons=claims["comparisons_csv"])  # fmt: skip
    paths = dict(
        out_html=out / "report.html", out_pdf=out / "report.pdf", figures_dir=out / "figures"
    )
    start = time.perf_counter()
    build_report(**fake_tree, reference_csv=None, tracking_uri="sqlite:///fake/mlflow.db",
                 **claims, **paths)  # fmt: skip
    return paths | {"wall_s": time.perf_counter() - start, "inputs": fake_tree}
