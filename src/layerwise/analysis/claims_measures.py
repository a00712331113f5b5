"""Claims 4, 5, 6 and 6b: measures other than the test error of two cells (docs/claims.md).

Claim 4, pretraining as a regulariser (Erhan et al. 2010): the train/test gap of the selected nets
mostly repeats claim 2 (their training error is near 0 in both arms), so the claim is measured at
matched training error: per seed, each net's validation error at the first epoch where its
training error (history.csv, a running mean over the epoch) reaches tau, the lower of the two
nets' best that both reach (``matched_training_error``). A net that generalises better at the same
fit to its training set is the regulariser's signature. Validation, not test, error: the history
holds no per-epoch test error.

Claim 5, vanishing gradients (Bengio et al. 2007; Glorot & Bengio 2010; Larochelle et al. 2009,
sec. 4.3): per selected random-init member with dropout off, r = log10(mean g_1 / mean g_out),
g_i = history.csv's ``grad_norm_l{i}`` (the mean Frobenius norm of dNLL/dW_i over an epoch's
minibatches; layer depth + 1 is the output layer), means over the first ``n_epochs`` fine-tuning
epochs, where the initialisation still dominates. The primary test, per data set: the
least-squares slope of r over depth per seed (log10 per added layer), tested over seeds; the
secondary ones: r at each depth >= 2.

Claims 6 and 6b, deep autoencoder vs PCA (Hinton & Salakhutdinov, Science 2006, Fig. 2): from the
deep_autoencoder study's ``code{n}/summary.csv`` (test squared error per image) and ``recons.npz``
(the first ``n_recons`` test digits and their reconstructions). Per code size and seed the effect
is err(pretrained deep AE) - err(PCA) (6) and err(pretrained) - err(same net, random init) (6b).
The standard error treats the test images as the sample: sd / sqrt(n_test), sd the per-image
spread of the difference, taken at the upper 95% confidence bound from the recons.npz digits
(conservative); without recons.npz the test is over seeds. The largest code size is primary.

Never imports torch, mlflow or report code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from layerwise.analysis.autoencoder_summaries import find_code_dirs, load_summaries
from layerwise.analysis.verdicts import PRIMARY, SECONDARY, Test, normal_test, seed_test

GRAD_PREFIX = "grad_norm_l"
#: First fine-tuning epochs over which the gradient norms are averaged (as the report's figure).
GRAD_EPOCHS = 5


def grad_columns(frame: pd.DataFrame) -> list[str]:
    """grad_norm_l1, grad_norm_l2, ... in layer order."""
    cols = [c for c in frame.columns if c.startswith(GRAD_PREFIX)]
    return sorted(cols, key=lambda c: int(c.removeprefix(GRAD_PREFIX)))


def gradient_ratios(history: pd.DataFrame | None, *, n_epochs: int = GRAD_EPOCHS) -> pd.DataFrame:
    """One row per selected random-init member with dropout off: dataset, depth, seed, log_ratio.

    ``history``: the selected members' history with their cell keys (``figures.selected_history``).
    log_ratio = log10(mean grad_norm_l1 / mean grad_norm_l{depth+1}) over the first ``n_epochs``
    epochs; members without finite, positive norms (diverged, or norms not recorded) drop out.
    """
    out = pd.DataFrame(columns=["dataset", "depth", "seed", "log_ratio"])
    needed = {"dataset", "depth", "seed", "member_id", "epoch", "pretraining", "dropout"}
    if history is None or history.empty or not grad_columns(history) or needed - set(history):
        return out
    if n_epochs < 1:
        raise ValueError(f"n_epochs must be >= 1; got {n_epochs}")
    hist = history[(history["pretraining"] == "none") & ~history["dropout"].astype(bool)]
    hist = hist[hist["epoch"] < hist["epoch"].min() + n_epochs] if len(hist) else hist
    rows = []
    for (ds, depth, seed, _), part in hist.groupby(["dataset", "depth", "seed", "member_id"]):
        out_col = f"{GRAD_PREFIX}{int(depth) + 1}"
        if out_col not in part:
            continue
        first, last = part[f"{GRAD_PREFIX}1"].mean(), part[out_col].mean()
        if np.isfinite(first) and np.isfinite(last) and first > 0 and last > 0:
            rows.append((ds, int(depth), int(seed), float(np.log10(first / last))))
    return pd.DataFrame(rows, columns=out.columns) if rows else out


def _slopes(ratios: pd.DataFrame) -> dict[str, list[float]]:
    """Per data set: the least-squares slope of log_ratio over depth for each seed with >= 2
    depths."""
    slopes: dict[str, list[float]] = {}
    for (ds, _), unit in ratios.groupby(["dataset", "seed"]):
        by_depth = unit.groupby("depth")["log_ratio"].mean()
        if len(by_depth) >= 2:
            x, y = by_depth.index.to_numpy(float), by_depth.to_numpy()
            slopes.setdefault(ds, []).append(float(np.polyfit(x, y, 1)[0]))
    return slopes


def gradient_tests(ratios: pd.DataFrame, *, alpha: float = 0.05) -> list[Test]:
    """Claim 5: per data set the slope over depth (primary; units: seeds) and the log ratio at
    each depth >= 2 (secondary); empty when no data set has 2 depths."""
    tests = []
    for ds, slopes in sorted(_slopes(ratios).items()):
        tests.append(seed_test(f"{ds}: slope of log10(first / output) over depth", ds, PRIMARY,
                               slopes, direction="a_better"))  # fmt: skip
        part = ratios[ratios["dataset"] == ds]
        for d in sorted({int(x) for x in part["depth"]}):
            if d >= 2:
                label = f"{ds}: log10(first / output layer) at depth {d}"
                values = part.loc[part["depth"] == d, "log_ratio"].to_numpy()
                keys = {"dataset": ds, "depth": d, "dropout": False}
                tests.append(seed_test(label, label, SECONDARY, values, direction="a_better",
                                       keys=keys))  # fmt: skip
    return tests


def matched_training_error(history: pd.DataFrame, rows: list[tuple[dict, dict]]) -> list[float]:
    """Claim 4, per seed pair (A, B) of selected nets: the validation error of A minus that of B,
    each at the first epoch where its training error reaches tau, the larger of the two nets'
    lowest training errors (the lowest both reach). Pairs without both histories drop out."""
    out = []
    by_member = {key: part for key, part in history.groupby(["job_id", "member_id"])} \
        if {"job_id", "member_id"} <= set(history) else {}
    for ra, rb in rows:
        ha = by_member.get((ra["job_id"], ra["member_id"]))
        hb = by_member.get((rb["job_id"], rb["member_id"]))
        if ha is None or hb is None:
            continue
        ha, hb = ha.sort_values("epoch"), hb.sort_values("epoch")
        ta, tb = ha["train_error"].to_numpy(float), hb["train_error"].to_numpy(float)
        if not (np.isfinite(ta).any() and np.isfinite(tb).any()):
            continue
        tau = max(np.nanmin(ta), np.nanmin(tb))
        va = ha["valid_error"].to_numpy(float)[np.argmax(ta <= tau)]
        vb = hb["valid_error"].to_numpy(float)[np.argmax(tb <= tau)]
        if np.isfinite(va) and np.isfinite(vb):
            out.append(float(va - vb))
    return out


def _per_image_se(path: Path, key: str, ref: str | None, seeds: list[int], n_test: int) -> float:
    """Conservative standard error of the mean over n_test images of err(key) - err(ref) (mean
    over ``seeds``), from the digits stored in recons.npz; ``ref`` None means PCA. NaN if the file
    lacks those seeds or holds fewer than 2 digits."""
    if n_test < 1 or not path.is_file():
        return float("nan")
    with np.load(path) as z:
        stored = [int(s) for s in z["seeds"]] if "seeds" in z.files else []
        if not seeds or any(s not in stored for s in seeds) or z["x"].shape[0] < 2:
            return float("nan")
        at = [stored.index(s) for s in seeds]
        x = z["x"].astype(np.float64)
        err_a = ((z[key][at].astype(np.float64) - x) ** 2).sum(-1)  # (S, n)
        other = z["pca"][None] if ref is None else z[ref][at]
        err_b = ((other.astype(np.float64) - x) ** 2).sum(-1)
    diff = (err_a - err_b).mean(axis=0)  # (n,) per digit, mean over seeds
    n = diff.size
    sd_upper = diff.std(ddof=1) * np.sqrt((n - 1) / chi2.ppf(0.025, n - 1))
    return float(sd_upper / np.sqrt(n_test))


def _n_test(rows: pd.DataFrame) -> int:
    """Test images behind summary.csv's errors (0 when the column is absent: no per-image SE)."""
    values = pd.to_numeric(rows.get("n_test", pd.Series(dtype=float)), errors="coerce").dropna()
    return int(values.iloc[0]) if len(values) else 0


def _members(rows: pd.DataFrame, pretrained: bool) -> pd.Series:
    """seed -> test error of the non-diverged deep-AE members with this initialisation."""
    ok = (rows["method"] == "deep-ae") & (rows["pretrained"] == pretrained)
    if "diverged" in rows:
        ok &= ~rows["diverged"].astype(str).str.lower().isin(["true", "1"])
    part = rows[ok & np.isfinite(rows["test_mse_per_image"].astype(float))]
    return part.set_index(part["seed"].astype(int))["test_mse_per_image"].astype(float)


def _reconstruction_test(label, primary: bool, a: pd.Series, b: pd.Series, recons, key, ref,
                         n_test) -> Test | None:  # fmt: skip
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        return None
    effects = [float(a[s] - b[s]) for s in seeds]
    role = PRIMARY if primary else SECONDARY
    se = _per_image_se(recons, key, ref, seeds, n_test)
    if np.isnan(se) and len(seeds) >= 2:
        return seed_test(label, label, role, effects, direction="a_better")
    return normal_test(label, label, role, float(np.mean(effects)), se, effects)


def autoencoder_tests(summary_files) -> dict[str, list[Test]] | None:
    """Claims 6 and 6b: one test per code size each, the largest code size primary; None when
    the study did not run."""
    dirs = find_code_dirs(list(summary_files or []))
    if not dirs:
        return None
    summary = load_summaries(dirs)
    out: dict[str, list[Test]] = {"6": [], "6b": []}
    largest = max(int(d.name[4:]) for d in dirs)
    for d in dirs:
        code = int(d.name[4:])
        rows = summary[summary["code_size"] == code]
        pca = rows.loc[rows["method"] == "pca", "test_mse_per_image"].astype(float)
        pre, rand = _members(rows, True), _members(rows, False)
        n_test, recons, primary = _n_test(rows), d / "recons.npz", code == largest
        if len(pca) and np.isfinite(pca.iloc[0]):
            pca_by_seed = pd.Series(float(pca.iloc[0]), index=pre.index)
            label = f"code {code}: pretrained deep AE vs PCA"
            t = _reconstruction_test(label, primary, pre, pca_by_seed, recons, "ae_pretrained",
                                     None, n_test)  # fmt: skip
            out["6"] += [t] if t else []
        t = _reconstruction_test(f"code {code}: pretrained vs random init", primary, pre, rand,
                                 recons, "ae_pretrained", "ae_random", n_test)  # fmt: skip
        out["6b"] += [t] if t else []
    return out
