"""A claim's verdict from its written protocol (docs/claims.md): tests over seeds, one symmetric
rule, the power of the primary comparisons, and the conditions where the claim fails.

Unit of replication: a trained net. Each comparison A vs B holds one effect per independent unit
(per training seed: err_A,s - err_B,s of the two selected nets of that seed, paired because the
seed fixes the data order and the output layer's initialisation whatever the pretraining), and is
tested with Student's t over those units (Student 1908): mean, standard error sd / sqrt(n), n - 1
degrees of freedom. Measures with a standard error of their own (the deep autoencoder's, over
test images) enter with that error and a normal reference (``df`` infinite).

The null value ``theta0`` is 0 for a claim that A is better (errs less) than B, and ``-margin``
for a claim that A is *not* better than B by more than the margin (a non-inferiority claim: claims
1 and 3). One two-sided test of effect = theta0 serves both sides, so the rule is symmetric:

* **for**: Holm-adjusted p < alpha and the effect on the claim's side of theta0 (below it for
  "A better", above it for "A not better");
* **against**: Holm-adjusted p < alpha and the effect on the other side;
* **neither** otherwise. A "neither" primary comparison is **underpowered** when the test, at the
  most stringent Holm level alpha / m, would detect the effect the lecture implies (``delta``,
  the distance from theta0 in the claim's direction; m the claim's primary comparisons) with
  probability below ``power_target``, given the comparison's own standard error; power from the
  noncentral t (normal when df is infinite). With one unit there is no standard error: power 0.

Holm (1979) runs over the primary comparisons of one claim (its data sets, and methods where the
protocol names several), and separately over its secondary comparisons.

Verdict (primary comparisons only; n of them, F for, A against, N neither):

* none: "not tested by this profile";
* F = n: "supported"; A = n: "contradicted";
* F > n / 2: "supported except" the conditions of the other primaries;
* A > n / 2: "contradicted" (the primaries for the claim named as exceptions);
* N > n / 2 and most of those underpowered: "underpowered";
* otherwise "mixed" (for in some conditions, against or no effect in others: all named).

Secondary comparisons never change the verdict: the significant ones against the claim are
named in ``exceptions`` as further conditions where it fails.

Imports only numpy, scipy and the standard library (no torch, no mlflow, no report code).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.stats import nct, norm
from scipy.stats import t as student_t

from layerwise.analysis.paired import holm

Direction = Literal["a_better", "a_not_better"]
Outcome = Literal["for", "against", "neither"]
DIRECTIONS = ("a_better", "a_not_better")
SUPPORTED, EXCEPT, CONTRADICTED, MIXED, UNDERPOWERED, NOT_TESTED = (
    "supported",
    "supported except",
    "contradicted",
    "mixed",
    "underpowered",
    "not tested by this profile",
)
VERDICTS = (SUPPORTED, EXCEPT, CONTRADICTED, MIXED, UNDERPOWERED, NOT_TESTED)
PRIMARY, SECONDARY = "primary", "secondary"


@dataclass(frozen=True)
class Test:
    """One comparison of a claim, tested over independent units (seeds)."""

    label: str  # e.g. "convex: rbm d3 vs none d3"
    condition: str  # what an exception names, e.g. "convex" or "rbm on convex"
    role: str  # PRIMARY or SECONDARY
    direction: Direction
    theta0: float  # the null value (0, or -margin for "A not better")
    effect: float  # mean over units, in the claim's unit (negative: A lower)
    se: float  # standard error of the effect; NaN when not estimable (one unit)
    df: float  # degrees of freedom of its reference t (math.inf: normal)
    unit_effects: tuple[float, ...] = ()
    keys: dict = field(default_factory=dict)  # dataset, depth, dropout, a, b (heat maps)
    check: str = ""  # the per-seed McNemar check, as text ("" when not applicable)

    @property
    def n_units(self) -> int:
        return len(self.unit_effects)

    @property
    def p_value(self) -> float:
        """Two-sided p of effect = theta0 (1 when not estimable)."""
        if not np.isfinite(self.se):
            return 1.0
        if self.se == 0:
            return 1.0 if self.effect == self.theta0 else 0.0
        z = abs(self.effect - self.theta0) / self.se
        return float(2 * (norm.sf(z) if math.isinf(self.df) else student_t.sf(z, self.df)))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        if not np.isfinite(self.se):
            return float("nan"), float("nan")
        q = _quantile((1 + level) / 2, self.df)
        return self.effect - q * self.se, self.effect + q * self.se

    def power(self, delta: float, alpha: float) -> float:
        """P(the two-sided test at ``alpha`` rejects) when the effect is ``delta`` from theta0."""
        if not np.isfinite(self.se) or self.n_units < 2 and not math.isinf(self.df):
            return 0.0
        if self.se == 0:
            return 1.0
        shift = abs(delta) / self.se
        q = _quantile(1 - alpha / 2, self.df)
        if math.isinf(self.df):
            return float(norm.sf(q - shift) + norm.cdf(-q - shift))
        upper, lower = nct.sf(q, self.df, shift), nct.cdf(-q, self.df, shift)
        # far from 0, scipy's lower tail of the noncentral t can come back NaN; it is ~0 there
        return float(upper + (lower if np.isfinite(lower) else 0.0))


def _quantile(p: float, df: float) -> float:
    return float(norm.ppf(p) if math.isinf(df) else student_t.ppf(p, df))


def seed_test(
    label: str,
    condition: str,
    role: str,
    unit_effects: Sequence[float],
    *,
    direction: Direction,
    theta0: float = 0.0,
    keys: dict | None = None,
    check: str = "",
    min_se: float = 0.0,
) -> Test:
    """A Test from one effect per independent unit: mean, sd / sqrt(n), n - 1 df. ``min_se``
    floors the standard error at what measuring each unit's effect costs by itself (for test
    errors, the test set's sampling error): a few seeds can agree by chance to the last digit, and
    a sample sd of 0 is not proof."""
    _check_direction(direction)
    v = np.asarray(unit_effects, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.isfinite(v).all():
        raise ValueError(f"{label}: unit effects must be a non-empty 1-D array of finite numbers; "
                         f"got {v}")  # fmt: skip
    if not min_se >= 0:
        raise ValueError(f"{label}: min_se must be >= 0; got {min_se}")
    se = max(float(v.std(ddof=1) / np.sqrt(v.size)), min_se) if v.size > 1 else float("nan")
    return Test(label, condition, role, direction, float(theta0), float(v.mean()), se,
                float(v.size - 1), tuple(float(x) for x in v), dict(keys or {}), check)  # fmt: skip


def normal_test(
    label: str,
    condition: str,
    role: str,
    effect: float,
    se: float,
    unit_effects: Sequence[float],
    *,
    direction: Direction = "a_better",
    theta0: float = 0.0,
) -> Test:
    """A Test from an effect with a standard error of its own (normal reference)."""
    _check_direction(direction)
    if not np.isfinite(effect):
        raise ValueError(f"{label}: effect must be finite; got {effect}")
    if se < 0:
        raise ValueError(f"{label}: se must be >= 0 or NaN; got {se}")
    return Test(label, condition, role, direction, float(theta0), float(effect), float(se),
                math.inf, tuple(float(x) for x in unit_effects))  # fmt: skip


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")


@dataclass(frozen=True)
class Judged:
    """A Test with its Holm-adjusted p, its outcome and (primaries) its power."""

    test: Test
    p_adjusted: float
    outcome: Outcome
    power: float  # NaN for secondaries
    underpowered: bool


@dataclass(frozen=True)
class Verdict:
    """One row of results/claims.csv (before the claim's description columns)."""

    verdict: str
    exceptions: str  # conditions where the claim fails ("" if none)
    n_primary: int
    n_for: int
    n_against: int
    n_underpowered: int
    effect: float  # mean over the primary comparisons, in the claim's unit
    ci_low: float
    ci_high: float
    power: float  # median power of the primary comparisons at delta
    min_units: int  # fewest units (seeds) behind a primary comparison
    judged: tuple[Judged, ...]


def outcome(test: Test, p_adjusted: float, alpha: float) -> Outcome:
    """'for' / 'against' / 'neither' (symmetric: the same test, the side of theta0 decides)."""
    if not p_adjusted < alpha or test.effect == test.theta0:
        return "neither"
    below = test.effect < test.theta0
    claim_side = below if test.direction == "a_better" else not below
    return "for" if claim_side else "against"


def _judge(tests: Sequence[Test], alpha: float, delta: float | None, target: float):
    if not tests:
        return []
    adjusted = holm([t.p_value for t in tests])
    m = len(tests)
    out = []
    for t, p in zip(tests, adjusted, strict=True):
        o = outcome(t, float(p), alpha)
        pw = t.power(delta, alpha / m) if delta is not None else float("nan")
        out.append(Judged(t, float(p), o, pw, delta is not None and o == "neither" and pw < target))
    return out


def _names(judged: Sequence[Judged], label: str = "") -> str:
    seen = list(dict.fromkeys(j.test.condition for j in judged))
    return (f"{label}: " if label and seen else "") + ", ".join(seen)


def judge(
    tests: Sequence[Test],
    *,
    delta: float,
    alpha: float = 0.05,
    power_target: float = 0.8,
) -> Verdict:
    """The claim's verdict from its primary tests; secondaries only name exceptions."""
    if not 0 < alpha < 1 or not 0 < power_target < 1:
        raise ValueError(f"alpha and power_target must lie in (0, 1); got {alpha}, {power_target}")
    if len({t.direction for t in tests}) > 1:
        raise ValueError("a claim's comparisons share one direction; split it into two claims")
    primary = _judge([t for t in tests if t.role == PRIMARY], alpha, delta, power_target)
    secondary = _judge([t for t in tests if t.role == SECONDARY], alpha, None, power_target)
    n = len(primary)
    nan = float("nan")
    against_2nd = [j for j in secondary if j.outcome == "against"]
    if n == 0:
        return Verdict(NOT_TESTED, "", 0, 0, 0, 0, nan, nan, nan, nan, 0, tuple(secondary))
    f = [j for j in primary if j.outcome == "for"]
    a = [j for j in primary if j.outcome == "against"]
    neither = [j for j in primary if j.outcome == "neither"]
    weak = [j for j in neither if j.underpowered]
    others = [j for j in primary if j.outcome != "for"]
    if len(f) == n:
        verdict, named = SUPPORTED, ""
    elif len(a) == n:
        verdict, named = CONTRADICTED, ""
    elif len(f) > n / 2:
        verdict = EXCEPT
        named = "; ".join(x for x in (_names([j for j in others if j.outcome == "against"],
                                              "opposite effect"),
                                       _names([j for j in others if j.outcome == "neither"],
                                              "no detectable effect")) if x)  # fmt: skip
    elif len(a) > n / 2:
        verdict, named = CONTRADICTED, _names(f, "holds only for")
    elif len(neither) > n / 2 and len(weak) > len(neither) / 2:
        verdict, named = UNDERPOWERED, _names(f, "holds for") if f else ""
    else:
        verdict = MIXED
        named = "; ".join(x for x in (_names(f, "holds for"), _names(a, "opposite effect"),
                                      _names(neither, "no detectable effect")) if x)  # fmt: skip
    if against_2nd:
        named = "; ".join(x for x in (named, _names(against_2nd, "also against it")) if x)
    lows, highs = zip(*(j.test.interval() for j in primary), strict=True)
    return Verdict(
        verdict=verdict,
        exceptions=named,
        n_primary=n,
        n_for=len(f),
        n_against=len(a),
        n_underpowered=len(weak),
        effect=float(np.mean([j.test.effect for j in primary])),
        ci_low=float(np.mean(lows)),
        ci_high=float(np.mean(highs)),
        power=float(np.median([j.power for j in primary])),
        min_units=min(j.test.n_units for j in primary),
        judged=tuple(primary) + tuple(secondary),
    )
