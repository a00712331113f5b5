"""Paired tests on the same test images, and a verdict per claim (docs/claims.md).

Two members evaluated on the same test images are compared image by image, as McNemar (1947)
proposed and as Dietterich (Neural Computation 1998, Section 3.5) recommends for classifiers:
only the *discordant* images matter, b (A right, B wrong) and c (A wrong, B right). Under the null
of equal error rates each discordant image favours A with probability 1/2, so the exact two-sided
p-value is that of b ~ Binomial(b + c, 1/2) (``scipy.stats.binomtest``; p = 1 when b + c = 0).
The effect is the paired difference in error, err_A - err_B = (c - b) / n: negative means A errs
less.

Seeds. Members of the same seed share the test images: each seed is one stratum. We pool by
summing b and c over seeds and testing the sums exactly. This *is* the exact stratified test: given
each b_s + c_s, the b_s are independent Binomial(b_s + c_s, 1/2) under the null, so their sum is
Binomial(sum_s (b_s + c_s), 1/2); the Mantel-Haenszel chi-square for matched pairs,
(sum b_s - sum c_s)^2 / sum (b_s + c_s), is its normal approximation. Caveat: the same images recur
in every seed, so the p-value speaks for these images and seeds; hence the verdict also needs the
seeds to agree in sign, and the bootstrap resamples the *same* images in every seed.

Interval. Paired percentile bootstrap over test images (Efron & Tibshirani 1993, Ch. 13) of the
mean over seeds of err_A - err_B. The statistic depends only on how many of the n draws hit images
of each per-image value (2 S + 1 values for S seeds); those counts are Multinomial(n, freq / n), so
we draw them directly: the same distribution as resampling indices, in O(n_boot x (2 S + 1)).

Holm (1979): step-down Bonferroni over the comparisons that make up one claim (family-wise error
rate alpha per claim).

Verdict rules (``judge_claim``). Each comparison predicts a direction for effect = err_A - err_B:

* ``"a_better"`` (A has lower error). *For* the claim: Holm-adjusted p < alpha, effect < 0 and
  every seed's effect < 0. *Against*: adjusted p < alpha, effect > 0 and every seed's effect > 0.
* ``"a_not_better"`` (A's error is not lower, e.g. claim 1: a deep random-init net is not better
  than a shallow one). Failing to find a difference is no evidence of "not lower", so the claim
  must be shown like a non-inferiority claim: *for* when the bootstrap interval's lower bound is
  >= -margin (the data rule out A being better by more than ``margin``; with margin 0 the
  interval lies at or above zero). *Against*: adjusted p < alpha, effect < -margin and every
  seed's effect < 0 (A is reliably better). Seeds need not agree for *for*: a true null makes
  their signs random.
* Anything else is *neither* (not significant, or seeds disagree in sign). With one seed, sign
  agreement holds trivially.

A claim with no comparisons is "not tested by this profile". Otherwise, with n comparisons, n_for
and n_against of them as above: "contradicted" when n_against > 0 and n_against >= n_for;
"supported" when n_against == 0 and n_for > support_fraction x n (default: a strict majority; with
``require_all``, every comparison);
"inconclusive" otherwise (too few significant comparisons, seeds that disagree, or a significant
counter-example outweighed by support). All comparisons of a claim share one direction (a claim
with two parts, e.g. claim 2's "beats" and "grows with depth", is judged as two claims), so the
mean effect over them is meaningful.

Claims measured on something other than test-image predictions (5: gradient-norm ratios; 6:
reconstruction errors) build their comparisons with ``one_sample`` (a t-test and t-interval over
independent units such as seeds) or ``wald`` (an effect with a standard error), and are judged by
the same rules.

Imports only numpy, scipy, pandas and the standard library (no torch, no mlflow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binomtest, norm, ttest_1samp
from scipy.stats import t as student_t

Direction = Literal["a_better", "a_not_better"]
Outcome = Literal["for", "against", "neither"]
DIRECTIONS = ("a_better", "a_not_better")
VERDICTS = ("supported", "contradicted", "inconclusive", "not tested by this profile")


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test: b = A right & B wrong, c = A wrong & B right, n test images."""

    b: int
    c: int
    n: int
    p_value: float
    effect: float  # err_A - err_B = (c - b) / n


@dataclass(frozen=True)
class PooledMcNemar:
    """Exact test on discordant counts summed over seeds, with the per-seed effects."""

    b: int
    c: int
    n: int  # test images summed over seeds
    p_value: float
    seed_effects: tuple[float, ...]
    mean_effect: float
    seeds_agree: bool  # every seed's effect has the same strict sign


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile interval of the mean over seeds of err_A - err_B."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int


@dataclass(frozen=True)
class Comparison:
    """One comparison of a claim; claims with other measures (5, 6) may build it directly."""

    label: str
    direction: Direction
    p_value: float
    effect: float  # err_A - err_B (or the claim's own measure, same sign convention)
    ci_low: float
    ci_high: float
    seed_effects: tuple[float, ...]


@dataclass(frozen=True)
class Judged:
    """A comparison with its Holm-adjusted p-value and what it says about the claim."""

    comparison: Comparison
    p_adjusted: float
    outcome: Outcome


@dataclass(frozen=True)
class ClaimVerdict:
    """One row of the claims table; effect and interval are means over the comparisons."""

    claim: str
    verdict: str
    n_comparisons: int
    n_for: int
    n_against: int
    effect: float
    ci_low: float
    ci_high: float
    weakest: str  # label of the comparison least favourable to the claim ("" if none)
    comparisons: tuple[Judged, ...]


def _as_correct(x, name: str) -> np.ndarray:
    """A 1-D boolean array from bools or 0/1 integers; errors name the argument."""
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.integer) or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must be boolean or 0/1 integers; got dtype {arr.dtype}")
        arr = arr.astype(bool)
    return arr


def _pair(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_correct(correct_a, "correct_a"), _as_correct(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b differ in length: {a.size} vs {b.size}")
    return a, b


def _exact_p(b: int, c: int) -> float:
    """Two-sided exact binomial p-value of b successes in b + c trials at 1/2; 1 if b + c = 0."""
    return 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)


def mcnemar_exact(correct_a, correct_b) -> McNemar:
    """McNemar's exact test (McNemar 1947; Dietterich 1998, Sec. 3.5) of A vs B, same images."""
    a, b_ = _pair(correct_a, correct_b)
    b = int(np.count_nonzero(a & ~b_))
    c = int(np.count_nonzero(~a & b_))
    return McNemar(b=b, c=c, n=a.size, p_value=_exact_p(b, c), effect=(c - b) / a.size)


def _agree(effects: Sequence[float]) -> bool:
    """True when every effect is < 0 or every effect is > 0 (a zero breaks agreement)."""
    arr = np.asarray(effects, dtype=float)
    return bool((arr < 0).all() or (arr > 0).all())


def mcnemar_pooled(pairs: Sequence[tuple]) -> PooledMcNemar:
    """Exact stratified McNemar over seeds: b and c summed, one binomial test (module docstring).

    pairs: one (correct_a, correct_b) per seed; within a seed both cover the same test images.
    """
    if len(pairs) == 0:
        raise ValueError("pairs must hold at least one (correct_a, correct_b) seed pair")
    tests = [mcnemar_exact(a, b) for a, b in pairs]
    b = sum(t.b for t in tests)
    c = sum(t.c for t in tests)
    effects = tuple(t.effect for t in tests)
    return PooledMcNemar(b=b, c=c, n=sum(t.n for t in tests), p_value=_exact_p(b, c),
                         seed_effects=effects, mean_effect=float(np.mean(effects)),
                         seeds_agree=_agree(effects))  # fmt: skip


def _as_seed_matrix(x, name: str) -> np.ndarray:
    """(n_seeds, n_images) boolean matrix from one 1-D array or a sequence/2-D array of them."""
    if isinstance(x, np.ndarray):
        rows = [x] if x.ndim == 1 else list(x)
    else:  # a flat sequence of bools/ints is one seed; otherwise one entry per seed
        rows = [x] if len(x) > 0 and np.ndim(x[0]) == 0 else list(x)
    if len(rows) == 0:
        raise ValueError(f"{name} must hold at least one seed")
    rows = [_as_correct(r, f"{name}[{i}]") for i, r in enumerate(rows)]
    if len({r.size for r in rows}) != 1:
        sizes = [r.size for r in rows]
        raise ValueError(f"{name}: every seed must cover the same test images; sizes {sizes}")
    return np.stack(rows)


def paired_bootstrap_ci(
    correct_a, correct_b, *, n_boot: int, seed: int, level: float = 0.95
) -> BootstrapCI:
    """Paired percentile bootstrap over test images of mean_s (err_A,s - err_B,s).

    correct_a, correct_b: shape (n,) for one seed or (n_seeds, n); the same image indices are
    resampled in every seed. Draws multinomial counts per image value (module docstring), which
    equals resampling indices in distribution. Deterministic given ``seed``.
    """
    if not (isinstance(n_boot, int | np.integer) and n_boot >= 1):
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    a = _as_seed_matrix(correct_a, "correct_a")
    b = _as_seed_matrix(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b differ in shape: {a.shape} vs {b.shape}")
    n_seeds, n = a.shape
    # per image: sum over seeds of err_A - err_B = b - a, in -S..S; shift to 0..2S for bincount
    diff_sum = b.astype(np.int16).sum(axis=0) - a.astype(np.int16).sum(axis=0)
    freq = np.bincount(diff_sum + n_seeds, minlength=2 * n_seeds + 1)
    values = (np.arange(2 * n_seeds + 1) - n_seeds) / n_seeds  # per-image mean over seeds
    counts = np.random.default_rng(seed).multinomial(n, freq / n, size=n_boot)
    boot = counts @ values / n
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapCI(estimate=float(freq @ values / n), low=float(low), high=float(high),
                       level=level, n_boot=n_boot)  # fmt: skip


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values: monotone in the raw order, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D; got shape {p.shape}")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_values must lie in [0, 1] without NaN; got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def compare(
    label: str,
    pairs: Sequence[tuple],
    *,
    direction: Direction,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Comparison:
    """A Comparison from per-seed (correct_a, correct_b): pooled exact test + bootstrap interval."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    pooled = mcnemar_pooled(pairs)
    ci = paired_bootstrap_ci([a for a, _ in pairs], [b for _, b in pairs],
                             n_boot=n_boot, seed=seed, level=level)  # fmt: skip
    return Comparison(label=label, direction=direction, p_value=pooled.p_value,
                      effect=pooled.mean_effect, ci_low=ci.low, ci_high=ci.high,
                      seed_effects=pooled.seed_effects)  # fmt: skip


def one_sample(
    label: str, values: Sequence[float], *, direction: Direction = "a_better", level: float = 0.95
) -> Comparison:
    """A Comparison from independent per-unit effects (e.g. one per seed): their mean, Student's t
    interval and two-sided one-sample t-test against 0 (Student 1908).

    One unit gives no spread: p = 1 and the interval is the point (the verdict can then only be
    "neither"). Units that all equal the same non-zero value give p = 0 and a point interval.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.isfinite(v).all():
        raise ValueError(
            f"{label}: values must be a non-empty 1-D array of finite numbers; got {v}"
        )
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if v.size == 1 or sd == 0.0:
        p = 1.0 if v.size == 1 or mean == 0.0 else 0.0
        low = high = mean
    else:
        p = float(ttest_1samp(v, 0.0).pvalue)
        half = float(student_t.ppf((1 + level) / 2, v.size - 1)) * sd / np.sqrt(v.size)
        low, high = mean - half, mean + half
    return Comparison(label, direction, p, mean, low, high, tuple(float(x) for x in v))


def wald(
    label: str,
    effect: float,
    se: float,
    seed_effects: Sequence[float],
    *,
    direction: Direction = "a_better",
    level: float = 0.95,
) -> Comparison:
    """A Comparison from an effect and its standard error: normal interval and two-sided Wald
    test. ``se`` NaN (not estimable): p = 1 and a NaN interval; ``se`` 0: p = 0 unless effect 0."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    if not np.isfinite(effect):
        raise ValueError(f"{label}: effect must be finite; got {effect}")
    if np.isnan(se):
        nan = float("nan")
        return Comparison(label, direction, 1.0, float(effect), nan, nan, tuple(seed_effects))
    if se < 0:
        raise ValueError(f"{label}: se must be >= 0; got {se}")
    z = float(norm.ppf((1 + level) / 2))
    if se == 0:
        p = 1.0 if effect == 0 else 0.0
    else:
        p = float(2 * norm.sf(abs(effect) / se))
    return Comparison(label, direction, p, float(effect), float(effect - z * se),
                      float(effect + z * se), tuple(float(x) for x in seed_effects))  # fmt: skip


def outcome(comp: Comparison, p_adjusted: float, *, alpha: float, margin: float) -> Outcome:
    """'for' / 'against' / 'neither' for one comparison (rules in the module docstring)."""
    significant = p_adjusted < alpha
    all_lower = bool(np.all(np.asarray(comp.seed_effects) < 0))
    all_higher = bool(np.all(np.asarray(comp.seed_effects) > 0))
    if comp.direction == "a_better":
        if significant and comp.effect < 0 and all_lower:
            return "for"
        if significant and comp.effect > 0 and all_higher:
            return "against"
        return "neither"
    if comp.direction != "a_not_better":
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {comp.direction!r}")
    if significant and comp.effect < -margin and all_lower:
        return "against"
    return "for" if comp.ci_low >= -margin else "neither"


def _weakest(judged: Sequence[Judged]) -> str:
    """Label of the comparison least favourable to its predicted direction."""

    def support(j: Judged) -> float:  # positive = in the predicted direction
        e = j.comparison.effect
        return -e if j.comparison.direction == "a_better" else e

    return min(judged, key=support).comparison.label


def judge_claim(
    claim: str,
    comparisons: Sequence[Comparison],
    *,
    alpha: float = 0.05,
    margin: float = 0.0,
    support_fraction: float = 0.5,
    require_all: bool = False,
) -> ClaimVerdict:
    """Holm within the claim, an outcome per comparison, then the verdict (module docstring).

    require_all: "supported" needs every comparison for the claim (claim 5: the ratio at every
    depth *and* the trend), instead of more than ``support_fraction`` of them.

    margin: how much lower A's error may be and still count as "not lower" (a_not_better only),
    in the effect's units. The reported interval is [mean of lower bounds, mean of upper bounds]:
    conservative for the mean effect whatever the dependence between comparisons (normal
    approximation: the sd of a sum is at most the sum of the sds).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    if not 0.0 <= support_fraction < 1.0:
        raise ValueError(f"support_fraction must be in [0, 1); got {support_fraction}")
    if len({c.direction for c in comparisons}) > 1:
        raise ValueError(f"claim {claim!r} mixes directions; split it into one claim per direction")
    if not comparisons:
        nan = float("nan")
        return ClaimVerdict(claim, VERDICTS[3], 0, 0, 0, nan, nan, nan, "", ())
    adjusted = holm([c.p_value for c in comparisons])
    judged = tuple(Judged(c, float(p), outcome(c, float(p), alpha=alpha, margin=margin))
                   for c, p in zip(comparisons, adjusted, strict=True))  # fmt: skip
    n = len(judged)
    n_for = sum(j.outcome == "for" for j in judged)
    n_against = sum(j.outcome == "against" for j in judged)
    if n_against > 0 and n_against >= n_for:
        verdict = "contradicted"
    elif n_against == 0 and (n_for == n if require_all else n_for > support_fraction * n):
        verdict = "supported"
    else:
        verdict = "inconclusive"
    return ClaimVerdict(claim=claim, verdict=verdict, n_comparisons=n, n_for=n_for,
                        n_against=n_against,
                        effect=float(np.mean([c.effect for c in comparisons])),
                        ci_low=float(np.mean([c.ci_low for c in comparisons])),
                        ci_high=float(np.mean([c.ci_high for c in comparisons])),
                        weakest=_weakest(judged), comparisons=judged)  # fmt: skip


def claims_frame(verdicts: Sequence[ClaimVerdict]) -> pd.DataFrame:
    """One row per claim (results/claims.csv): verdict, counts, effect and interval."""
    cols = ["claim", "verdict", "n_comparisons", "n_for", "n_against", "effect", "ci_low",
            "ci_high", "weakest"]  # fmt: skip
    return pd.DataFrame([{k: getattr(v, k) for k in cols} for v in verdicts], columns=cols)
