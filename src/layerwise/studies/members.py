"""The resolved member: every setting one fine-tuned net trains with, decided by its study's grid.

Every study (the depth table, the dropout study) expands its config section into a list of
:class:`Member` records; below this point nobody reads the config. A job is a population of
members that share shapes and a budget (:data:`BUDGET_FIELDS`); :func:`population_settings` is the
one place that turns them into the engine's :class:`~layerwise.engine.finetune.FinetuneSettings`,
which the job carries, :func:`member_rows` the one place that turns a finished population into
rows of the results table (``layerwise.layout.MEMBER_COLUMNS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layerwise.engine.finetune import FinetuneSettings
from layerwise.layout import MEMBER_COLUMNS
from layerwise.metrics import binomial_ci95


@dataclass(frozen=True)
class Member:
    """One fine-tuned net, fully resolved (hashable; its repr is part of the job's identity)."""

    member_id: str  # unique within its job
    seed: int
    lr: float
    candidate: str  # hyperparameter candidate id, the same across seeds
    output_lr: float | None = None  # the output layer's learning rate (None: lr)
    momentum: float = 0.0
    dropout: bool = False
    p_drop_input: float = 0.0
    p_drop_hidden: float = 0.0
    max_norm: float = math.inf  # inf = off
    pretraining: str = "none"
    pretrain_id: str = "none"
    seed_index: int = 0  # index of the seed in its pretraining job's population
    pretrain: tuple[tuple[str, object], ...] = field(default=())  # pretraining settings (sorted)
    variant: str = ""  # the dropout study's variant (plain | dropout | dropout-maxnorm)

    @property
    def pretrain_settings(self) -> dict:
        return dict(self.pretrain)


#: The fields of FinetuneSettings that a study sets for a whole population from its config: shapes,
#: budget, evaluation (the rest are per member, from the members, or the engine's defaults). A
#: job's config slice names them ``budget`` and its record ``settings`` (:func:`budget_of`).
BUDGET_FIELDS = ("activation", "max_epochs", "patience", "batch_size", "eval_batch_size",
                 "record_grad_norms", "min_epochs", "min_improvement", "halving_rungs",
                 "halving_eta", "blowup_factor", "tie_break")  # fmt: skip


def halving_groups(members) -> list[int]:
    """Member -> its halving group: the members that compete for one selection (the same
    pretraining method, dropout, dropout-study variant and seed; they differ only in candidate)."""
    keys: dict[tuple, int] = {}
    return [
        keys.setdefault((m.pretraining, m.dropout, m.variant, m.seed), len(keys)) for m in members
    ]


def population_settings(members, **budget) -> FinetuneSettings:
    """The engine's settings of a population: per-member fields from the members, the budget
    (:data:`BUDGET_FIELDS`; halving_rungs a tuple) shared. ``n_classes`` is the data set's: the job
    runner sets it (``dataclasses.replace``)."""
    unknown = set(budget) - set(BUDGET_FIELDS)
    if unknown:
        raise TypeError(f"not budget fields: {sorted(unknown)}")
    return FinetuneSettings(
        seeds=[m.seed for m in members],
        lr=[m.lr for m in members],
        output_lr=(
            None
            if all(m.output_lr is None for m in members)
            else [m.lr if m.output_lr is None else m.output_lr for m in members]
        ),
        momentum=[m.momentum for m in members],
        p_drop_input=[m.p_drop_input for m in members],
        p_drop_hidden=[m.p_drop_hidden for m in members],
        max_norm=[m.max_norm for m in members],
        halving_groups=halving_groups(members) if budget.get("halving_rungs") else None,
        **budget,
    )


def budget_of(settings: FinetuneSettings) -> dict:
    """The budget of a population's settings (:data:`BUDGET_FIELDS`, in that order)."""
    return {name: getattr(settings, name) for name in BUDGET_FIELDS}


@dataclass(frozen=True)
class PopulationInfo:
    """Job-level values of the rows: which study, data set, architecture, sizes, wall time."""

    study: str
    dataset: str
    depth: int
    job_id: str
    n_hidden: int
    activation: str
    n_train: int
    n_valid: int
    n_test: int


def fail_reason(summary_row: dict) -> str:
    """Why a member failed, from the engine's summary flags: "blow-up" (a finite loss far above
    the start), "non-finite" (NaN/inf), "chance" (training error at chance), or "" (it did not)."""
    if summary_row.get("blew_up", False):
        return "blow-up"
    if summary_row.get("diverged", False):
        return "non-finite"
    return "chance" if summary_row.get("at_chance", False) else ""


def member_rows(
    info: PopulationInfo, members, summary: pd.DataFrame, wall: float, *, extra=()
) -> pd.DataFrame:
    """members.csv: one row per member in MEMBER_COLUMNS order (+ ``extra`` Member fields last).

    ``summary`` is the engine's per-member summary (best_epoch, epochs_run, train/valid/test_error,
    diverged, diverged_epoch), in member order.
    """
    rows = []
    for m, s in zip(members, summary.to_dict("records"), strict=True):
        pre = m.pretrain_settings
        row = {
            "study": info.study,
            "dataset": info.dataset,
            "depth": info.depth,
            "pretraining": m.pretraining,
            "dropout": m.dropout,
            "seed": m.seed,
            "candidate": m.candidate,
            "member_id": m.member_id,
            "job_id": info.job_id,
            "pretrain_id": m.pretrain_id,
            "n_hidden": info.n_hidden,
            "activation": info.activation,
            "lr": m.lr,
            "output_lr": np.nan if m.output_lr is None else m.output_lr,
            "momentum": m.momentum,
            "p_drop_input": m.p_drop_input,
            "p_drop_hidden": m.p_drop_hidden,
            "max_norm": m.max_norm if math.isfinite(m.max_norm) else np.nan,
            "pretrain_lr": pre.get("lr", np.nan),
            "pretrain_epochs": pre.get("epochs", np.nan),
            "corruption_level": pre.get("corruption_level", np.nan),
            "cd_k": pre.get("cd_k", np.nan),
            "epochs_run": s["epochs_run"],
            "best_epoch": s["best_epoch"],
            "train_error": s["train_error"],
            "valid_error": s["valid_error"],
            "valid_loss": s.get("valid_loss", np.nan),
            "test_error": s["test_error"],
            "n_train": info.n_train,
            "n_valid": info.n_valid,
            "n_test": info.n_test,
            "test_ci95": float(binomial_ci95(s["test_error"], info.n_test)),
            "diverged": bool(s["diverged"]),
            "diverged_epoch": s["diverged_epoch"],
            "pruned_epoch": s.get("pruned_epoch", np.nan),
            "fail_reason": fail_reason(s),
            "wall_time_s": wall,
        }
        row.update({name: getattr(m, name) for name in extra})
        rows.append(row)
    return pd.DataFrame(rows, columns=[*MEMBER_COLUMNS, *extra])
