"""The lectures' claims, judged with paired tests on the same test images.

Inputs: the selected members of ``results.csv`` and the fine-tuning jobs' ``predictions.npz``
(member_id -> (n_test,) uint8 class, plus ``y_test``); the paths come from the report rule's inputs,
nothing is globbed. Members are paired by seed (same test images, same data order); a member that
diverged or has no stored predictions drops out of its pairs. Statistics and verdict rules:
``layerwise.report.paired`` and docs/claims.md. Effects are err_A - err_B (negative: A errs less).

1. Without pretraining, depth 3-4 is not better than depth 1-2 (Bengio et al. 2007; Larochelle et
   al. 2009, sec. 6): A = none at depth 3 or 4, B = none at depth 1 or 2, every such pair of
   depths, per data set and dropout setting; ``a_not_better``.
2. Pretraining beats random initialisation at equal depth: A = ae/dae/rbm, B = none, same data
   set, depth and dropout setting; ``a_better``. Its second half ("the benefit grows with depth")
   is an interaction of two differences, not a comparison of two members on the same images, so
   McNemar does not apply; it is left out here (see ``LEFT_OUT``).
3. RBM and DAE pretraining are at least as good as AE (Larochelle et al. 2009; Vincent et al.
   2008): A = ae, B = rbm or dae, same cell otherwise; ``a_not_better``.
4. Pretraining regularises (Erhan et al. 2010): the train/test gap (test error - training error,
   selected member) of A = ae/dae/rbm is smaller than that of B = none. Effect per seed:
   gap_A - gap_B. Training errors are taken as fixed (the claim is about generalising to the test
   images), so the interval is the paired bootstrap interval of the test-error difference shifted
   by the mean training-error difference, and the p-value a Wald test with the bootstrap standard
   error; ``a_better``.
7. Dropout lowers test error where the net overfits (Srivastava et al. 2014): A = dropout on,
   B = off, same data set, depth and pretraining, only cells whose dropout-off members have a mean
   train/test gap >= ``overfit_gap``; ``a_better``.

5. Vanishing gradients without pretraining: log10 ratio of the gradient norm at the first layer
   to that at the output layer, per depth and its slope over depth (``claims_measures``).
6. The RBM-pretrained deep autoencoder reconstructs better than PCA at the same code size, and
   (6b, the claim's second half, judged as its own claim as docs/claims.md asks of two-part
   claims) the same net from random weights does worse than pretrained (``claims_measures``).

Effects are in the claim's ``unit``: percentage points of error (claims 1-4, 7), log10 per added
layer (5), squared error per test image (6, 6b). Never imports torch or mlflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from layerwise import layout
from layerwise.report.claims_measures import (
    GRAD_EPOCHS,
    autoencoder_comparisons,
    grad_columns,
    gradient_comparisons,
    gradient_ratios,
)
from layerwise.report.paired import (
    VERDICTS,
    ClaimVerdict,
    Comparison,
    claims_frame,
    compare,
    judge_claim,
    paired_bootstrap_ci,
)

NOT_TESTED = VERDICTS[3]
PRETRAINED = ("ae", "dae", "rbm")
#: A cell "overfits" (claim 7) when its dropout-off members' mean test - train error is at least
#: this (absolute error rate).
OVERFIT_GAP = 0.02
CELL = ("dataset", "depth", "pretraining", "dropout")
CLAIMS_COLUMNS = ("id", "statement", "measure", "figure", "note", "unit")
#: Units of a claim's effect: "pp" (an error-rate difference, printed x 100) or the measure's own.
PP = "pp"


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    measure: str
    figure: str  # figure name (anchor fig-{figure}) that shows it
    unit: str = PP


CLAIMS = (
    Claim("1", "Without pretraining, depth 3-4 is not better than depth 1-2",
          "test error, none at depth 3-4 minus none at depth 1-2", "error_vs_depth"),
    Claim("2", "Pretraining (ae, dae, rbm) beats random initialisation at equal depth",
          "test error, pretrained minus none", "error_vs_depth"),
    Claim("3", "RBM and DAE pretraining are at least as good as AE pretraining",
          "test error, ae minus rbm/dae", "error_vs_depth"),
    Claim("4", "Pretraining acts as a regulariser: smaller train/test gap than random init",
          "(test - train error) of pretrained minus that of none", "bias_variance"),
    Claim("5", "Without pretraining, the gradient reaching the first layer vanishes with depth",
          f"log10(gradient norm at layer 1 / at the output layer), first {GRAD_EPOCHS} epochs: "
          "below 0 at every depth >= 2; effect = its slope per added layer",
          "gradient_norms", "log10/layer"),
    Claim("6", "A deep autoencoder pretrained with RBMs reconstructs better than PCA",
          "test squared error per image, pretrained deep autoencoder minus PCA (same code size)",
          "autoencoder_curves", "sq. error/image"),
    Claim("6b", "The same deep autoencoder without pretraining trains poorly",
          "test squared error per image, pretrained minus random-init deep autoencoder",
          "autoencoder_curves", "sq. error/image"),
    Claim("7", "Dropout lowers test error where the net overfits",
          f"test error, dropout on minus off (cells with gap >= {OVERFIT_GAP:g})",
          "bias_variance"),
)  # fmt: skip

#: Claims judged on predictions.npz (the others have their own measures, claims_measures).
ON_PREDICTIONS = ("1", "2", "3", "4", "7")
#: Said once under the table: the part of a claim that is not judged at all.
LEFT_OUT = (
    "Claim 2's second half (the benefit grows with depth) is an interaction of two differences, "
    "not a paired comparison of two members on the same images; it is not judged."
)


def load_predictions(paths: Sequence[Path]) -> dict[tuple[str, str], np.ndarray]:
    """(job_id, member_id) -> (n_test,) bool, correct or not, from predictions.npz files.

    The job id is the file's folder below ``results/`` (``finetune/{dataset}/d{depth}/{group}``):
    the part of the path from its last ``finetune`` folder on.
    """
    out = {}
    for path in paths:
        parts = Path(path).parent.parts
        at = max((i for i, p in enumerate(parts) if p == "finetune"), default=None)
        if at is None:
            raise ValueError(f"{path}: not inside a finetune job folder ({layout.FINETUNE})")
        job = "/".join(parts[at:])
        with np.load(path) as npz:
            y = npz[layout.PREDICTIONS_LABELS]
            for mid in npz.files:
                if mid != layout.PREDICTIONS_LABELS:
                    out[(job, mid)] = npz[mid] == y
    return out


class Members:
    """Selected, non-diverged members with stored predictions, by cell and seed."""

    def __init__(self, results: pd.DataFrame, correct: dict[tuple[str, str], np.ndarray]):
        sel = results[results["selected"].astype(bool) & ~results["diverged"].astype(bool)]
        sel = sel[np.isfinite(sel["test_error"].astype(float))]
        keys = zip(sel["job_id"], sel["member_id"], strict=True)
        sel = sel[np.array([k in correct for k in keys], dtype=bool)].copy()  # empty-safe mask
        sel["depth"] = sel["depth"].astype(int)
        sel["dropout"] = sel["dropout"].astype(bool)
        self.table, self.correct = sel, correct
        records = sel.to_dict("records")
        self.by = {(*(r[k] for k in CELL), int(r["seed"])): r for r in records}

    def values(self, col: str) -> list:
        return sorted(set(self.table[col]))

    def pairs(self, cell_a: tuple, cell_b: tuple) -> list[tuple[dict, dict]]:
        """Rows of A and B for every seed both have; a cell is (dataset, depth, method, dropout)."""
        seeds = sorted({int(s) for s in self.table["seed"]})
        return [(self.by[(*cell_a, s)], self.by[(*cell_b, s)]) for s in seeds
                if (*cell_a, s) in self.by and (*cell_b, s) in self.by]  # fmt: skip

    def vec(self, row: dict) -> np.ndarray:
        return self.correct[(row["job_id"], row["member_id"])]


def _label(cell_a: tuple, cell_b: tuple) -> str:
    def name(c):
        return f"{c[2]} d{c[1]}{' +dropout' if c[3] else ''}"

    return f"{cell_a[0]}: {name(cell_a)} vs {name(cell_b)}"


def _error_comparisons(m: Members, cells, direction: str, n_boot: int, seed: int) -> list:
    out = []
    for a, b in cells:
        rows = m.pairs(a, b)
        if rows:
            pairs = [(m.vec(ra), m.vec(rb)) for ra, rb in rows]
            out.append(compare(_label(a, b), pairs, direction=direction, n_boot=n_boot,
                               seed=seed))  # fmt: skip
    return out


def _gap_comparison(m: Members, a: tuple, b: tuple, n_boot: int, seed: int) -> Comparison | None:
    """Claim 4: gap_A - gap_B per seed; test difference paired, training errors fixed."""
    rows = m.pairs(a, b)
    if not rows:
        return None
    ca, cb = [m.vec(r) for r, _ in rows], [m.vec(r) for _, r in rows]
    test_diff = np.array([(~x).mean() - (~y).mean() for x, y in zip(ca, cb, strict=True)])
    train_diff = np.array([ra["train_error"] - rb["train_error"] for ra, rb in rows], float)
    if not np.isfinite(train_diff).all():
        return None
    ci = paired_bootstrap_ci(ca, cb, n_boot=n_boot, seed=seed)
    shift = float(train_diff.mean())
    effect = float(test_diff.mean()) - shift
    se = (ci.high - ci.low) / (2 * norm.ppf(0.975))
    p = 1.0 if se <= 0 else float(2 * norm.sf(abs(effect) / se))
    return Comparison(_label(a, b), "a_better", p, effect, ci.low - shift, ci.high - shift,
                      tuple(float(v) for v in test_diff - train_diff))  # fmt: skip


def _comparisons(m: Members, overfit_gap: float, n_boot: int, seed: int) -> dict[str, list]:
    """Claim id -> its comparisons (empty: the profile does not test it)."""
    ds, depths, drops = m.values("dataset"), m.values("depth"), m.values("dropout")
    deep, shallow = [d for d in depths if d >= 3], [d for d in depths if d <= 2]
    c1 = [((d, hi, "none", do), (d, lo, "none", do))
          for d, do, hi, lo in product(ds, drops, deep, shallow)]  # fmt: skip
    cells = list(product(ds, depths, drops))
    c2 = [((d, k, p, do), (d, k, "none", do)) for (d, k, do), p in product(cells, PRETRAINED)]
    c3 = [((d, k, "ae", do), (d, k, p, do)) for (d, k, do), p in product(cells, ("rbm", "dae"))]
    gaps = [_gap_comparison(m, a, b, n_boot, seed) for a, b in c2]
    c7 = []
    for d, k, p in product(ds, depths, m.values("pretraining")):
        off = [ra for ra, _ in m.pairs((d, k, p, False), (d, k, p, True))]
        gap = np.mean([r["test_error"] - r["train_error"] for r in off]) if off else np.nan
        if gap >= overfit_gap:
            c7.append(((d, k, p, True), (d, k, p, False)))
    return {
        "1": _error_comparisons(m, c1, "a_not_better", n_boot, seed),
        "2": _error_comparisons(m, c2, "a_better", n_boot, seed),
        "3": _error_comparisons(m, c3, "a_not_better", n_boot, seed),
        "4": [g for g in gaps if g is not None],
        "7": _error_comparisons(m, c7, "a_better", n_boot, seed),
    }


def judge_claims(
    results: pd.DataFrame,
    prediction_files: Sequence[Path],
    *,
    history: pd.DataFrame | None = None,
    autoencoder_files: Sequence[Path] | None = None,
    grad_epochs: int = GRAD_EPOCHS,
    overfit_gap: float = OVERFIT_GAP,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, list[ClaimVerdict]]:
    """The claims table (rows of results/claims.csv, ``CLAIMS`` order) and the verdicts.

    ``history``: the selected members' history with cell keys (``figures.selected_history``), for
    claim 5 (None: not tested). ``autoencoder_files``: the deep_autoencoder study's summary.csv
    files (the report rule's inputs), for claims 6 and 6b (None or empty: the study is off).
    Columns: id, statement, measure, figure, note, unit, then ``paired.claims_frame``'s. ``note``
    says why a claim is not tested.
    """
    members = Members(results, load_predictions(prediction_files))
    n_diverged = int(results["diverged"].astype(bool).sum()) if "diverged" in results else 0
    comps = _comparisons(members, overfit_gap, n_boot, seed) if len(members.table) else {}
    ratios = gradient_ratios(history, n_epochs=grad_epochs)
    grads, trend = gradient_comparisons(ratios)
    autoencoder = autoencoder_comparisons(autoencoder_files)
    comps |= {"5": grads} | (autoencoder or {})
    verdicts, notes = [], []
    for claim in CLAIMS:
        verdict = judge_claim(claim.statement, comps.get(claim.id, []), require_all=claim.id == "5")
        if claim.id == "5" and trend is not None:  # the headline effect is the trend's
            verdict = replace(verdict, effect=trend.effect, ci_low=trend.ci_low,
                              ci_high=trend.ci_high)  # fmt: skip
        verdicts.append(verdict)
        untested = verdict.verdict == NOT_TESTED
        notes.append(_note(claim.id, has_predictions=bool(prediction_files), history=history,
                           ratios=ratios, autoencoder_ran=autoencoder is not None,
                           overfit_gap=overfit_gap, n_diverged=n_diverged,
                           n_usable=len(members.table)) if untested else "")  # fmt: skip
    frame = claims_frame(verdicts).drop(columns="claim")
    info = pd.DataFrame([(c.id, c.statement, c.measure, c.figure, n, c.unit)
                         for c, n in zip(CLAIMS, notes, strict=True)],
                        columns=list(CLAIMS_COLUMNS))  # fmt: skip
    return pd.concat([info, frame], axis=1), verdicts


def _note(
    claim_id: str,
    *,
    has_predictions: bool,
    history: pd.DataFrame | None,
    ratios: pd.DataFrame,
    autoencoder_ran: bool,
    overfit_gap: float,
    n_diverged: int = 0,
    n_usable: int = 1,
) -> str:
    """Why a claim is not tested by this profile (shown under its verdict)."""
    if claim_id in ON_PREDICTIONS and not has_predictions:
        return "no predictions.npz among the report's inputs"
    if claim_id in ON_PREDICTIONS and n_usable == 0 and n_diverged:
        return (
            f"not judged: every member diverged or failed ({n_diverged} members), so no cell has "
            "a finished net; lower finetune.lr or check the data (results/results.csv, "
            "fail_reason)"
        )
    if claim_id == "5":
        if history is None or not grad_columns(history):
            return "no gradient norms recorded (finetune.record_grad_norms: false)"
        depths = sorted({int(d) for d in ratios["depth"]})
        return (
            "fewer than 2 depths with random-init members (dropout off) that have gradient "
            f"norms; this profile has {depths or 'none'}"
        )
    if claim_id in ("6", "6b"):
        if not autoencoder_ran:
            return "the deep_autoencoder study is not enabled in this profile"
        return "no finished deep-autoencoder member with a comparable partner"
    return _why_not(claim_id, overfit_gap)


def _why_not(claim_id: str, overfit_gap: float) -> str:
    return {
        "1": "no depth >= 3 next to a depth <= 2 without pretraining",
        "2": "no pretrained cell next to a random-init cell",
        "3": "no ae cell next to an rbm or dae cell",
        "4": "no pretrained cell next to a random-init cell",
        "7": f"no cell whose dropout-off members overfit (gap >= {overfit_gap:g}) "
        "next to a dropout-on cell",
    }.get(claim_id, "no comparison in this profile")
