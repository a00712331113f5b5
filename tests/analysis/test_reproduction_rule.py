"""The reproduction's rule on made-up cells: known differences and seed spreads."""

import math

import pandas as pd
import pytest
from scipy.stats import t as student_t

from layerwise.analysis.reproduction_rule import (
    MARGIN,
    counted_rows,
    counts_line,
    judge,
    judge_cells,
    rule_sentence,
    t_half_width,
    verdict_counts,
    welch_half_width,
)

T1 = float(student_t.ppf(0.975, 1))  # 12.71: two seeds, one degree of freedom


def _cell(ours, std, n_seeds=2, paper=10.0, paper_ci=0.25, ours_ci=0.25, **key):
    """One stacked row (percent): ours' mean, its seed std and binomial half-width, published."""
    row = dict(piece="p", dataset="d", pretraining="rbm", depth=1, source="S", unverified=False,
               status="ok", paper_pct=paper, paper_ci_pct=paper_ci, ours_pct=ours,
               ours_ci_pct=ours_ci, ours_std_pct=std, n_seeds=n_seeds)  # fmt: skip
    return row | key


def _judge(*rows, margin=MARGIN):
    return judge_cells(pd.DataFrame(list(rows)), margin)


def test_t_half_width_over_seeds():
    assert t_half_width(1.0, 2) == pytest.approx(T1 / math.sqrt(2))
    assert t_half_width(1.0, 5) == pytest.approx(student_t.ppf(0.975, 4) / math.sqrt(5))
    assert math.isnan(t_half_width(1.0, 1)) and math.isnan(t_half_width(math.nan, 3))


def test_welch_half_width_of_equal_cells_is_the_pooled_t():
    # equal n and std: Welch's df = 2 (n - 1), se = std sqrt(2 / n)
    assert welch_half_width(1.0, 3, 1.0, 3) == pytest.approx(
        student_t.ppf(0.975, 4) * math.sqrt(2 / 3)
    )
    assert welch_half_width(0.0, 2, 0.0, 2) == 0.0
    assert math.isnan(welch_half_width(1.0, 1, 1.0, 3))


@pytest.mark.parametrize(
    ("diff", "half", "margin", "expected"),
    [(0.3, 0.4, 0.0, "consistent"), (-0.5, 0.4, 0.0, "better"), (0.5, 0.4, 0.0, "worse"),
     (0.3, 0.1, 0.5, "consistent"), (0.3, 0.25, 0.5, "worse"), (-0.39, 0.1, 0.5, "consistent"),
     (-0.41, 0.1, 0.5, "better")],
)  # fmt: skip
def test_judge_contains_zero_or_within_the_margin(diff, half, margin, expected):
    assert judge(diff, half, margin) == expected


def test_one_difference_is_consistent_or_not_by_the_seed_spread():
    """+0.6 points against published: worse with seeds that agree, consistent when they spread."""
    tight, wide = _judge(_cell(10.6, 0.01), _cell(10.6, 0.5), margin=0.0).itertuples()
    assert tight.verdict == "worse"  # binomial 0.25 wins: h = sqrt(0.25^2 + 0.25^2) = 0.35
    assert tight.ours_hw_pct == pytest.approx(0.25)
    assert tight.diff_hw_pct == pytest.approx(math.hypot(0.25, 0.25))
    assert wide.verdict == "consistent"  # t: 12.71 x 0.5 / sqrt(2) = 4.49 swamps the 0.6
    assert wide.ours_hw_pct == pytest.approx(T1 * 0.5 / math.sqrt(2))


def test_better_worse_and_more_seeds_narrow_the_interval():
    rows = _judge(_cell(9.0, 0.1), _cell(11.0, 0.1), _cell(10.6, 0.3, n_seeds=10),
                  _cell(10.6, 0.3, n_seeds=2), margin=0.0)  # fmt: skip
    assert list(rows["verdict"]) == ["better", "worse", "worse", "consistent"]


def test_one_seed_falls_back_to_the_binomial_interval():
    (row,) = _judge(_cell(10.2, math.nan, n_seeds=1)).itertuples()
    assert math.isnan(row.ours_t_pct) and row.ours_hw_pct == 0.25 and row.verdict == "consistent"


def test_the_margin_makes_a_small_precise_difference_consistent():
    """d = 0.4 +- 0.35 excludes 0; up to 0.75: not within +-5% of 10 (0.5), within +-10% (1.0)."""
    precise = _cell(10.4, 0.001, paper_ci=0.25)
    assert _judge(precise, margin=0.05)["verdict"].item() == "worse"
    assert _judge(precise, margin=0.10)["verdict"].item() == "consistent"


def test_each_distinct_cell_is_counted_once_against_its_verified_reference():
    """Two papers' numbers for one net (2007 recalled, 2009 verified): counted once, verified."""
    rows = [_cell(10.0, 0.01, paper=14.0, source="2007", unverified=True),  # better, recalled
            _cell(10.0, 0.01, paper=10.1, source="2009"),  # consistent, verified
            _cell(10.0, 0.01, paper=10.1, depth=3, source="2007", unverified=True),
            _cell(20.0, 0.01, paper=10.1, pretraining="ae", piece="q")]  # fmt: skip
    table = _judge(*rows)
    assert list(table["counted"]) == [False, True, True, True]
    assert verdict_counts(table) == {"consistent": 2, "better": 0, "worse": 1}
    assert list(counted_rows(table.iloc[[0]])) == [True]  # alone, a recalled row counts


def test_a_cell_without_a_number_keeps_its_status_and_is_counted_apart():
    table = _judge(_cell(10.0, 0.01), _cell(math.nan, math.nan, n_seeds=0, depth=2,
                                            status="missing"))  # fmt: skip
    assert list(table["verdict"]) == ["consistent", "missing"]
    assert verdict_counts(table) == {"consistent": 1, "better": 0, "worse": 0, "missing": 1}


def test_the_count_line_carries_its_label_and_the_rule():
    table = _judge(_cell(10.0, 0.01), _cell(12.0, 0.01, depth=2))
    line = counts_line(table, 0.05, "development")
    assert line.startswith("Development counts over 2 distinct cells: consistent 1, better 0, "
                           "worse 1. Rule: per distinct cell")  # fmt: skip
    assert line.endswith(rule_sentence(0.05)) and "+-5% of the published error" in line
    assert "+-10%" in rule_sentence(0.1)
