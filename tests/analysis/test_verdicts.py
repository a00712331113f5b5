"""The verdict rule (layerwise.analysis.verdicts) on fabricated per-seed effects: every verdict,
the symmetric thresholds, the power, and a verdict that ignores its secondary comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student_t
from scipy.stats import ttest_1samp

from layerwise.analysis.verdicts import (
    CONTRADICTED,
    EXCEPT,
    MIXED,
    NOT_TESTED,
    PRIMARY,
    SECONDARY,
    SUPPORTED,
    UNDERPOWERED,
    judge,
    normal_test,
    outcome,
    seed_test,
)

SPREAD = (-0.2, 0.1, 0.0, 0.15, -0.05)  # five seeds' deviations from the mean (pp)


def comp(condition, mean, role=PRIMARY, spread=SPREAD, direction="a_better", theta0=0.0):
    return seed_test(f"{condition}: A vs B", condition, role, [mean + s for s in spread],
                     direction=direction, theta0=theta0)  # fmt: skip


def test_seed_test_is_students_t_over_seeds():
    t = comp("x", -1.0)
    ref = ttest_1samp(np.array(SPREAD) - 1.0, 0.0)
    assert t.p_value == pytest.approx(ref.pvalue) and t.effect == pytest.approx(-1.0)
    low, high = t.interval()
    assert low < -1.0 < high and t.n_units == 5 and t.df == 4


def test_seeds_that_agree_to_the_digit_are_not_proof_the_floor_holds():
    """Two seeds with the same difference have sd 0; the floor (the test images' own sampling
    error) keeps the t-test honest: p from t = effect / floor with 1 df, not 0."""
    bare = seed_test("x", "x", PRIMARY, [-2.7, -2.7], direction="a_better")
    floored = seed_test("x", "x", PRIMARY, [-2.7, -2.7], direction="a_better", min_se=0.22)
    assert bare.p_value == 0.0  # what a sample sd of 0 alone says
    assert floored.se == 0.22 and floored.p_value == pytest.approx(
        2 * student_t.sf(2.7 / 0.22, 1))
    assert floored.p_value > 0.05  # one degree of freedom: t = 12.3 is not enough
    wide = seed_test("x", "x", PRIMARY, [-1.0, -3.0], direction="a_better", min_se=0.22)
    assert wide.se == pytest.approx(1.0)  # a real spread above the floor is kept
    with pytest.raises(ValueError, match="min_se"):
        seed_test("x", "x", PRIMARY, [-1.0, -3.0], direction="a_better", min_se=-1.0)


def test_one_seed_has_no_interval_and_no_power():
    t = seed_test("x", "x", PRIMARY, [-3.0], direction="a_better")
    assert t.p_value == 1.0 and all(math.isnan(v) for v in t.interval())
    assert t.power(1.0, 0.05) == 0.0


@pytest.mark.parametrize("mean, expected", [(-1.0, "for"), (1.0, "against"), (0.02, "neither")])
def test_symmetric_outcome_for_a_better(mean, expected):
    t = comp("x", mean)
    assert outcome(t, t.p_value, 0.05) == expected


@pytest.mark.parametrize("mean, expected", [(0.0, "for"), (-1.0, "against"), (-0.52, "neither")])
def test_symmetric_outcome_for_a_not_better_around_the_margin(mean, expected):
    t = comp("x", mean, direction="a_not_better", theta0=-0.5)
    assert outcome(t, t.p_value, 0.05) == expected


def test_the_same_distance_either_side_gives_the_same_p():
    below, above = comp("x", -0.8), comp("x", 0.8)
    assert below.p_value == pytest.approx(above.p_value)
    ni_for = comp("x", 0.3, direction="a_not_better", theta0=-0.5)
    ni_against = comp("x", -1.3, direction="a_not_better", theta0=-0.5)
    assert ni_for.p_value == pytest.approx(ni_against.p_value)


def test_supported_and_contradicted():
    assert judge([comp(d, -1.0) for d in "abcd"], delta=1.0).verdict == SUPPORTED
    assert judge([comp(d, +1.0) for d in "abcd"], delta=1.0).verdict == CONTRADICTED


def test_supported_except_names_the_failing_conditions():
    v = judge([comp("a", -1.0), comp("b", -1.2), comp("c", -0.9), comp("convex", 1.0)], delta=1.0)
    assert v.verdict == EXCEPT and v.n_for == 3 and v.n_against == 1
    assert v.exceptions == "opposite effect: convex"


def test_underpowered_when_the_primaries_could_not_detect_delta():
    wide = (-3.0, 2.0, 1.0, -2.5, 2.4)  # sd about 2.6 pp over 5 seeds: power far below 0.8 at 1
    v = judge([comp(d, 0.1, spread=wide) for d in "abcd"], delta=1.0)
    assert v.verdict == UNDERPOWERED and v.n_underpowered == 4 and v.power < 0.8


def test_no_effect_with_enough_power_is_mixed_not_underpowered():
    v = judge([comp(d, 0.01) for d in "abcd"], delta=1.0)  # tight: power ~1 at 1 pp
    assert v.power > 0.99 and v.n_underpowered == 0
    assert v.verdict == MIXED and "no detectable effect" in v.exceptions


def test_mixed_when_for_and_against_balance():
    v = judge([comp("a", -1.0), comp("b", -1.0), comp("c", 1.0), comp("d", 1.0)], delta=1.0)
    assert v.verdict == MIXED and "holds for: a, b" in v.exceptions


def test_holm_runs_within_the_primaries():
    # each p about 0.03: "for" alone, but not after Holm over two such comparisons
    border = [-0.1, -0.3, -0.25, -0.15, -0.02]
    pair = [seed_test(d, d, PRIMARY, border, direction="a_better") for d in "ab"]
    assert 0.02 < pair[0].p_value < 0.05
    assert judge(pair[:1], delta=0.2).verdict == SUPPORTED
    v = judge(pair, delta=0.2)
    assert v.verdict != SUPPORTED and v.n_for == 0
    assert [j.p_adjusted for j in v.judged] == pytest.approx([2 * pair[0].p_value] * 2)


def test_a_flipped_secondary_never_changes_the_verdict():
    primaries = [comp(d, -1.0) for d in "abc"]
    for_ = [comp(f"s{i}", -1.0, role=SECONDARY) for i in range(3)]
    flipped = [comp("s0", +1.0, role=SECONDARY), *for_[1:]]
    a, b = judge([*primaries, *for_], delta=1.0), judge([*primaries, *flipped], delta=1.0)
    assert a.verdict == b.verdict == SUPPORTED
    assert a.exceptions == "" and b.exceptions == "also against it: s0"


def test_not_tested_without_primaries_even_with_secondaries():
    v = judge([comp("s", -1.0, role=SECONDARY)], delta=1.0)
    assert v.verdict == NOT_TESTED and v.n_primary == 0 and len(v.judged) == 1


def test_normal_test_uses_its_own_standard_error():
    t = normal_test("code 30", "code 30", PRIMARY, -10.0, 0.4, [-10.2, -9.8])
    assert t.p_value < 1e-10 and t.interval()[1] < 0 and t.power(2.0, 0.05) > 0.99
    assert judge([t], delta=2.0).verdict == SUPPORTED


def test_mixed_directions_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="one direction"):
        judge([comp("a", -1.0), comp("b", 0.0, direction="a_not_better")], delta=1.0)
    with pytest.raises(ValueError, match="alpha"):
        judge([comp("a", -1.0)], delta=1.0, alpha=1.5)
    with pytest.raises(ValueError, match="direction"):
        seed_test("x", "x", PRIMARY, [1.0], direction="sideways")
