"""Paired tests on the same test images (layerwise.analysis.paired) on fabricated predictions.

Oracles: McNemar p-values against scipy's binomial CDF (2 P(X <= min(b, c)), capped at 1) and a
hand-computed case; Holm against hand-worked examples; the multinomial bootstrap against naive
index resampling and against its coverage over repeated fabricated test sets."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import binom

from layerwise.analysis.paired import holm, mcnemar_exact, mcnemar_pooled, paired_bootstrap_ci


def table(b: int, c: int, n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (correct_a, correct_b): b A-only right, c B-only right, the rest both right."""
    assert b + c <= n
    a = np.r_[np.ones(b, bool), np.zeros(c, bool), np.ones(n - b - c, bool)]
    bb = np.r_[np.zeros(b, bool), np.ones(c, bool), np.ones(n - b - c, bool)]
    perm = np.random.default_rng(seed).permutation(n)
    return a[perm], bb[perm]


def binom_two_sided(b: int, c: int) -> float:
    """Independent oracle: exact two-sided sign-test p-value from the binomial CDF."""
    return 1.0 if b + c == 0 else min(1.0, 2 * binom.cdf(min(b, c), b + c, 0.5))


# --- McNemar ----------------------------------------------------------------------------------


def test_mcnemar_hand_computed_case():
    # b = 8, c = 2: p = 2 P(X <= 2 | n = 10, 1/2) = 2 (1 + 10 + 45) / 1024 = 0.109375
    res = mcnemar_exact(*table(8, 2, 20))
    assert (res.b, res.c, res.n) == (8, 2, 20)
    assert res.p_value == pytest.approx(0.109375, abs=1e-12)
    assert res.effect == pytest.approx((2 - 8) / 20)  # A errs less: negative


@pytest.mark.parametrize(
    "b,c,n", [(0, 0, 50), (5, 5, 50), (0, 10, 50), (30, 12, 500), (100, 130, 50000), (1, 0, 3)]
)
def test_mcnemar_matches_binomial_cdf(b, c, n):
    res = mcnemar_exact(*table(b, c, n, seed=b + c))
    assert (res.b, res.c) == (b, c)
    assert res.p_value == pytest.approx(binom_two_sided(b, c), rel=1e-10)
    assert res.effect == pytest.approx((c - b) / n)


def test_mcnemar_accepts_01_integers_and_is_antisymmetric():
    a, b = table(30, 12, 200)
    ab = mcnemar_exact(a.astype(np.uint8), b.astype(np.uint8))
    ba = mcnemar_exact(b, a)
    assert (ab.b, ab.c) == (ba.c, ba.b) == (30, 12)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert ab.effect == pytest.approx(-ba.effect)


def test_mcnemar_rejects_bad_inputs():
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_exact(np.ones(5, bool), np.ones(4, bool))
    with pytest.raises(ValueError, match="correct_b must be boolean or 0/1"):
        mcnemar_exact(np.ones(3, bool), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="correct_a must be a non-empty 1-D"):
        mcnemar_exact(np.ones((2, 2), bool), np.ones(4, bool))


# --- pooled over seeds ------------------------------------------------------------------------


def test_pooled_sums_discordant_counts_over_seeds():
    pairs = [table(40, 20, 1000, seed=1), table(35, 25, 1000, seed=2), table(30, 10, 1000, seed=3)]
    res = mcnemar_pooled(pairs)
    assert (res.b, res.c, res.n) == (105, 55, 3000)
    assert res.p_value == pytest.approx(binom_two_sided(105, 55), rel=1e-10)
    assert res.seed_effects == pytest.approx((-0.02, -0.01, -0.02))
    assert res.mean_effect == pytest.approx(-0.05 / 3)
    assert res.seeds_agree
    # pooling seeds that agree is more sensitive than any seed alone
    assert res.p_value < min(mcnemar_exact(a, b).p_value for a, b in pairs)


def test_pooled_detects_sign_disagreement_and_needs_a_seed():
    res = mcnemar_pooled([table(300, 100, 5000, seed=1), table(80, 100, 5000, seed=2)])
    assert res.p_value < 1e-6  # significant overall ...
    assert not res.seeds_agree  # ... but one seed goes the other way
    assert not mcnemar_pooled([table(10, 0, 100), table(5, 5, 100)]).seeds_agree  # a zero
    with pytest.raises(ValueError, match="at least one"):
        mcnemar_pooled([])


# --- bootstrap --------------------------------------------------------------------------------


def correlated_seeds(n: int, n_seeds: int, rng, err_a=0.05, err_b=0.06):
    """Per seed, A and B each wrong with their rates, correlated through shared hard images."""
    hard = rng.random(n) < 0.04
    a = np.stack([~(hard | (rng.random(n) < err_a - 0.04)) for _ in range(n_seeds)])
    b = np.stack([~(hard | (rng.random(n) < err_b - 0.04)) for _ in range(n_seeds)])
    return a, b


def test_bootstrap_estimate_and_determinism():
    a, b = correlated_seeds(5000, 3, np.random.default_rng(0))
    ci = paired_bootstrap_ci(a, b, n_boot=500, seed=7)
    naive = np.mean((~a).mean(axis=1) - (~b).mean(axis=1))
    assert ci.estimate == pytest.approx(naive)
    assert ci.low < ci.estimate < ci.high
    assert ci == paired_bootstrap_ci(list(a), list(b), n_boot=500, seed=7)
    assert ci != paired_bootstrap_ci(a, b, n_boot=500, seed=8)


def test_bootstrap_matches_naive_index_resampling():
    rng = np.random.default_rng(1)
    a, b = correlated_seeds(400, 2, rng, err_a=0.10, err_b=0.16)
    idx = rng.integers(0, 400, size=(20000, 400))  # naive: same indices in both seeds
    d = (~a).astype(float) - (~b).astype(float)  # (seeds, n)
    naive = d.mean(axis=0)[idx].mean(axis=1)
    lo, hi = np.quantile(naive, [0.025, 0.975])
    ci = paired_bootstrap_ci(a, b, n_boot=20000, seed=2)
    assert ci.low == pytest.approx(lo, abs=0.004)
    assert ci.high == pytest.approx(hi, abs=0.004)


def test_bootstrap_resamples_the_same_images_in_every_seed():
    # seed 2 is seed 1 with A and B swapped: every image's mean difference is 0, so a paired
    # resample of images gives exactly 0; resampling seeds independently would not
    a, b = table(60, 20, 1000)
    ci = paired_bootstrap_ci([a, b], [b, a], n_boot=200, seed=0)
    assert (ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0)


def test_bootstrap_covers_the_true_difference():
    true_diff, n, covered = 0.05 - 0.06, 2000, 0
    for rep in range(200):
        a, b = correlated_seeds(n, 2, np.random.default_rng(100 + rep))
        ci = paired_bootstrap_ci(a, b, n_boot=400, seed=rep)
        covered += ci.low <= true_diff <= ci.high
    assert 0.89 <= covered / 200 <= 0.99


def test_bootstrap_is_fast_at_full_scale():
    a, b = correlated_seeds(50000, 5, np.random.default_rng(3))
    start = time.perf_counter()
    ci = paired_bootstrap_ci(a, b, n_boot=1000, seed=0)
    assert time.perf_counter() - start < 2.0
    se = np.std((~a).mean(axis=0) - (~b).mean(axis=0)) / np.sqrt(50000)
    assert (ci.high - ci.low) / (2 * 1.96 * se) == pytest.approx(1.0, abs=0.1)


def test_bootstrap_rejects_bad_arguments():
    a, b = table(5, 3, 50)
    with pytest.raises(ValueError, match="n_boot"):
        paired_bootstrap_ci(a, b, n_boot=0, seed=0)
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap_ci(a, b, n_boot=10, seed=0, level=95)
    with pytest.raises(ValueError, match="same test images"):
        paired_bootstrap_ci([a, a[:40]], [b, b[:40]], n_boot=10, seed=0)


# --- Holm -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p,expected",
    [
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        ([0.5, 0.001, 0.02, 0.04], [0.5, 0.004, 0.06, 0.08]),
        ([0.6, 0.7], [1.0, 1.0]),
        ([0.02], [0.02]),
        ([], []),
    ],
)
def test_holm_known_examples(p, expected):
    np.testing.assert_allclose(holm(p), expected, rtol=1e-12)


def test_holm_is_monotone_and_never_below_raw():
    p = np.random.default_rng(4).random(30) ** 3
    adj = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert np.all(adj >= p) and np.all(adj <= 1)


def test_holm_rejects_invalid_p_values():
    with pytest.raises(ValueError, match="p_values"):
        holm([0.1, float("nan")])
    with pytest.raises(ValueError, match="p_values"):
        holm([1.2])
