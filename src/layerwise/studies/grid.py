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
layer initialisation whatever the pretraining), which makes method comparisons less noisy. Every
cell trains ``grid.seeds``; the claims' primary cells (docs/claims.md) also train
``grid.primary_seeds``, so that their tests over seeds have the power the protocol asks for.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from layerwise import layout
from layerwise.config import dataset_config
from layerwise.engine.finetune import FinetuneSettings
from layerwise.studies.members import Member, population_settings

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
    settings: FinetuneSettings  # the engine's, of these members (n_classes: the job runner's)

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
    if method == "none":  # one candidate: the random init (its scheme, if not the default)
        init = cfg["pretrain"].get("none", {}).get("init", "glorot")
        return [{} if init == "glorot" else {"init": init}]
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
    """E.g. "h1000-lr0.01-e10"; "h1000" for none ("h1000-ifan-in" with the fan-in init)."""
    parts = [f"h{n_hidden}"] + [
        f"{_SHORT[k]}{_fmt(cand[k])}" for k in PRETRAIN_KEYS.get(method, ())
    ]
    if "init" in cand:
        parts.append(f"i{cand['init']}")
    return "-".join(parts)


def scaled_epochs(epochs: int, n_train: int, reference_n: int | None) -> int:
    """Epochs that give a set of ``n_train`` examples the updates of ``epochs`` epochs at
    ``reference_n`` examples, so that a budget means the same number of updates on every data set
    (a 1000-example set is not under-trained next to a 10000-example one); None: as is."""
    if reference_n is None or epochs == 0:
        return int(epochs)
    return max(1, round(epochs * reference_n / n_train))


def _n_train(cfg: dict, dataset: str) -> int:
    return int(cfg["data"]["datasets"][dataset]["n_train"])


def _pretrain_settings(cfg: dict, dataset: str, cand: dict) -> dict:
    """A candidate's settings on ``dataset``: epochs scaled by pretrain.budget_reference_n."""
    if "epochs" not in cand:
        return dict(cand)
    ref = dataset_config(cfg, dataset)["pretrain"]["budget_reference_n"]
    return {**cand, "epochs": scaled_epochs(cand["epochs"], _n_train(cfg, dataset), ref)}


def all_seeds(grid: dict) -> tuple[int, ...]:
    """grid.seeds then grid.primary_seeds: the seeds of the pretraining populations."""
    return tuple(dict.fromkeys([*grid["seeds"], *grid.get("primary_seeds", [])]))


def primary_cell(cfg: dict, depth: int, method: str, dropout: bool) -> bool:
    """A primary cell of the claims (docs/claims.md): at claims.primary_depth every pretraining
    without dropout and no pretraining with dropout (claim 7); none at depth 1 without dropout
    (claim 1)."""
    at = cfg.get("claims", {}).get("primary_depth", 3)
    if depth == at:
        return not dropout or method == "none"
    return depth == 1 and method == "none" and not dropout


def pretrain_jobs(cfg: dict) -> list[PretrainJob]:
    grid = cfg["grid"]
    n_layers = max(grid["depths"])
    jobs = []
    for dataset, method, width in itertools.product(
        grid["datasets"], grid["pretraining"], cfg["model"]["n_hidden"]
    ):
        for cand in pretrain_candidates(dataset_config(cfg, dataset), method):
            jobs.append(
                PretrainJob(
                    dataset,
                    method,
                    pretrain_id(method, width, cand),  # named by the configured candidate
                    width,
                    n_layers,
                    all_seeds(grid),
                    _pretrain_settings(cfg, dataset, cand),
                )
            )
    return jobs


def _momenta(cfg: dict) -> list[float]:
    mom = cfg["finetune"]["momentum"]
    return [float(m) for m in mom] if isinstance(mom, list) else [float(mom)]


def _members(cfg: dict, dataset: str, width: int, methods: list[str], depth: int) -> list[Member]:
    """Resolved members of one population: method x pretraining candidate x lr x output lr x
    momentum x dropout x seed (grid.seeds, plus grid.primary_seeds in a primary cell), with
    ``dataset``'s settings (per_dataset). Dropout members train
    with (output) lr x dropout.lr_scale and dropout.momentum (if set) (Srivastava et al. 2014,
    A.2); the candidate id names the configured lr, output lr and momentum."""
    cfg = dataset_config(cfg, dataset)
    grid, do = cfg["grid"], cfg["dropout"]
    max_norm = do["max_norm"] if do["max_norm"] is not None else math.inf
    moms = _momenta(cfg)
    out_lrs = cfg["finetune"]["output_lr"] or [None]  # None: the output layer at lr
    out = []
    for method in methods:
        for cand in pretrain_candidates(cfg, method):
            pid = pretrain_id(method, width, cand)
            pre = tuple(sorted(_pretrain_settings(cfg, dataset, cand).items()))
            combos = itertools.product(cfg["finetune"]["lr"], out_lrs, moms, grid["dropout"])
            for lr, out_lr, mom, dropout in combos:
                candidate = (
                    f"{pid}-ft{_fmt(lr)}"
                    + (f"-out{_fmt(out_lr)}" if out_lr is not None else "")
                    + (f"-m{_fmt(mom)}" if len(moms) > 1 else "")
                )
                scale = do["lr_scale"] if dropout else 1.0
                lr_m = float(lr) * scale
                out_m = None if out_lr is None else float(out_lr) * scale
                mom_m = mom if not dropout or do["momentum"] is None else float(do["momentum"])
                seeds = all_seeds(grid) if primary_cell(cfg, depth, method, dropout) \
                    else tuple(grid["seeds"])  # fmt: skip
                for seed in seeds:
                    i = all_seeds(grid).index(seed)  # its stack in the pretraining population
                    out.append(Member(
                        f"{method}.{candidate}.do{int(dropout)}.s{seed}", int(seed), lr_m,
                        candidate, output_lr=out_m, momentum=mom_m, dropout=dropout,
                        p_drop_input=do["p_drop_input"] if dropout else 0.0,
                        p_drop_hidden=do["p_drop_hidden"] if dropout else 0.0,
                        max_norm=float(max_norm) if dropout else math.inf, pretraining=method,
                        pretrain_id=pid, seed_index=i, pretrain=pre,
                    ))  # fmt: skip
    return out


def budget(cfg: dict, dataset: str) -> dict:
    """The fine-tuning budget of the grid's populations on ``dataset`` (members.BUDGET_FIELDS;
    epoch counts scaled by finetune.budget_reference_n), with ``dataset``'s settings
    (per_dataset)."""
    ft = dataset_config(cfg, dataset)["finetune"]
    n, ref, halving = _n_train(cfg, dataset), ft["budget_reference_n"], ft["halving"] or {}
    return dict(
        activation=cfg["model"]["activation"],
        max_epochs=scaled_epochs(ft["max_epochs"], n, ref),
        patience=scaled_epochs(ft["patience"], n, ref),
        batch_size=ft["batch_size"],
        eval_batch_size=ft["eval_batch_size"],
        record_grad_norms=ft["record_grad_norms"],
        min_epochs=scaled_epochs(ft["min_epochs"], n, ref),
        min_improvement=float(ft["min_improvement"]),
        halving_rungs=tuple(sorted({scaled_epochs(r, n, ref) for r in halving.get("rungs", [])})),
        halving_eta=int(halving.get("eta", 3)),
        blowup_factor=float(ft["blowup_factor"]),
        tie_break=ft["tie_break"],
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
            members = tuple(_members(cfg, dataset, width, methods, depth))
            settings = population_settings(members, **budget(cfg, dataset))
            jobs.append(FinetuneJob(dataset, depth, width, name, members, settings))
    return jobs
