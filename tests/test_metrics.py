"""Error rate, the papers' binomial interval and model selection by validation error."""

import numpy as np
import pandas as pd
import pytest

from layerwise.metrics import binomial_ci95, error_rate, select_best


def test_error_rate():
    assert error_rate(np.array([1, 2, 3, 4]), np.array([1, 0, 3, 0])) == 0.5
    with pytest.raises(ValueError):
        error_rate(np.array([1, 2]), np.array([1]))


@pytest.mark.parametrize(
    "pct, n, printed",
    [
        (2.71, 50000, 0.14),
        (3.17, 50000, 0.15),
        (15.22, 50000, 0.31),
        (8.80, 50000, 0.25),
        (62.16, 50000, 0.43),
        (1.60, 10000, 0.25),
    ],
)
def test_interval_matches_printed_half_widths(pct, n, printed):
    assert round(100 * float(binomial_ci95(pct / 100, n)), 2) == pytest.approx(printed, abs=0.006)


def test_interval_against_published_table():
    ref = pd.read_csv("src/layerwise/reference/published_results.csv").dropna(subset=["ci95_pct"])
    ref = ref[ref["source"].str.startswith("Larochelle2009")]
    ours = 100 * binomial_ci95(ref["test_error_pct"] / 100, 50000)
    # the depth table prints two decimals; rounding of p itself explains the rest
    assert np.max(np.abs(ours - ref["ci95_pct"])) <= 0.011


def _table():
    rows = []
    for seed in (1, 2):
        for cand, valid in (("a", 0.10 + seed / 100), ("b", 0.08), ("c", np.nan)):
            rows.append(
                dict(
                    dataset="d",
                    depth=1,
                    pretraining="rbm",
                    dropout=False,
                    seed=seed,
                    candidate=cand,
                    valid_error=valid if seed == 1 else 0.2 - (cand == "a"),
                    test_error=0.1 * (seed + (cand == "b")),
                    n_test=100,
                    train_error=0.0,
                )
            )
    return pd.DataFrame(rows)


def test_selection_picks_the_best_validation_candidate_per_seed():
    t = _table()
    t["selected"] = select_best(t)
    chosen = t[t.selected].set_index("seed")["candidate"].to_dict()
    assert chosen == {1: "b", 2: "a"}
    assert t.selected.sum() == 2


def _one_cell(**columns) -> pd.DataFrame:
    """Candidates of one (data set, depth, pretraining, dropout) cell; ``columns`` add the rest."""
    return pd.DataFrame(dict(dataset="d", depth=1, pretraining="none", dropout=False, **columns))


def test_selection_never_picks_diverged_and_ties_go_first():
    t = _one_cell(seed=1, candidate=["x", "y", "z"], valid_error=[np.nan, 0.3, 0.3])
    assert select_best(t).tolist() == [False, True, False]
    t["valid_error"] = np.nan
    assert not select_best(t).any()


def test_equal_validation_errors_go_to_the_lower_validation_nll():
    t = _one_cell(
        seed=[1, 1, 1, 2, 2],
        candidate=["x", "y", "z", "x", "y"],
        valid_error=[0.3, 0.2, 0.2, 0.1, 0.1],
        valid_loss=[0.1, 0.9, 0.5, np.nan, 0.4],  # a missing NLL ranks last
    )
    assert select_best(t).tolist() == [False, False, True, False, True]
    assert select_best(t, tie_break="first").tolist() == [False, True, False, True, False]
    assert select_best(t.drop(columns="valid_loss")).tolist() == [False, True, False, True, False]
    with pytest.raises(ValueError, match="tie_break must be one of"):
        select_best(t, tie_break="last")
