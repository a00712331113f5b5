"""The lectures' claims judged by their written protocol (``protocol``, docs/claims.md).

Inputs: the selected members of ``results.csv`` (one per cell and seed), the selected members'
per-epoch history (claims 4 and 5), the deep_autoencoder study's summary.csv files (claims 6 and
6b) and, where present, the fine-tuning jobs' ``predictions.npz`` (the per-seed McNemar check).
Every comparison is A vs B with one effect per training seed both arms finished (A - B, in the
claim's unit: negative means A lower); ``verdicts`` tests it over the seeds and judges the claim.
Outputs: ``results/claims.csv`` (one row per claim) and ``results/claim_comparisons.csv`` (one
row per comparison: the heat maps' input). Never imports torch, mlflow or report code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from layerwise import files, layout
from layerwise.analysis.claims_measures import (
    GRAD_EPOCHS,
    autoencoder_tests,
    grad_columns,
    gradient_ratios,
    gradient_tests,
    matched_training_error,
)
from layerwise.analysis.paired import mcnemar_exact
from layerwise.analysis.protocol import CLAIMS, Claim
from layerwise.analysis.verdicts import NOT_TESTED, PRIMARY, SECONDARY, Test, judge, seed_test

PRETRAINED = ("ae", "dae", "rbm")
#: Defaults of the ``claims`` config slice (the schema holds the same).
PRIMARY_DEPTH, OVERFIT_GAP, ALPHA, POWER_TARGET = 3, 0.02, 0.05, 0.8
CELL = ("dataset", "depth", "pretraining", "dropout")
CLAIMS_COLUMNS = (
    "id", "statement", "measure", "figure", "unit", "verdict", "exceptions", "note", "n_primary",
    "n_for", "n_against", "n_underpowered", "effect", "ci_low", "ci_high", "delta", "power",
    "min_seeds", "n_secondary", "baseline",
)  # fmt: skip
COMPARISON_COLUMNS = (
    "claim", "role", "label", "condition", "dataset", "depth", "dropout", "a", "b", "n_seeds",
    "effect", "ci_low", "ci_high", "p_value", "p_adjusted", "outcome", "power", "underpowered",
    "mcnemar",
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The ``claims`` config slice."""

    primary_depth: int = PRIMARY_DEPTH
    overfit_gap: float = OVERFIT_GAP
    alpha: float = ALPHA
    power_target: float = POWER_TARGET

    @classmethod
    def from_config(cls, cfg: dict | None) -> Settings:
        c = cfg or {}
        return cls(int(c.get("primary_depth", PRIMARY_DEPTH)),
                   float(c.get("overfit_gap", OVERFIT_GAP)), float(c.get("alpha", ALPHA)),
                   float(c.get("power_target", POWER_TARGET)))  # fmt: skip


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


def _member(row: dict) -> tuple[str, str]:
    """A net's key in the predictions (:func:`load_predictions`): (job_id, member_id)."""
    return row["job_id"], row["member_id"]


def claim_nets(results: pd.DataFrame) -> pd.DataFrame:
    """The net of every (cell, seed) a claim compares: the selected one; where no candidate of a
    (cell, seed) was selected because every one stayed at chance (``fail_reason`` "chance"), the
    one validation ranks first among them, with its measured test error: a net that backprop
    leaves at chance is what claims 1 and 2 are about, not a missing value. Diverged members and
    members without a finite test error drop out."""
    ok = ~results["diverged"].astype(bool) & np.isfinite(results["test_error"].astype(float))
    chosen = results[ok & results["selected"].astype(bool)]
    if "fail_reason" in results:
        keys = [*CELL, "seed"]
        done = set(map(tuple, chosen[keys].itertuples(index=False)))
        chance = results[ok & results["fail_reason"].fillna("").astype(str).eq("chance")]
        fresh = [tuple(k) not in done for k in chance[keys].itertuples(index=False)]
        chance = chance.loc[np.array(fresh, dtype=bool)]
        first = chance.sort_values("valid_error", kind="stable").groupby(keys, sort=False).head(1)
        chosen = pd.concat([chosen, first])
    return chosen.copy()


class SelectedNets:
    """The net of every (cell, seed) the claims compare (:func:`claim_nets`), with its
    predictions when stored."""

    def __init__(self, results: pd.DataFrame, correct: dict | None = None):
        sel = claim_nets(results)
        sel["depth"] = sel["depth"].astype(int)
        sel["dropout"] = sel["dropout"].astype(bool)
        self.table, self.correct = sel, correct or {}
        self.by = {(*(r[k] for k in CELL), int(r["seed"])): r for r in sel.to_dict("records")}

    def values(self, col: str) -> list:
        return sorted(set(self.table[col]))

    def pairs(self, cell_a: tuple, cell_b: tuple) -> list[tuple[dict, dict]]:
        """Rows of A and B for every seed both have; a cell is (dataset, depth, method, dropout)."""
        seeds = sorted({int(s) for s in self.table["seed"]})
        return [(self.by[(*cell_a, s)], self.by[(*cell_b, s)]) for s in seeds
                if (*cell_a, s) in self.by and (*cell_b, s) in self.by]  # fmt: skip

    def sampling_se(self, rows: list[tuple[dict, dict]]) -> float:
        """Standard error (pp) of the mean over seeds of err_A - err_B that the test images alone
        bring: per seed, the paired variance of a difference of two error rates on the same n
        images, ((b + c) - (b - c)^2 / n) / n^2 with b, c the images only A, only B gets wrong
        (with the predictions), else the unpaired binomial one, p_A q_A / n_A + p_B q_B / n_B;
        averaged over seeds, divided by the seeds. 0 where the test size is not recorded."""
        variances = []
        for ra, rb in rows:
            ka, kb = _member(ra), _member(rb)
            if ka in self.correct and kb in self.correct:
                ca, cb = self.correct[ka], self.correct[kb]
                n, b, c = ca.size, int((~ca & cb).sum()), int((ca & ~cb).sum())
                variances.append(((b + c) - (b - c) ** 2 / n) / n**2)
                continue
            pa, pb = float(ra["test_error"]), float(rb["test_error"])
            na, nb = float(ra.get("n_test", np.nan)), float(rb.get("n_test", np.nan))
            if not (na > 0 and nb > 0):
                return 0.0
            variances.append(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        if not variances:
            return 0.0
        return 100 * math.sqrt(sum(variances) / len(variances) / len(variances))

    def mcnemar(self, rows: list[tuple[dict, dict]], alpha: float) -> str:
        """The per-seed check: in how many seeds McNemar finds A and B apart on the test images."""
        keys = [(_member(a), _member(b)) for a, b in rows]
        if not keys or not all(ka in self.correct and kb in self.correct for ka, kb in keys):
            return ""
        tests = [mcnemar_exact(self.correct[ka], self.correct[kb]) for ka, kb in keys]
        lower = sum(t.p_value < alpha and t.effect < 0 for t in tests)
        higher = sum(t.p_value < alpha and t.effect > 0 for t in tests)
        return f"A lower in {lower}, higher in {higher} of {len(tests)} seeds"


def _name(cell: tuple) -> str:
    return f"{cell[2]} d{cell[1]}{' +dropout' if cell[3] else ''}"


def _error_test(nets: SelectedNets, claim: Claim, a: tuple, b: tuple, primary: bool,
                condition: str, alpha: float, values=None) -> Test | None:  # fmt: skip
    """One comparison over seeds: per seed (err_A - err_B) in pp, or ``values`` (per seed)."""
    rows = nets.pairs(a, b)
    own = values is None
    if own:
        values = [100 * (float(ra["test_error"]) - float(rb["test_error"])) for ra, rb in rows]
    if not values:
        return None
    role = PRIMARY if primary else SECONDARY
    label = f"{a[0]}: {_name(a)} vs {_name(b)}"
    keys = {"dataset": a[0], "depth": a[1], "dropout": a[3], "a": _name(a), "b": _name(b)}
    check = nets.mcnemar(rows, alpha) if own else ""  # McNemar checks test errors only
    floor = nets.sampling_se(rows) if own else 0.0  # the test images' share of the spread
    return seed_test(label, condition if primary else label, role, values,
                     direction=claim.direction, theta0=claim.theta0, keys=keys, check=check,
                     min_se=floor)  # fmt: skip


def _by_method(ds: str, method: str, several: bool) -> str:
    return f"{method} on {ds}" if several else ds


def _prediction_claims(nets: SelectedNets, history: pd.DataFrame | None, s: Settings) -> dict:
    """Claims 1-4 and 7: claim id -> its Tests."""
    ds, depths, drops = nets.values("dataset"), nets.values("depth"), nets.values("dropout")
    p, out = s.primary_depth, {}
    c = {cl.id: cl for cl in CLAIMS}
    deep, shallow = [d for d in depths if d >= 3], [d for d in depths if d <= 2]
    tests = []
    for d, do, hi, lo in product(ds, drops, deep, shallow):
        prim = (hi, lo, do) == (p, 1, False)
        tests.append(_error_test(nets, c["1"], (d, hi, "none", do), (d, lo, "none", do), prim, d,
                                 s.alpha))  # fmt: skip
    out["1"] = tests
    t2, t3, t4 = [], [], []
    for (d, k, do), m in product(product(ds, depths, drops), PRETRAINED):
        prim = (k, do) == (p, False)
        a, b = (d, k, m, do), (d, k, "none", do)
        t2.append(_error_test(nets, c["2"], a, b, prim, _by_method(d, m, True), s.alpha))
        rows = nets.pairs(a, b)
        gaps = matched_training_error(history, rows) if history is not None else []
        t4.append(_error_test(nets, c["4"], a, b, prim, _by_method(d, m, True), s.alpha,
                              values=[100 * g for g in gaps]) if gaps else None)  # fmt: skip
    for (d, k, do), m in product(product(ds, depths, drops), ("rbm", "dae")):
        prim = (k, do) == (p, False)
        t3.append(_error_test(nets, c["3"], (d, k, "ae", do), (d, k, m, do), prim,
                              f"ae vs {m} on {d}", s.alpha))  # fmt: skip
    out |= {"2": t2, "3": t3, "4": t4}
    t7 = []
    for d, k, m in product(ds, depths, nets.values("pretraining")):
        rows = nets.pairs((d, k, m, False), (d, k, m, True))
        gap = np.mean([r["test_error"] - r["train_error"] for r, _ in rows]) if rows else np.nan
        if gap >= s.overfit_gap:
            prim = (k, m) == (p, "none")
            t7.append(_error_test(nets, c["7"], (d, k, m, True), (d, k, m, False), prim, d,
                                  s.alpha))  # fmt: skip
    out["7"] = t7
    return {k: [t for t in v if t is not None] for k, v in out.items()}


def judge_claims(
    results: pd.DataFrame,
    *,
    prediction_files: Sequence[Path] = (),
    history: pd.DataFrame | None = None,
    autoencoder_files: Sequence[Path] | None = None,
    settings: Settings | None = None,
    grad_epochs: int = GRAD_EPOCHS,
    baseline: str = "glorot",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims table, comparisons table): the rows of results/claims.csv and
    results/claim_comparisons.csv, in ``CLAIMS`` order.

    ``history``: the selected members' history with cell keys (``selected_history``), for claims
    4 and 5 (None: not tested). ``autoencoder_files``: the deep_autoencoder study's summary.csv
    files, for claims 6 and 6b (None or empty: the study is off). ``baseline``: the random
    initialisation of the nets without pretraining (pretrain.none.init), stated in the table.
    """
    s = settings or Settings()
    nets = SelectedNets(results, load_predictions(prediction_files))
    tests = _prediction_claims(nets, history, s) if len(nets.table) else {}
    ratios = gradient_ratios(history, n_epochs=grad_epochs)
    tests["5"] = gradient_tests(ratios, alpha=s.alpha)
    auto = autoencoder_tests(autoencoder_files)
    tests |= auto or {}
    n_diverged = int(results["diverged"].astype(bool).sum()) if "diverged" in results else 0
    rows, comps = [], []
    for claim in CLAIMS:
        v = judge(tests.get(claim.id, []), delta=claim.delta, alpha=s.alpha,
                  power_target=s.power_target)  # fmt: skip
        n_secondary = sum(j.test.role == SECONDARY for j in v.judged)
        note = ""
        if v.verdict == NOT_TESTED:
            note = _why_not(claim.id, s, history=history, ratios=ratios,
                            autoencoder_ran=auto is not None, n_diverged=n_diverged,
                            n_usable=len(nets.table), n_secondary=n_secondary)  # fmt: skip
        rows.append({
            "id": claim.id, "statement": claim.statement, "measure": claim.measure,
            "figure": claim.figure, "unit": claim.unit, "verdict": v.verdict,
            "exceptions": v.exceptions, "note": note, "n_primary": v.n_primary,
            "n_for": v.n_for, "n_against": v.n_against, "n_underpowered": v.n_underpowered,
            "effect": v.effect, "ci_low": v.ci_low, "ci_high": v.ci_high, "delta": claim.delta,
            "power": v.power, "min_seeds": v.min_units,
            "n_secondary": n_secondary,
            "baseline": baseline if claim.id in ("1", "2", "4", "5", "6b") else "",
        })  # fmt: skip
        for j in v.judged:
            t, (lo, hi) = j.test, j.test.interval()
            comps.append({
                "claim": claim.id, "role": t.role, "label": t.label, "condition": t.condition,
                "dataset": t.keys.get("dataset", ""), "depth": t.keys.get("depth", np.nan),
                "dropout": t.keys.get("dropout", ""), "a": t.keys.get("a", ""),
                "b": t.keys.get("b", ""), "n_seeds": t.n_units, "effect": t.effect,
                "ci_low": lo, "ci_high": hi, "p_value": t.p_value, "p_adjusted": j.p_adjusted,
                "outcome": j.outcome, "power": j.power, "underpowered": j.underpowered,
                "mcnemar": t.check,
            })  # fmt: skip
    return (pd.DataFrame(rows, columns=list(CLAIMS_COLUMNS)),
            pd.DataFrame(comps, columns=list(COMPARISON_COLUMNS)))  # fmt: skip


def selected_history(history: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """History rows of the selected members, with the cell keys of results attached."""
    keys = (
        ["job_id", "member_id"]
        if {"job_id"} <= set(history) & set(results)
        else ["dataset", "depth", "member_id"]
    )
    info = results.loc[results["selected"].astype(bool), keys + ["pretraining", "dropout", "seed"]]
    info = info.loc[:, ~info.columns.duplicated()]
    hist = history.drop(columns=[c for c in info.columns if c in history and c not in keys])
    if "depth" in keys:
        hist = hist.astype({"depth": int})
    return hist.merge(info.drop_duplicates(keys), on=keys, how="inner")


def _why_not(claim_id: str, s: Settings, *, history, ratios, autoencoder_ran: bool,
             n_diverged: int, n_usable: int, n_secondary: int) -> str:  # fmt: skip
    """Why a claim is not tested by this profile (shown under its verdict)."""
    if claim_id in ("1", "2", "3", "4", "7") and n_usable == 0 and n_diverged:
        return (
            f"not judged: every member diverged or failed ({n_diverged} members), so no cell has "
            "a finished net; lower finetune.lr or check the data (results/results.csv, "
            "fail_reason)"
        )
    if claim_id in ("4", "5") and history is None:
        return "no training history among the inputs"
    if claim_id == "5" and not grad_columns(history):
        return "no gradient norms recorded (finetune.record_grad_norms: false)"
    if claim_id == "5":
        depths = sorted({int(d) for d in ratios["depth"]})
        return ("fewer than 2 depths with random-init members (dropout off) that have gradient "
                f"norms; this profile has {depths or 'none'}")  # fmt: skip
    if claim_id in ("6", "6b"):
        if not autoencoder_ran:
            return "the deep_autoencoder study is not enabled in this profile"
        return "no finished deep-autoencoder member with a comparable partner"
    primary = {
        "1": f"none at depth {s.primary_depth} and at depth 1 without dropout",
        "2": f"a pretrained and a random-init cell at depth {s.primary_depth} without dropout",
        "3": f"ae next to rbm or dae at depth {s.primary_depth} without dropout",
        "4": f"a pretrained and a random-init cell at depth {s.primary_depth} without dropout",
        "7": f"random-init nets at depth {s.primary_depth} whose nets without dropout overfit "
        f"(test - train error >= {s.overfit_gap:g}) next to the same nets with dropout",
    }[claim_id]
    also = f"; {n_secondary} secondary comparisons in the comparisons table" if n_secondary else ""
    return f"no primary comparison: the profile lacks {primary}{also}"



def write_claims(
    *,
    results_csv: Path,
    history_csv: Path,
    prediction_files: Sequence[Path],
    autoencoder_files: Sequence[Path],
    claims: dict | None,
    baseline: str,
    out_claims: Path,
    out_comparisons: Path,
) -> pd.DataFrame:
    """The `claims` rule: judge every claim, write both tables atomically; returns the claims."""
    results = pd.read_csv(results_csv)
    history = selected_history(pd.read_csv(history_csv), results) if len(results) else None
    table, comparisons = judge_claims(
        results,
        prediction_files=prediction_files,
        history=history,
        autoencoder_files=autoencoder_files,
        settings=Settings.from_config(claims),
        baseline=baseline,
    )
    files.write_with(out_comparisons, lambda p: comparisons.to_csv(p, index=False))
    files.write_with(out_claims, lambda p: table.to_csv(p, index=False))
    for row in table.itertuples():
        print(f"claim {row.id}: {row.verdict}" + (f" ({row.exceptions})" if row.exceptions else ""))
    return table
