"""The depth-table study's grid: its config sections expanded into jobs of resolved members.

The experiment of Larochelle et al. (JMLR 2009, sec. 6) crosses data sets, depth (1-4 hidden
layers), initialisation (random, autoencoder, denoising autoencoder, RBM) and hyperparameter
candidates, and
reports, per seed, the candidate with the best validation error. Here:

* a *pretraining job* is one (data set, method, pretraining candidate, hidden width): it trains one
  greedy stack of ``max(depths)`` layers per seed (a population over seeds); shallower nets reuse
  its first d layers. ``none`` is a job too: it writes the random initial stacks, so every
  fine-tuning member starts from a stack file whatever its strategy.
* a *fine-tuning job* is one (data set, depth, hidden width[, pretraining]) -- all of its members
  have the same shapes, so they train together as one population. Members differ in initial weights,
  learning rate, dropout and seed.

Seeds are paired across strategies (the same seed gives the same fine-tuning data order and output
layer initialisation whatever the pretraining), which makes method comparisons less noisy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from layerwise import layout
from layerwise.studies.members import Budget, Member

PRETRAIN_KEYS = {
    "ae": ("lr", "epochs"),
    "dae": ("lr", "epochs", "corruption_level"),
    "rbm": ("lr", "epochs", "cd_k"),
}
_SHORT = {"lr": "lr", "epochs": "e", "corruption_level": "c", "cd_k": "k"}


@dataclass(frozen=True)
class PretrainJob:
    dataset: str
    method: str
    pretrain_id: str  # e.g. "h1000-lr0.01-e10-k1", "h1000" for none
    n_hidden: int
    n_layers: int  # depth of the deepest net of the grid
    seeds: tuple[int, ...]
    settings: dict = field(hash=False, compare=False)  # method settings of this candidate

    @property
    def path(self) -> str:
        return layout.job_id(
            layout.PRETRAIN, dataset=self.dataset, method=self.method, pid=self.pretrain_id
        )


@dataclass(frozen=True)
class FinetuneJob:
    dataset: str
    depth: int
    n_hidden: int
    group: str  # "h{n_hidden}-all" or "h{n_hidden}-{method}"
    members: tuple[Member, ...]
    budget: Budget

    @property
    def path(self) -> str:
        return layout.job_id(
            layout.FINETUNE, dataset=self.dataset, depth=self.depth, group=self.group
        )

    @property
    def pretrain_paths(self) -> list[str]:
        return sorted({pretrain_path(self.dataset, m) for m in self.members})


def pretrain_path(dataset: str, m: Member) -> str:
    """Job id of the pretraining job whose stack member ``m`` starts from."""
    return layout.job_id(layout.PRETRAIN, dataset=dataset, method=m.pretraining, pid=m.pretrain_id)


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def pretrain_candidates(cfg: dict, method: str) -> list[dict]:
    """Product of the list-valued pretraining settings of ``method`` (a dict per candidate)."""
    if method == "none":
        return [{}]
    section = cfg["pretrain"][method]
    keys = PRETRAIN_KEYS[method]
    fixed = {k: v for k, v in section.items() if k not in keys}
    out = []
    for values in itertools.product(*(section[k] for k in keys)):
        cand = dict(zip(keys, values, strict=True))
        cand.update(fixed)
        cand["batch_size"] = cfg["pretrain"]["batch_size"]
        out.append(cand)
    return out


def pretrain_id(method: str, n_hidden: int, cand: dict) -> str:
    parts = [f"h{n_hidden}"] + [
        f"{_SHORT[k]}{_fmt(cand[k])}" for k in PRETRAIN_KEYS.get(method, ())
    ]
    return "-".join(parts)


def pretrain_jobs(cfg: dict) -> list[PretrainJob]:
    grid = cfg["grid"]
    n_layers = max(grid["depths"])
    jobs = []
    for dataset, method, width in itertools.product(
        grid["datasets"], grid["pretraining"], cfg["model"]["n_hidden"]
    ):
        for cand in pretrain_candidates(cfg, method):
            jobs.append(
                PretrainJob(
                    dataset,
                    method,
                    pretrain_id(method, width, cand),
                    width,
                    n_layers,
                    tuple(grid["seeds"]),
                    cand,
                )
            )
    return jobs


def _members(cfg: dict, width: int, methods: list[str]) -> list[Member]:
    """Resolved members of one population: method x pretraining candidate x lr x dropout x seed."""
    grid, do = cfg["grid"], cfg["dropout"]
    max_norm = do["max_norm"] if do["max_norm"] is not None else math.inf
    out = []
    for method in methods:
        for cand in pretrain_candidates(cfg, method):
            pid = pretrain_id(method, width, cand)
            for lr, dropout in itertools.product(cfg["finetune"]["lr"], grid["dropout"]):
                candidate = f"{pid}-ft{_fmt(lr)}"
                for i, seed in enumerate(grid["seeds"]):
                    out.append(Member(
                        f"{method}.{candidate}.do{int(dropout)}.s{seed}", int(seed), float(lr),
                        candidate, momentum=float(cfg["finetune"]["momentum"]), dropout=dropout,
                        p_drop_input=do["p_drop_input"] if dropout else 0.0,
                        p_drop_hidden=do["p_drop_hidden"] if dropout else 0.0,
                        max_norm=float(max_norm) if dropout else math.inf, pretraining=method,
                        pretrain_id=pid, seed_index=i, pretrain=tuple(sorted(cand.items())),
                    ))  # fmt: skip
    return out


def budget(cfg: dict) -> Budget:
    """The fine-tuning budget every population of the grid shares."""
    ft = cfg["finetune"]
    return Budget(
        activation=cfg["model"]["activation"],
        max_epochs=ft["max_epochs"],
        patience=ft["patience"],
        batch_size=ft["batch_size"],
        eval_batch_size=ft["eval_batch_size"],
        record_grad_norms=ft["record_grad_norms"],
    )


def finetune_jobs(cfg: dict) -> list[FinetuneJob]:
    grid = cfg["grid"]
    by_method = grid["grain"] == "dataset-depth-method"
    groups = [[m] for m in grid["pretraining"]] if by_method else [list(grid["pretraining"])]
    jobs = []
    for dataset, depth, width in itertools.product(
        grid["datasets"], grid["depths"], cfg["model"]["n_hidden"]
    ):
        for methods in groups:
            name = f"h{width}-{methods[0] if by_method else 'all'}"
            members = tuple(_members(cfg, width, methods))
            jobs.append(FinetuneJob(dataset, depth, width, name, members, budget(cfg)))
    return jobs
