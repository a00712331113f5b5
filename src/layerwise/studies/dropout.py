"""The full-MNIST dropout study: Srivastava et al. (JMLR 2014), sec. 6.1.1 and Table 2.

Permutation-invariant MNIST, fully connected nets of ``depth`` x ``n_hidden`` units (paper:
3 x 1024) with logistic ("sigmoid") or ReLU hidden units, trained three ways (the *variants*):

* ``plain``            -- no dropout, no max-norm ("Standard Neural Net");
* ``dropout``          -- dropout with retention 0.8 on the input and 0.5 on hidden units
                          (p_drop_input = 0.2, p_drop_hidden = 0.5; "Dropout NN");
* ``dropout-maxnorm``  -- dropout plus the max-norm constraint ||w_j||_2 <= c on each hidden unit's
                          incoming weights ("Dropout NN + max-norm").

One fine-tuning job per activation (``activation`` is shared by a population): its members are
variants x lr candidates x seeds, trained together by ``layerwise.engine.finetune``. Per
(activation,
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
  c is a parameter, one number or one per activation (Appendix A.3 gives 3-4 as typical; B.1
  reports c = 2 for these nets, as far as we read it; both on the paper's small initial scale, so
  the default profile gives sigmoid nets, whose Glorot x4 columns start at norm 4-5, a larger c);
* initial weights are Glorot uniform (x4 for sigmoid, plain for ReLU; ``init_layer``), not the
  paper's N(0, 0.01^2); the softmax layer starts at zero (the engine's default);
* "Standard Neural Net (logistic)" in Table 2 is Simard et al.'s 2 x 800 net; our plain logistic
  net has the study's architecture, so that row compares a different architecture.

Files (docs/architecture.md style) under ``results/dropout_study/``: ``{activation}/members.csv``
(the tidy members columns that apply, plus ``variant``, ``activation`` and ``selected``),
``history.csv``, ``record.json`` (kind ``dropout_study``), ``config.yaml``,
``weights/{member_id}.pt``. The summary against Table 2 is ``layerwise.report.dropout_summary``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layerwise import files, layout
from layerwise.data.io import load_dataset
from layerwise.engine.finetune import FinetuneSettings, finetune
from layerwise.engine.layers import init_layer
from layerwise.metrics import select_best
from layerwise.studies.job_io import (
    JobClock,
    RunSettings,
    job_record,
    job_slice,
    setup_device,
    write_population,
    write_predictions,
    write_slice,
    write_table,
)
from layerwise.studies.members import (
    Member,
    PopulationInfo,
    budget_of,
    member_rows,
    population_settings,
)

VARIANTS = ("plain", "dropout", "dropout-maxnorm")
ACTIVATIONS = ("sigmoid", "relu")
SELECTION_KEYS = ["activation", "variant", "seed"]


@dataclass(frozen=True)
class DropoutJob:
    """One population of the study: every member of one activation (resolved)."""

    activation: str
    dataset: str
    depth: int
    n_hidden: int
    n_train: int | None  # leading training images used (None = all)
    n_valid: int | None
    members: tuple[Member, ...]
    settings: FinetuneSettings  # the engine's, of these members (n_classes: the job runner's)

    @property
    def path(self) -> str:
        return layout.job_id(layout.DROPOUT, activation=self.activation)


def study_members(sc: dict, activation: str) -> list[Member]:
    """Members of one job: variants x lr candidates x seeds (in this order; equal validation errors
    go to the lower validation NLL, then to the first).

    ``sc`` is the validated ``dropout_study`` config section.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    bad = [v for v in sc["variants"] if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be in {VARIANTS}, got {bad}")
    c = sc["max_norm"][activation] if isinstance(sc["max_norm"], dict) else sc["max_norm"]
    out = []
    for variant, lr, seed in itertools.product(sc["variants"], sc["lr"], sc["seeds"]):
        drop = variant != "plain"
        out.append(Member(
            f"{activation}.{variant}.lr{float(lr):g}.s{seed}", int(seed), float(lr),
            f"lr{float(lr):g}", momentum=float(sc["momentum"]), dropout=drop,
            p_drop_input=sc["p_drop_input"] if drop else 0.0,
            p_drop_hidden=sc["p_drop_hidden"] if drop else 0.0,
            max_norm=float(c) if variant == "dropout-maxnorm" else math.inf,
            variant=variant,
        ))  # fmt: skip
    return out


def dropout_jobs(cfg: dict) -> dict[str, DropoutJob]:
    """activation -> its job, from a validated config (empty when the study is off)."""
    sc = cfg["dropout_study"]
    if not sc["enabled"]:
        return {}
    budget = dict(max_epochs=sc["max_epochs"], patience=sc["patience"],
                  batch_size=sc["batch_size"], eval_batch_size=sc["eval_batch_size"],
                  record_grad_norms=sc["record_grad_norms"],
                  tie_break=cfg["finetune"]["tie_break"])  # fmt: skip
    jobs = {}
    for act in sc["activations"]:
        members = tuple(study_members(sc, act))
        jobs[act] = DropoutJob(act, sc["dataset"], sc["depth"], sc["n_hidden"], sc["n_train"],
                               sc["n_valid"], members,
                               population_settings(members, activation=act, **budget))  # fmt: skip
    return jobs


def random_layers(job: DropoutJob, n_in: int, device) -> list:
    """Random hidden layers [(W (K, n_in, n_hidden), b (K, n_hidden))] * depth.

    Glorot uniform scaled for the activation (x4 for sigmoid); a member's init depends on its seed
    only, so the variants and lr candidates of one seed start from the same weights.
    """
    seeds = [m.seed for m in job.members]
    layers = []
    for layer in range(job.depth):
        layers.append(init_layer(n_in, job.n_hidden, seeds, layer=layer,
                                 activation=job.activation, device=device))  # fmt: skip
        n_in = job.n_hidden
    return layers


def subset(ds, n_train: int | None, n_valid: int | None) -> dict[str, np.ndarray]:
    """Leading n_train / n_valid examples of the train / valid splits (None = all); whole test."""
    n = {"train": n_train, "valid": n_valid, "test": None}
    out = {}
    for split, k in n.items():
        x, y = ds.split(split)
        out[f"x_{split}"], out[f"y_{split}"] = x[:k], y[:k]
    return out


def run_dropout_job(
    job: DropoutJob, run: RunSettings, data_path: Path, out_dir: Path, *, threads=1, log=print
):
    """Train the population of one activation and write its files; returns members.csv's table.

    members.csv carries its own ``selected`` column (lowest validation error per (activation,
    variant, seed)): the study's selection happens inside the job.
    """
    clock, device = JobClock(), setup_device(run, threads)
    ds = load_dataset(data_path)
    data = subset(ds, job.n_train, job.n_valid)
    init = random_layers(job, data["x_train"].shape[1], device)
    log(f"[dropout_study] {job.activation}: {job.depth} x {job.n_hidden}, K={len(job.members)}, "
        f"n_train={len(data['y_train'])} on {device}")  # fmt: skip
    settings = dataclasses.replace(job.settings, n_classes=ds.n_classes)
    res = finetune(init, data, settings, device=device, log=log)
    out_dir = Path(out_dir)
    n = {s: len(data[f"y_{s}"]) for s in ("train", "valid", "test")}
    info = PopulationInfo(run.study, ds.name, job.depth, job.path, job.n_hidden, job.activation,
                          n["train"], n["valid"], n["test"])  # fmt: skip
    table = member_rows(info, job.members, res.summary, clock.seconds(), extra=("variant",))
    table["selected"] = select_best(table, SELECTION_KEYS, job.settings.tie_break)
    ids = [m.member_id for m in job.members]
    write_population(out_dir, ids, res)
    write_predictions(out_dir, ids, res, data["y_test"])
    write_table(out_dir / layout.MEMBERS, table)
    slice_ = job_slice(run, job=job)
    write_slice(out_dir, slice_)
    rec = job_record("dropout_study", job.path, run.study, ds, device, clock, slice_,
                     method=None, depth=job.depth, group=job.activation,
                     activation=job.activation, n_members=len(job.members),
                     settings=budget_of(job.settings),
                     n_diverged=int(table["diverged"].sum()))  # fmt: skip
    files.write_json(out_dir / layout.RECORD, rec)
    return table
