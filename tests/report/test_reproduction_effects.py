"""The papers' effects on made-up cells: pretraining gains and depth steps, ours and published."""

import math

import pandas as pd
import pytest
from scipy.stats import t as student_t

from layerwise.report.reproduction_effects import (
    GAIN,
    OURS_REACH,
    STEP,
    _limits,
    effect_label,
    effects_figure,
    effects_table,
)


def _published(rows, source="P2009", unverified=False, dataset="d"):
    """Stacked-table rows (percent) of one published table: (method, depth, pct, half-width)."""
    return [dict(dataset=dataset, source=source, unverified=unverified, pretraining=m, depth=d,
                 paper_pct=p, paper_ci_pct=h) for m, d, p, h in rows]  # fmt: skip


def _ours(rows, dataset="d", n_seeds=2, piece="p"):
    """Our cells (fractions): (method, depth, mean %, std %)."""
    return pd.DataFrame([dict(piece=piece, dataset=dataset, pretraining=m, depth=d, mean=p / 100,
                              std=s / 100, n_seeds=n_seeds, n_test=50000.0)
                         for m, d, p, s in rows])  # fmt: skip


def _effect(effects, kind, method, depth_b):
    rows = effects[(effects["kind"] == kind) & (effects["pretraining"] == method)
                   & (effects["depth_b"] == depth_b)]  # fmt: skip
    assert len(rows) == 1
    return next(rows.itertuples())


def test_gains_and_depth_steps_ours_against_published():
    table = pd.DataFrame(_published([("none", 1, 4.0, 0.2), ("rbm", 1, 3.0, 0.2),
                                     ("none", 2, 4.2, 0.2), ("rbm", 2, 2.5, 0.2)]))  # fmt: skip
    cells = _ours([("none", 1, 4.0, 0.01), ("rbm", 1, 3.9, 0.01), ("none", 2, 4.2, 0.5),
                   ("rbm", 2, 2.6, 0.01)])  # fmt: skip
    effects = effects_table(table, cells)
    assert len(effects) == 2 + 2 + 0  # gains at depth 1, 2; steps of none and rbm 1 -> 2
    gain1 = _effect(effects, GAIN, "rbm", 1)
    assert (gain1.ours_pct, gain1.paper_pct) == pytest.approx((0.1, 1.0))
    assert gain1.paper_hw_pct == pytest.approx(math.hypot(0.2, 0.2))
    assert gain1.verdict == "lower"  # a tenth of the published gain, seeds that agree
    binomial = 100 * 1.96 * math.sqrt((0.04 * 0.96 + 0.039 * 0.961) / 50000)
    assert gain1.ours_hw_pct == pytest.approx(binomial)  # larger than Welch's here
    gain2 = _effect(effects, GAIN, "rbm", 2)  # 1.6 against 1.7, but none's seeds spread
    assert gain2.verdict == "consistent"
    se = math.hypot(0.5, 0.01) / math.sqrt(2)
    df = (0.25 / 2 + 0.0001 / 2) ** 2 / ((0.25 / 2) ** 2 + (0.0001 / 2) ** 2)
    assert gain2.ours_hw_pct == pytest.approx(student_t.ppf(0.975, df) * se)
    step = _effect(effects, STEP, "rbm", 2)
    assert (step.depth_a, step.ours_pct, step.paper_pct) == pytest.approx((1, 1.3, 0.5))
    assert step.verdict == "higher" and step.baseline == "glorot"  # the pieces' own runs
    assert effect_label(step) == "rbm, d1->2" and effect_label(gain1) == "gain rbm, d1"


def test_published_from_one_source_verified_first_and_ours_across_pieces():
    """A 2007 table (recalled) and the 2009 one (verified) both have the depth-1 gain: 2009's is
    used; the 2007 table's depth 1 -> 3 step is the only one with depth 3, and our depth-3 cell
    comes from another piece."""
    table = pd.DataFrame(
        _published([("none", 1, 18.0, 0.3), ("rbm", 1, 14.0, 0.3), ("rbm", 3, 10.0, 0.3)],
                   source="P2007", unverified=True)
        + _published([("none", 1, 15.0, 0.3), ("rbm", 1, 10.5, 0.3)])
    )  # fmt: skip
    cells = pd.concat([_ours([("none", 1, 13.0, 0.01), ("rbm", 1, 11.5, 0.01)]),
                       _ours([("rbm", 3, 9.0, 0.01)], piece="deep")])  # fmt: skip
    effects = effects_table(table, cells)
    gain = _effect(effects, GAIN, "rbm", 1)
    assert (gain.source, gain.paper_pct, gain.unverified) == ("P2009", 4.5, False)
    step = _effect(effects, STEP, "rbm", 3)
    assert (step.source, step.depth_a, step.unverified) == ("P2007", 1, True)
    assert (step.ours_pct, step.paper_pct) == pytest.approx((2.5, 4.0))
    # ours has no none at depth 3 and no paper has it: no gain at depth 3
    assert effects[(effects["kind"] == GAIN) & (effects["depth_b"] == 3)].empty


def test_an_effect_only_ours_has_is_listed_without_a_verdict():
    table = pd.DataFrame(_published([("rbm", 3, 2.6, 0.14)]))
    effects = effects_table(table, _ours([("none", 3, 8.9, 0.1), ("rbm", 3, 2.1, 0.1)]))
    (gain,) = effects.itertuples()
    assert gain.ours_pct == pytest.approx(6.8) and math.isnan(gain.paper_pct)
    assert gain.verdict == "-" and gain.source == ""


def test_the_figure_draws_a_panel_per_data_set_with_ours():
    table = pd.DataFrame(_published([("none", 1, 4.0, 0.2), ("rbm", 1, 3.0, 0.2)])
                         + _published([("rbm", 1, 3.0, 0.2)], dataset="e"))  # fmt: skip
    cells = _ours([("none", 1, 4.0, 3.0), ("rbm", 1, 3.5, 0.01)])  # a wide interval: clipped
    figure = effects_figure(effects_table(table, cells))
    assert figure is not None and figure.png.startswith(b"\x89PNG")
    assert effects_figure(effects_table(table, cells.iloc[:0])) is None


def test_the_fan_in_baseline_gives_again_the_effects_that_involve_no_pretraining():
    """Gains and none's depth steps come again against the fan-in nets, each beside its glorot
    row; rbm's step involves no baseline and comes once; no fan-in net at depth 2: no fan-in row
    that needs it."""
    table = pd.DataFrame(_published([("none", 1, 4.0, 0.2), ("rbm", 1, 3.0, 0.2),
                                     ("none", 2, 4.2, 0.2), ("rbm", 2, 2.5, 0.2)]))  # fmt: skip
    cells = _ours([("none", 1, 4.0, 0.01), ("rbm", 1, 3.9, 0.01), ("none", 2, 4.2, 0.01),
                   ("rbm", 2, 2.6, 0.01)])  # fmt: skip
    fan_in = _ours([("none", 1, 5.0, 0.01)])
    effects = effects_table(table, cells, fan_in)
    labels = [effect_label(r, baselines=True) for r in effects.itertuples()]
    assert labels == ["gain rbm, d1 [glorot]", "gain rbm, d1 [fan-in]", "gain rbm, d2 [glorot]",
                      "none, d1->2 [glorot]", "rbm, d1->2"]  # fmt: skip
    glorot, fan = effects.iloc[0], effects.iloc[1]
    assert (glorot["ours_pct"], fan["ours_pct"]) == pytest.approx((0.1, 1.1))
    assert fan["paper_pct"] == glorot["paper_pct"] == pytest.approx(1.0)
    assert (glorot["verdict"], fan["verdict"]) == ("lower", "consistent")
    fan_in = _ours([("none", 1, 5.0, 0.01), ("none", 2, 4.6, 0.01)])
    effects = effects_table(table, cells, fan_in)
    step = effects[(effects["kind"] == STEP) & (effects["baseline"] == "fan-in")]
    assert step["pretraining"].tolist() == ["none"]
    assert step["ours_pct"].item() == pytest.approx(0.4)
    assert effects_table(table, cells, fan_in.iloc[:0]).equals(effects_table(table, cells))
    figure = effects_figure(effects)
    assert figure is not None and "[fan-in]" in figure.caption
    assert "[fan-in]" not in effects_figure(effects_table(table, cells)).caption


def test_the_axis_holds_every_point_and_ours_intervals_only_a_little_past_them():
    """Points and published intervals from -1 to 3 (span 4): a narrow interval of ours fits whole;
    a failed seed's interval of +-100 widens the axis by a quarter of the span, not by 100."""

    def part(ours_hw):
        return pd.DataFrame(dict(ours_pct=[-1.0, 2.0], ours_hw_pct=[0.2, ours_hw],
                                 paper_pct=[1.0, 2.5], paper_hw_pct=[0.5, 0.5]))  # fmt: skip

    lo, hi = _limits(part(0.3))
    span = 3.0 - (-1.2)  # the narrow intervals of ours reach -1.2 and 2.3; published 3.0
    assert (lo, hi) == pytest.approx((-1.2 - 0.05 * span, 3.0 + 0.05 * span))
    lo, hi = _limits(part(100.0))
    reach = OURS_REACH * 4.0
    wide = 4.0 + 2 * reach
    assert (lo, hi) == pytest.approx((-1.0 - reach - 0.05 * wide, 3.0 + reach + 0.05 * wide))
    assert hi - lo < 10  # the +-100 interval is an arrow, not the axis
