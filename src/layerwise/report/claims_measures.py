"""Claims 5 and 6: measures other than test-image predictions (docs/claims.md).

Claim 5, vanishing gradients (Bengio et al. 2007; Glorot & Bengio 2010; Larochelle et al. 2009,
sec. 4.3): without pretraining, the gradient reaching the first layer is smaller than at the output
layer, increasingly so with depth. Measure, per selected random-init member with dropout off (the
setting of the gradient-norm figure): r = log10(mean g_1 / mean g_out), g_i = history.csv's
``grad_norm_l{i}`` (the mean Frobenius norm of dNLL/dW_i over an epoch's minibatches; layer
depth + 1 is the output layer), means over the first ``n_epochs`` fine-tuning epochs -- the
epochs the figure shows and those where the initialisation still dominates; later the net has
moved away from its starting point and the question is a different one. log10 makes -1 read "ten
times smaller" and turns the trend into a difference. Comparisons (all ``a_better``: negative
supports the claim):

* per depth >= 2: the members' mean r with a t-interval and t-test over members (data sets x
  seeds; ``paired.one_sample``);
* the trend: per (data set, seed) the least-squares slope of r over the depths it has (log10 per
  added layer), then the mean slope with a t-interval and t-test over those units.

The claim is supported only when every comparison is (``judge_claim(require_all=True)``); its
effect and interval are the slope's.

Claim 6, deep autoencoder vs PCA (Hinton & Salakhutdinov, Science 2006, Fig. 2): from the
deep_autoencoder study's ``code{n}/summary.csv`` (test squared error per image, summed over the
784 pixels and averaged over the whole test split) and ``recons.npz`` (the first ``n_recons`` test
digits and their reconstructions by PCA and by every seed's nets). Per code size and seed the
effect is err(pretrained deep AE) - err(PCA) (claim 6) and err(pretrained) - err(same net, random
init) (claim 6b, "without pretraining it trains poorly"), both ``a_better``. The interval treats
the test images as the sample, as the paired tests of claims 1-4 and 7 do: the standard error of a
mean over n_test images is sd / sqrt(n_test), where sd, the per-image spread of the difference, is
only stored for the recons.npz digits; we use the upper 95% confidence bound of sd from them
(chi-square, n_recons - 1 degrees of freedom), so the interval is conservative. Without recons.npz
the interval is over seeds (t), and with one seed there is none (p = 1: inconclusive). Seeds still
have to agree in sign. A member that diverged has no error and drops out.

Never imports torch or mlflow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from layerwise.report.deep_autoencoder_section import find_code_dirs, load_summaries
from layerwise.report.paired import Comparison, one_sample, wald

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


def _slopes(ratios: pd.DataFrame) -> list[float]:
    """Least-squares slope of log_ratio over depth per (data set, seed) with >= 2 depths."""
    slopes = []
    for _, unit in ratios.groupby(["dataset", "seed"]):
        by_depth = unit.groupby("depth")["log_ratio"].mean()
        if len(by_depth) >= 2:
            slopes.append(
                float(np.polyfit(by_depth.index.to_numpy(float), by_depth.to_numpy(), 1)[0])
            )
    return slopes


def gradient_comparisons(ratios: pd.DataFrame) -> tuple[list[Comparison], Comparison | None]:
    """Claim 5: (every comparison, the trend comparison); empty when fewer than 2 depths."""
    depths = sorted({int(d) for d in ratios["depth"]})
    slopes = _slopes(ratios)
    if len(depths) < 2 or not slopes:
        return [], None
    comps = [
        one_sample(f"depth {d}: log10(first / output layer)", ratios.loc[ratios["depth"] == d,
                   "log_ratio"].to_numpy())
        for d in depths if d >= 2
    ]  # fmt: skip
    trend = one_sample(f"slope of log10(first / output) over depths {depths}", slopes)
    return [*comps, trend], trend


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


def _reconstruction_comparison(label, a: pd.Series, b: pd.Series, recons, key, ref, n_test):
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        return None
    effects = [float(a[s] - b[s]) for s in seeds]
    se = _per_image_se(recons, key, ref, seeds, n_test)
    if np.isnan(se) and len(seeds) >= 2:
        return one_sample(label, effects)
    return wald(label, float(np.mean(effects)), se, effects)


def autoencoder_comparisons(summary_files) -> dict[str, list[Comparison]] | None:
    """Claims 6 and 6b: one comparison per code size each; None when the study did not run."""
    dirs = find_code_dirs(list(summary_files or []))
    if not dirs:
        return None
    summary = load_summaries(dirs)
    out: dict[str, list[Comparison]] = {"6": [], "6b": []}
    for d in dirs:
        rows = summary[summary["code_size"] == int(d.name[4:])]
        pca = rows.loc[rows["method"] == "pca", "test_mse_per_image"].astype(float)
        pre, rand = _members(rows, True), _members(rows, False)
        n_test = _n_test(rows)
        recons, code = d / "recons.npz", int(d.name[4:])
        if len(pca) and np.isfinite(pca.iloc[0]):
            pca_by_seed = pd.Series(float(pca.iloc[0]), index=pre.index)
            c = _reconstruction_comparison(
                f"code {code}: pretrained deep AE vs PCA",
                pre,
                pca_by_seed,
                recons,
                "ae_pretrained",
                None,
                n_test,
            )
            out["6"] += [c] if c else []
        c = _reconstruction_comparison(
            f"code {code}: pretrained vs random init",
            pre,
            rand,
            recons,
            "ae_pretrained",
            "ae_random",
            n_test,
        )
        out["6b"] += [c] if c else []
    return out
