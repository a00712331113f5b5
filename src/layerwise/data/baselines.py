"""Baseline classifiers of a data set, to show that a regenerated set is as hard as the original.

Larochelle, Erhan, Courville, Bergstra & Bengio, ICML 2007, section 5: the SVM baselines used a
Gaussian (RBF) kernel; "the hyper-parameters were selected on the validation set", and the SVM was
then "retrained on the union of the training and validation sets" before testing (recalled wording;
the paper does not list its grid). We do the same with scikit-learn, pixels in [0, 1]:

* RBF SVM: C in `C_grid` x gamma in `gamma_factors` times the "scale" width
  1 / (n_features * var(x_train)) (scikit-learn's default, about 1/(784 * 0.1) for MNIST), so one
  relative grid fits binary shapes and grey digits alike. Default 3 x 3: C in {1, 10, 100}, gamma
  factor in {0.5, 1, 2}.
* Logistic regression (multinomial, L2): C in `C_grid`, default {0.01, 0.1, 1}.

Ties in validation error go to the first grid point (C outer, gamma inner). The test error comes
with its binomial 95% half-width 1.96 sqrt(p (1 - p) / n_test). When `max_test` is smaller than the
test split, a random subset of that size (drawn with `seed`, without replacement) is scored and
n_test says how many; the interval is then wider. All fits are single-threaded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SVM_C_GRID = (1.0, 10.0, 100.0)
SVM_GAMMA_FACTORS = (0.5, 1.0, 2.0)
LOGREG_C_GRID = (0.01, 0.1, 1.0)
CLASSIFIERS = ("svm_rbf", "logreg")


def ci95(p: float, n: int) -> float:
    """Binomial 95% half-width 1.96 sqrt(p (1 - p) / n) of an error rate p on n examples."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return 1.96 * math.sqrt(p * (1.0 - p) / n)


def _test_subset(
    x: np.ndarray, y: np.ndarray, max_test: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if max_test is None or max_test >= len(y):
        return x, y
    if max_test < 1:
        raise ValueError(f"max_test must be >= 1 or None, got {max_test}")
    idx = np.sort(np.random.default_rng(seed).choice(len(y), size=max_test, replace=False))
    return x[idx], y[idx]


def _check_grid(name: str, grid: Sequence[float]) -> tuple[float, ...]:
    g = tuple(float(v) for v in grid)
    if not g or not all(v > 0 and math.isfinite(v) for v in g):
        raise ValueError(f"{name} must be a non-empty list of numbers > 0, got {list(grid)}")
    return g


def _select_refit_test(make, grid: list[dict], data: tuple, max_test: int | None, seed: int):
    """Fit make(**params) on train for every grid point, pick the lowest validation error (first on
    ties), refit on train + valid, score on the (sub)sampled test split -> result dict.

    A grid of one point has nothing to choose: it is fitted once, on train + valid, and its
    ``valid_errors`` is empty (the fit on train alone would cost as much again for no choice)."""
    x_tr, y_tr, x_va, y_va, x_te, y_te = data
    t0 = time.perf_counter()
    valid_err, best = [], 0
    if len(grid) > 1:
        for params in grid:
            model = make(**params).fit(x_tr, y_tr)
            valid_err.append(float(np.mean(model.predict(x_va) != y_va)))
        best = int(np.argmin(valid_err))  # argmin returns the first minimum
    model = make(**grid[best]).fit(np.concatenate([x_tr, x_va]), np.concatenate([y_tr, y_va]))
    x_te, y_te = _test_subset(x_te, y_te, max_test, seed)
    err = float(np.mean(model.predict(x_te) != y_te))
    return {
        "test_error": err,
        "ci95": ci95(err, len(y_te)),
        "n_test": int(len(y_te)),
        "n_refit": int(len(y_tr) + len(y_va)),
        "chosen": grid[best],
        "valid_errors": [{**p, "valid_error": e} for p, e in zip(grid, valid_err, strict=True)]
        if valid_err
        else [],
        "fit_seconds": round(time.perf_counter() - t0, 2),
    }


def svm_rbf_baseline(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    C_grid: Sequence[float] = SVM_C_GRID,
    gamma_factors: Sequence[float] = SVM_GAMMA_FACTORS,
    max_test: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """RBF SVM: (C, gamma) chosen on valid, refit on train + valid, test error +- ci95.

    x_*: (N, D) float in [0, 1]; y_*: (N,) int. gamma = factor / (D * var(x_train)). The result
    holds test_error, ci95, n_test, n_refit, chosen {"C", "gamma", "gamma_factor"}, the validation
    error of every grid point and fit_seconds (selection, refit and test together).
    """
    from sklearn.svm import SVC

    c_grid, factors = _check_grid("C_grid", C_grid), _check_grid("gamma_factors", gamma_factors)
    var = float(np.var(x_train))
    scale = 1.0 / (x_train.shape[1] * var) if var > 0 else 1.0
    grid = [
        {"C": c, "gamma": round(f * scale, 8), "gamma_factor": f} for c in c_grid for f in factors
    ]

    def make(C: float, gamma: float, gamma_factor: float) -> SVC:
        return SVC(C=C, gamma=gamma, kernel="rbf", cache_size=1000)

    data = (x_train, y_train, x_valid, y_valid, x_test, y_test)
    return _select_refit_test(make, grid, data, max_test, seed)


def logreg_baseline(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    C_grid: Sequence[float] = LOGREG_C_GRID,
    max_test: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """L2 logistic regression (multinomial): C chosen on valid, refit on train + valid."""
    from sklearn.linear_model import LogisticRegression

    grid = [{"C": c} for c in _check_grid("C_grid", C_grid)]

    def make(C: float) -> LogisticRegression:
        return LogisticRegression(C=C, max_iter=1000)

    data = (x_train, y_train, x_valid, y_valid, x_test, y_test)
    return _select_refit_test(make, grid, data, max_test, seed)


def run_baselines(data_npz: Path | str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Baselines of the data set file `data_npz` (layerwise.data.io format) -> JSON-able dict.

    The file is read with layerwise.data.io.load_dataset, so a card.json beside it must match.

    settings (all optional): ``classifiers`` (subset of CLASSIFIERS, default both), ``max_test``
    (int or None), ``seed`` (int, default 0), ``svm_rbf`` {"C_grid", "gamma_factors"},
    ``logreg`` {"C_grid"}, ``shape_stats`` (bool: also the logistic regression on the per-image
    statistics of layerwise.data.shape_stats, meant for binary shape sets such as convex).
    Returns {"settings": ..., "<classifier>": result, ...}.
    """
    from layerwise.data.io import SPLITS, load_dataset

    legal = {"classifiers", "max_test", "seed", "svm_rbf", "logreg", "shape_stats"}
    unknown = sorted(set(settings) - legal)
    if unknown:
        raise ValueError(f"unknown baseline settings {unknown}; legal keys: {sorted(legal)}")
    classifiers = list(settings.get("classifiers", CLASSIFIERS))
    bad = sorted(set(classifiers) - set(CLASSIFIERS))
    if bad:
        raise ValueError(f"unknown classifiers {bad}; legal: {list(CLASSIFIERS)}")
    max_test, seed = settings.get("max_test"), int(settings.get("seed", 0))
    ds = load_dataset(data_npz)  # x float32 in [0, 1]; checksum verified against card.json
    data = [a for s in SPLITS for a in ds.split(s)]
    out: dict[str, Any] = {"settings": {"classifiers": classifiers, "max_test": max_test}}
    out["settings"]["seed"] = seed
    funcs = {"svm_rbf": svm_rbf_baseline, "logreg": logreg_baseline}
    for name in classifiers:
        out[name] = funcs[name](*data, max_test=max_test, seed=seed, **settings.get(name, {}))
    if settings.get("shape_stats"):
        out["shape_stats_logreg"] = _shape_stats_result(data, max_test, seed)
    return out


def _shape_stats_result(data: list, max_test: int | None, seed: int) -> dict[str, Any]:
    from layerwise.data.shape_stats import (
        STAT_NAMES,
        shape_stats,
        stats_by_class,
        stats_classifier_error,
    )

    x_tr, y_tr, _, _, x_te, y_te = data
    x_te, y_te = _test_subset(x_te, y_te, max_test, seed)
    s_tr, s_te = shape_stats(x_tr), shape_stats(x_te)
    err = stats_classifier_error(s_tr, y_tr, s_te, y_te)
    return {
        "test_error": err,
        "ci95": ci95(err, len(y_te)),
        "n_test": int(len(y_te)),
        "stats": list(STAT_NAMES),
        "by_class_train": stats_by_class(s_tr, y_tr),
    }
