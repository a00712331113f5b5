"""The full-MNIST dropout study: Srivastava et al. (JMLR 2014), sec. 6.1.1 and Table 2.

Permutation-invariant MNIST, fully connected nets of ``depth`` x ``n_hidden`` units (paper:
3 x 1024) with logistic ("sigmoid") or ReLU hidden units, trained three ways (the *variants*):

* ``plain``            -- no dropout, no max-norm ("Standard Neural Net");
* ``dropout``          -- dropout with retention 0.8 on the input and 0.5 on hidden units
                          (p_drop_input = 0.2, p_drop_hidden = 0.5; "Dropout NN");
* ``dropout-maxnorm``  -- dropout plus the max-norm constraint ||w_j||_2 <= c on each hidden unit's
                          incoming weights ("Dropout NN + max-norm").

One fine-tuning job per activation (``activation`` is shared by a population): its members are
variants x lr candidates x seeds, trained together by ``layerwise.finetune``. Per (activation,
variant, seed) the lr candidate with the lowest validation error is selected
(``layerwise.metrics.select_best``), as everywhere in the pipeline. Members with the same seed share
their initial weights, data order and dropout masks, so variants are paired comparisons.

Where we differ from the paper (choices, all parameters of the ``dropout_study`` config section):

* lr and momentum are constant (the engine has no schedules); the paper (Appendix A.2, B.1; Hinton
  et al. 2012, Appendix A) ramps momentum 0.5 -> 0.95/0.99 and decays the learning rate. We use the
  final momentum and pick lr from candidates on the validation set;
* training stops early on validation error (``patience``) after at most ``max_epochs``; the paper
  trained far longer (about 3000 epochs in Hinton et al. 2012) and, as far as the text says, did not
  retrain on train + valid: we train on the 50000 training images and select on the 10000 validation
  images; test = the 10000 MNIST test images;
* max-norm is applied to the hidden layers only (the engine's convention), not the softmax layer;
  c is a parameter (Appendix A.3 gives 3-4 as typical; B.1 reports c = 2 for these nets, as far as
  we read it);
* initial weights are Glorot uniform (x4 for sigmoid, plain for ReLU; ``init_layer``), not the
  paper's N(0, 0.01^2); the softmax layer starts at zero (the engine's default);
* "Standard Neural Net (logistic)" in Table 2 is Simard et al.'s 2 x 800 net; our plain logistic
  net has the study's architecture, so that row compares a different architecture.

Files (docs/architecture.md style) under ``results/dropout_study/``: ``{activation}/members.csv``
(the tidy members columns that apply, plus ``variant``, ``activation`` and ``selected``),
``history.csv``, ``record.json`` (kind ``dropout_study``), ``config.yaml``,
``weights/{member_id}.pt``; and ``summary.csv`` (one row per (activation, variant)).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from layerwise import files, provenance
from layerwise.data.io import load_dataset
from layerwise.device import choose_device, configure_precision
from layerwise.experiment import job_record
from layerwise.finetune import FinetuneSettings, finetune
from layerwise.metrics import binomial_ci95, select_best
from layerwise.models.layers import init_layer
from layerwise.report.compare import verdict
from layerwise.report.inputs import load_reference

VARIANTS = ("plain", "dropout", "dropout-maxnorm")
ACTIVATIONS = ("sigmoid", "relu")
SELECTION_KEYS = ["activation", "variant", "seed"]
VARIANT_LABELS = {
    "plain": "Standard",
    "dropout": "Dropout",
    "dropout-maxnorm": "Dropout + max-norm",
}
ACTIVATION_LABELS = {"sigmoid": "logistic", "relu": "ReLU"}
#: (activation, variant) -> (Table 2 model name, units column of the reference row, paper net).
TABLE2_ROWS = {
    ("sigmoid", "plain"): ("Standard Neural Net (logistic)", "800", "2 x 800"),
    ("sigmoid", "dropout"): ("Dropout NN (logistic)", "1024", "3 x 1024"),
    ("relu", "dropout"): ("Dropout NN (ReLU)", "1024", "3 x 1024"),
    ("relu", "dropout-maxnorm"): ("Dropout NN + max-norm (ReLU)", "1024", "3 x 1024"),
}
PAPER_N_TEST = 10000  # MNIST test set: the interval of a published row (the paper prints none)


@dataclass(frozen=True)
class StudyMember:
    """One member of a dropout-study population."""

    member_id: str  # "{activation}.{variant}.lr{lr}.s{seed}", unique across the study
    activation: str
    variant: str
    seed: int
    lr: float
    p_drop_input: float
    p_drop_hidden: float
    max_norm: float  # inf = off

    @property
    def candidate(self) -> str:
        return f"lr{self.lr:g}"

    @property
    def dropout(self) -> bool:
        return self.variant != "plain"


def check_study(cfg: dict) -> None:
    """Cross-checks the schema cannot express; raises ValueError naming the legal values."""
    sc = cfg["dropout_study"]
    if sc["dataset"] not in cfg["data"]["datasets"]:
        raise ValueError(f"dropout_study.dataset {sc['dataset']!r} must be listed under "
                         f"data.datasets (listed: {sorted(cfg['data']['datasets'])})")  # fmt: skip
    spec = cfg["data"]["datasets"][sc["dataset"]]
    for split in ("n_train", "n_valid"):
        if sc[split] is not None and not 1 <= sc[split] <= spec[split]:
            raise ValueError(f"dropout_study.{split} must be in [1, {spec[split]}] (the data "
                             f"set's {split}) or null; got {sc[split]}")  # fmt: skip
    if sc["batch_size"] > (sc["n_train"] or spec["n_train"]):
        raise ValueError(f"dropout_study.batch_size {sc['batch_size']} exceeds the training size")


def study_members(sc: dict, activation: str) -> list[StudyMember]:
    """Members of one job: variants x lr candidates x seeds (in this order; ties go to the first).

    ``sc`` is the validated ``dropout_study`` config section.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    bad = [v for v in sc["variants"] if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be in {VARIANTS}, got {bad}")
    out = []
    for variant, lr, seed in itertools.product(sc["variants"], sc["lr"], sc["seeds"]):
        drop = variant != "plain"
        out.append(StudyMember(
            f"{activation}.{variant}.lr{float(lr):g}.s{seed}", activation, variant, int(seed),
            float(lr), sc["p_drop_input"] if drop else 0.0, sc["p_drop_hidden"] if drop else 0.0,
            float(sc["max_norm"]) if variant == "dropout-maxnorm" else math.inf,
        ))  # fmt: skip
    return out


def study_settings(sc: dict, members: list[StudyMember], n_classes: int) -> FinetuneSettings:
    """Per-member engine settings of one job (K = len(members))."""
    return FinetuneSettings(
        seeds=[m.seed for m in members], lr=[m.lr for m in members], momentum=sc["momentum"],
        p_drop_input=[m.p_drop_input for m in members],
        p_drop_hidden=[m.p_drop_hidden for m in members],
        max_norm=[m.max_norm for m in members], max_epochs=sc["max_epochs"],
        patience=sc["patience"], batch_size=sc["batch_size"], activation=members[0].activation,
        n_classes=n_classes, eval_batch_size=sc["eval_batch_size"],
        record_grad_norms=sc["record_grad_norms"],
    )  # fmt: skip


def random_layers(sc: dict, members: list[StudyMember], n_in: int, device) -> list:
    """Random hidden layers [(W (K, n_in, n_hidden), b (K, n_hidden))] * depth.

    Glorot uniform scaled for the activation (x4 for sigmoid); a member's init depends on its seed
    only, so the variants and lr candidates of one seed start from the same weights.
    """
    seeds, act = [m.seed for m in members], members[0].activation
    layers = []
    for layer in range(sc["depth"]):
        layers.append(init_layer(n_in, sc["n_hidden"], seeds, layer=layer, activation=act,
                                 device=device))  # fmt: skip
        n_in = sc["n_hidden"]
    return layers


def subset(ds, n_train: int | None, n_valid: int | None) -> dict[str, np.ndarray]:
    """Leading n_train / n_valid examples of the train / valid splits (None = all); whole test."""
    n = {"train": n_train, "valid": n_valid, "test": None}
    out = {}
    for split, k in n.items():
        x, y = ds.split(split)
        out[f"x_{split}"], out[f"y_{split}"] = x[:k], y[:k]
    return out


def mark_selected(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` with ``selected``: lowest valid error per (activation, variant, seed)."""
    table = table.copy()
    table["selected"] = select_best(table, SELECTION_KEYS)
    return table


def member_table(
    cfg: dict,
    members: list[StudyMember],
    summary: pd.DataFrame,
    data: dict[str, np.ndarray],
    dataset: str,
    wall: float,
) -> pd.DataFrame:
    """members.csv: the tidy columns of the main grid that apply, plus variant and selected."""
    sc, job_id = cfg["dropout_study"], f"dropout_study/{members[0].activation}"
    n = {s: len(data[f"y_{s}"]) for s in ("train", "valid", "test")}
    rows = []
    for m, s in zip(members, summary.to_dict("records"), strict=True):
        rows.append({
            "study": cfg["study"], "dataset": dataset, "depth": sc["depth"], "pretraining": "none",
            "dropout": m.dropout, "variant": m.variant, "seed": m.seed, "candidate": m.candidate,
            "member_id": m.member_id, "job_id": job_id, "pretrain_id": "none",
            "n_hidden": sc["n_hidden"], "activation": m.activation, "lr": m.lr,
            "momentum": sc["momentum"], "p_drop_input": m.p_drop_input,
            "p_drop_hidden": m.p_drop_hidden,
            "max_norm": m.max_norm if math.isfinite(m.max_norm) else np.nan,
            "epochs_run": s["epochs_run"], "best_epoch": s["best_epoch"],
            "train_error": s["train_error"], "valid_error": s["valid_error"],
            "test_error": s["test_error"], "n_train": n["train"], "n_valid": n["valid"],
            "n_test": n["test"], "test_ci95": float(binomial_ci95(s["test_error"], n["test"])),
            "diverged": bool(s["diverged"]), "diverged_epoch": s["diverged_epoch"],
            "wall_time_s": wall,
        })  # fmt: skip
    return mark_selected(pd.DataFrame(rows))


def _device(cfg: dict, threads: int) -> torch.device:
    torch.set_num_threads(max(1, int(threads)))
    device = choose_device(cfg["device"])
    configure_precision(cfg["precision"] if device.type == "cuda" else "float32")
    return device


def _write_outputs(out_dir: Path, members, res, table: pd.DataFrame) -> None:
    """weights/{member_id}.pt (best epoch, hidden layers + softmax), history.csv, members.csv."""
    ids = [m.member_id for m in members]
    for k, mid in enumerate(ids):
        params = [(w[k].detach().cpu().clone(), b[k].detach().cpu().clone())
                  for w, b in res.best_params]  # fmt: skip
        files.write_with(out_dir / "weights" / f"{mid}.pt", lambda p, x=params: torch.save(x, p))
    hist = res.history.copy()
    hist.insert(0, "member_id", [ids[int(k)] for k in hist.pop("member")])
    files.write_with(out_dir / "history.csv", lambda p: hist.to_csv(p, index=False))
    files.write_with(out_dir / "members.csv", lambda p: table.to_csv(p, index=False))


def run_dropout_job(
    cfg: dict, activation: str, data_path: Path, out_dir: Path, *, threads: int = 1, log=print
) -> pd.DataFrame:
    """Train the population of one activation and write its files; returns members.csv's table."""
    started, t0 = provenance.now(), time.perf_counter()
    check_study(cfg)
    sc, device = cfg["dropout_study"], _device(cfg, threads)
    ds = load_dataset(data_path)
    data = subset(ds, sc["n_train"], sc["n_valid"])
    members = study_members(sc, activation)
    init = random_layers(sc, members, data["x_train"].shape[1], device)
    log(f"[dropout_study] {activation}: {sc['depth']} x {sc['n_hidden']}, K={len(members)}, "
        f"n_train={len(data['y_train'])} on {device}")  # fmt: skip
    res = finetune(init, data, study_settings(sc, members, ds.n_classes), device=device, log=log)
    out_dir = Path(out_dir)
    table = member_table(cfg, members, res.summary, data, ds.name,
                         round(time.perf_counter() - t0, 3))  # fmt: skip
    _write_outputs(out_dir, members, res, table)
    files.write_text(out_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    rec = job_record(cfg, "dropout_study", f"dropout_study/{activation}", ds, device, t0, started,
                     method=None, depth=sc["depth"], group=activation, activation=activation,
                     n_members=len(members), settings=dict(sc),
                     n_diverged=int(table["diverged"].sum()))  # fmt: skip
    files.write_json(out_dir / "record.json", rec)
    return table


def _published(reference: pd.DataFrame, activation: str, variant: str) -> tuple[str, str, float]:
    """(Table 2 model, paper net, error in [0, 1]) of a study cell; ("", "", nan) when none."""
    if (activation, variant) not in TABLE2_ROWS:
        return "", "", math.nan
    model, units, arch = TABLE2_ROWS[(activation, variant)]
    rows = reference[(reference["source"] == "Srivastava2014") & (reference["model"] == model)
                     & (reference["units"].astype(str) == units)]  # fmt: skip
    if rows.empty:
        return model, arch, math.nan
    return model, arch, float(rows["test_error_pct"].iloc[0]) / 100.0


def _cell(activation: str, variant: str, group: pd.DataFrame, reference: pd.DataFrame) -> dict:
    """One summary row from all members of (activation, variant), ``selected`` already marked."""
    # as layerwise.report.cells: a selected member that diverged is left out of the mean
    finite = np.isfinite(group["test_error"].astype(float)) & ~group["diverged"].astype(bool)
    sel = group[group["selected"].astype(bool) & finite]
    first, n_test = group.iloc[0], float(group["n_test"].iloc[0])
    mean = float(sel["test_error"].mean()) if len(sel) else math.nan
    ci = float(binomial_ci95(mean, n_test)) if len(sel) else math.nan
    model, arch, paper = _published(reference, activation, variant)
    has_paper = bool(model) and math.isfinite(paper)
    paper_ci = float(binomial_ci95(paper, PAPER_N_TEST)) if has_paper else math.nan
    result = verdict(mean, ci, paper, paper_ci) if has_paper and len(sel) else "no published row"
    if has_paper and not len(sel):
        result = "diverged"  # every member of every seed diverged: no number to compare
    return {
        "activation": activation, "variant": variant,
        "label": f"{VARIANT_LABELS[variant]} ({ACTIVATION_LABELS[activation]})",
        "depth": int(first["depth"]), "n_hidden": int(first["n_hidden"]),
        "n_train": int(first["n_train"]), "n_seeds": int(len(sel)),
        "n_diverged": int(group["seed"].nunique() - len(sel)), "n_test": int(n_test),
        "test_error": mean, "test_ci95": ci,
        "test_error_std": float(sel["test_error"].std()) if len(sel) > 1 else math.nan,
        "valid_error": float(sel["valid_error"].mean()) if len(sel) else math.nan,
        "lr_selected": " ".join(f"{v:g}" for v in sel["lr"]), "paper_model": model,
        "paper_net": arch, "paper_test_error": paper, "paper_ci95": paper_ci, "verdict": result,
    }  # fmt: skip


def summarize(members: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """summary.csv: per (activation, variant), the selected members' test error (mean over seeds),
    its 95% interval 1.96 sqrt(p(1-p)/n_test) at the mean, the std across seeds, the Table 2 value
    (interval at the paper's n_test = 10000) and the verdict of ``layerwise.report.compare.verdict``
    ("within intervals" when the two intervals meet, else "better"/"worse"). Selection is redone
    here (:func:`mark_selected`), so the summary does not trust a stale ``selected`` column."""
    table = mark_selected(members)
    rows = []
    for activation, variant in itertools.product(ACTIVATIONS, VARIANTS):
        group = table[(table["activation"] == activation) & (table["variant"] == variant)]
        if len(group):
            rows.append(_cell(activation, variant, group, reference))
    return pd.DataFrame(rows)


def write_summary(
    members_csvs: list[Path], out_csv: Path, reference_csv: Path | None = None
) -> pd.DataFrame:
    """Combine the jobs' members.csv into ``out_csv`` (see :func:`summarize`)."""
    members = pd.concat([pd.read_csv(p) for p in members_csvs], ignore_index=True)
    summary = summarize(members, load_reference(reference_csv))
    files.write_with(Path(out_csv), lambda p: summary.to_csv(p, index=False))
    return summary
