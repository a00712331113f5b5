"""Tests of layerwise.data.baselines: selection on valid, refit on train + valid, intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerwise.data.baselines import ci95, logreg_baseline, run_baselines, svm_rbf_baseline
from layerwise.data.io import save_dataset


def _checkerboard(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2-D XOR of the two halves: a linear rule gets 50%, a smooth kernel of the right width ~0%."""
    x = rng.random((n, 2))
    return x, ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)).astype(np.int64)


def test_ci95_is_the_binomial_half_width():
    # the papers' convention: 2.71% on 50000 test images is +- 0.14
    assert ci95(0.0271, 50000) == pytest.approx(0.00142, abs=5e-6)
    assert ci95(0.5, 100) == pytest.approx(0.098)
    assert ci95(0.0, 10) == 0.0
    with pytest.raises(ValueError, match=">= 1"):
        ci95(0.1, 0)


def test_svm_picks_the_one_gamma_that_fits_and_refits():
    rng = np.random.default_rng(0)
    # gamma factor 1e-3: nearly linear (~50% error); 1e4: a spike on every training point (the
    # valid points are far from all of them, ~50%); 1: the checkerboard (a few % error).
    data = [a for n in (200, 200, 400) for a in _checkerboard(n, rng)]
    out = svm_rbf_baseline(*data, C_grid=(10.0,), gamma_factors=(1e-3, 1.0, 1e4))
    errs = [v["valid_error"] for v in out["valid_errors"]]
    assert errs[0] > 0.3 and errs[2] > 0.3 and errs[1] < 0.1, errs
    assert out["chosen"]["gamma_factor"] == 1.0
    assert out["chosen"]["gamma"] == pytest.approx(1.0 / (2 * np.var(data[0])), rel=1e-6)
    assert out["test_error"] < 0.1
    assert out["n_test"] == 400 and out["n_refit"] == 400
    assert out["ci95"] == pytest.approx(ci95(out["test_error"], 400))


def test_refit_uses_the_validation_examples():
    """Train alone puts the boundary at ~5 (x*20 units); valid, 25x larger, moves it to ~13. The
    test points sit at 10.4-11.6 with label 0: a model fit on train only gets them all wrong."""
    rng = np.random.default_rng(1)
    x_tr = np.r_[rng.uniform(0, 4, 20), rng.uniform(6, 10, 20)][:, None]
    y_tr = np.r_[np.zeros(20), np.ones(20)].astype(np.int64)
    x_va = np.r_[rng.uniform(0, 12, 500), rng.uniform(14, 20, 500)][:, None]
    y_va = np.r_[np.zeros(500), np.ones(500)].astype(np.int64)
    x_te = rng.uniform(10.4, 11.6, 100)[:, None]
    y_te = np.zeros(100, dtype=np.int64)
    out = logreg_baseline(x_tr, y_tr, x_va, y_va, x_te, y_te, C_grid=(1.0,))
    assert out["n_refit"] == 1040
    assert out["test_error"] < 0.2
    train_only = logreg_baseline(x_tr, y_tr, x_tr, y_tr, x_te, y_te, C_grid=(1.0,))
    assert train_only["test_error"] > 0.8  # the contrast: without valid the test points are lost


def test_ties_go_to_the_first_grid_point():
    rng = np.random.default_rng(2)
    x = np.r_[rng.uniform(0, 0.3, 50), rng.uniform(0.7, 1, 50)][:, None]
    y = np.r_[np.zeros(50), np.ones(50)].astype(np.int64)
    out = logreg_baseline(x, y, x, y, x, y, C_grid=(1.0, 10.0, 100.0))
    assert [v["valid_error"] for v in out["valid_errors"]] == [0.0, 0.0, 0.0]
    assert out["chosen"] == {"C": 1.0}


def test_bad_grids_raise():
    x, y = _checkerboard(20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="numbers > 0"):
        svm_rbf_baseline(x, y, x, y, x, y, C_grid=())
    with pytest.raises(ValueError, match="numbers > 0"):
        svm_rbf_baseline(x, y, x, y, x, y, gamma_factors=(0.0,))
    with pytest.raises(ValueError, match="max_test"):
        logreg_baseline(x, y, x, y, x, y, max_test=0)


def _tiny_npz(tmp_path, rng):
    """A 784-pixel two-class set: class 1 lights the left half more."""
    splits = {}
    for s, n in (("train", 120), ("valid", 60), ("test", 300)):
        y = rng.integers(0, 2, n)
        x = (rng.random((n, 784)) * 0.6).astype(np.float32)
        x[y == 1, :392] += 0.4
        splits[f"x_{s}"], splits[f"y_{s}"] = x, y
    path = tmp_path / "data.npz"
    save_dataset(path, splits)
    return path


def test_run_baselines_reads_a_dataset_file_and_returns_json(tmp_path):
    path = _tiny_npz(tmp_path, np.random.default_rng(3))
    settings = {
        "max_test": 100,
        "seed": 7,
        "svm_rbf": {"C_grid": [1.0], "gamma_factors": [1.0]},
        "logreg": {"C_grid": [0.1]},
    }
    out = run_baselines(path, settings)
    json.dumps(out, allow_nan=False)  # JSON-able, no NaN
    for name in ("svm_rbf", "logreg"):
        assert out[name]["n_test"] == 100 and out[name]["n_refit"] == 180
        assert out[name]["test_error"] < 0.05  # the halves differ by 0.4 over 392 pixels
        assert out[name]["fit_seconds"] >= 0
    assert out["settings"] == {"classifiers": ["svm_rbf", "logreg"], "max_test": 100, "seed": 7}
    again = run_baselines(path, settings)
    assert again["svm_rbf"]["test_error"] == out["svm_rbf"]["test_error"]  # same subsample


def test_run_baselines_rejects_unknown_settings(tmp_path):
    path = _tiny_npz(tmp_path, np.random.default_rng(4))
    with pytest.raises(ValueError, match="legal keys"):
        run_baselines(path, {"n_jobs": 4})
    with pytest.raises(ValueError, match="unknown classifiers"):
        run_baselines(path, {"classifiers": ["knn"]})


def test_run_baselines_refuses_a_file_its_card_does_not_match(tmp_path):
    from layerwise.data.io import DatasetError, write_card

    path = _tiny_npz(tmp_path, np.random.default_rng(5))
    write_card(tmp_path / "card.json", {"name": "tiny", "checksum": "0" * 64, "n_classes": 2})
    with pytest.raises(DatasetError, match="does not match its card"):
        run_baselines(path, {"classifiers": ["logreg"]})


def test_a_single_grid_point_is_fitted_once_on_train_and_valid(monkeypatch):
    """Nothing to choose: no fit on train alone (it would double the SVM's cost), the one point is
    'chosen', and there is no validation error to report."""
    from sklearn.linear_model import LogisticRegression

    fits = []
    real_fit = LogisticRegression.fit
    monkeypatch.setattr(
        LogisticRegression, "fit", lambda self, x, y: fits.append(len(y)) or real_fit(self, x, y)
    )
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(0, 0.3, 50), rng.uniform(0.7, 1, 50)][:, None]
    y = np.r_[np.zeros(50), np.ones(50)].astype(np.int64)
    out = logreg_baseline(x, y, x[:40], y[:40], x, y, C_grid=(1.0,))
    assert fits == [140]
    assert out["chosen"] == {"C": 1.0} and out["valid_errors"] == []
    assert out["test_error"] < 0.05
    two = logreg_baseline(x, y, x[:40], y[:40], x, y, C_grid=(1.0, 10.0))
    assert len(two["valid_errors"]) == 2 and fits[1:] == [100, 100, 140]
