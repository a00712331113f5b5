"""Paired tests of two classifiers on the same test images: the per-seed check of a comparison.

Two members evaluated on the same test images are compared image by image, as McNemar (1947)
proposed and as Dietterich (Neural Computation 1998, Section 3.5) recommends for classifiers:
only the *discordant* images matter, b (A right, B wrong) and c (A wrong, B right). Under the null
of equal error rates each discordant image favours A with probability 1/2, so the exact two-sided
p-value is that of b ~ Binomial(b + c, 1/2) (``scipy.stats.binomtest``; p = 1 when b + c = 0).
The effect is the paired difference in error, err_A - err_B = (c - b) / n: negative means A errs
less. The test conditions on the two trained nets: it says whether *these* nets differ on *these*
images, not whether the training recipes do (Dietterich 1998); that question is answered over
training seeds (``layerwise.analysis.verdicts``), and McNemar stays the per-seed check.

``mcnemar_pooled`` sums b and c over seeds (the exact stratified test); ``paired_bootstrap_ci`` is
the paired percentile bootstrap over test images (Efron & Tibshirani 1993, Ch. 13) of the mean over
seeds of err_A - err_B, drawn as multinomial counts per image value; ``holm`` is Holm's (1979)
step-down adjustment.

Imports only numpy, scipy and the standard library (no torch, no mlflow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest


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
