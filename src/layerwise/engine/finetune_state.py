"""Per-member fine-tuning state: the compacted training population and early stopping.

Larochelle et al. (JMLR 2009) sec. 6 fine-tune with early stopping on the validation error: the
parameters of the epoch with the lowest validation error are kept, and training stops once no
improvement was seen for a while. Here each of the K members of a population does this on its
own (layerwise.engine.finetune documents the rules):
  * `Tracker` holds the per-member best validation error, best epoch, best-parameter snapshot,
    active flag and divergence epoch, and freezes stopped or diverged members at their
    best-so-far parameters;
  * `Members` keeps only the still-training members in the SGD step, so a stopped member costs
    nothing, and writes their parameters back to the full (K, ...) tensors;
  * `Tracker.prune` is successive halving (Jamieson & Talwalkar 2016; Li et al. 2018): at a rung,
    within each group of members that compete for one selection, only the best 1/eta by
    validation error so far stay in the race; the others still training stop there ("pruned").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from layerwise.engine import population as pop
from layerwise.metrics import check_tie_break


class MemberSettings(Protocol):
    """What `Members` needs of the settings (layerwise.engine.finetune.FinetuneSettings has it)."""

    seeds: list[int]
    cuda_graphs: bool | None

    def subset(self, members: Sequence[int]) -> MemberSettings: ...


# make_step(params, settings, device, velocity) -> step(xb, yb, counter, active), with the
# momentum buffers (or None) as step.velocity; see layerwise.engine.finetune._make_step.
StepFactory = Callable[[list, MemberSettings, torch.device, list | None], Callable]


class Members:
    """The members still training, compacted: a stopped or diverged member costs nothing.

    While all K train, the step updates `full` in place. Once some stop, the active ones are
    gathered into smaller tensors (K' members) and written back after every epoch. Every member's
    random streams are keyed by its own seed, so compaction changes no member's numbers (the
    population-equivalence property). On CUDA the step is captured in a CUDA graph
    (populations.cuda_graph_step), recaptured when the population shrinks.
    """

    def __init__(
        self,
        full: list,
        s: MemberSettings,
        device: torch.device,
        log: Callable[[str], None],
        make_step: StepFactory,
    ):
        self.full, self.s_full, self.device, self.log = full, s, device, log
        self.make_step = make_step
        self.graphs = device.type == "cuda" if s.cuda_graphs is None else bool(s.cuda_graphs)
        self.members, self.velocity = np.arange(len(s.seeds)), None
        self._build(self.members, full)

    def _build(self, members: np.ndarray, params: list) -> None:
        self.s = self.s_full.subset(members.tolist())
        self.params = params
        step = self.make_step(params, self.s, self.device, self.velocity)
        self.velocity, self.step = step.velocity, step
        self.keys = pop.member_keys(self.s.seeds, pop.STREAM_ORDER, device=self.device)
        self.active = torch.ones(len(members), dtype=torch.bool, device=self.device)
        if self.graphs:
            self.step = pop.cuda_graph_step(step, params + (self.velocity or []), self.log)

    def shrink_to(self, active: np.ndarray) -> None:
        """Keep only the members active now (active: (K,) bool on the host)."""
        keep = np.nonzero(active[self.members])[0]  # positions within the current subset
        if len(keep) == len(self.members) or len(keep) == 0:
            return
        pos = torch.as_tensor(keep, device=self.device)
        if self.velocity is not None:
            self.velocity = [v[pos] for v in self.velocity]
        self.members = self.members[keep]
        idx = torch.as_tensor(self.members, device=self.device)
        self._build(self.members, [p[idx] for p in self.full])

    def write_back(self) -> None:
        if len(self.members) < len(self.s_full.seeds):
            idx = torch.as_tensor(self.members, device=self.device)
            for p, q in zip(self.full, self.params, strict=True):
                p[idx] = q

    def expand(self, values: torch.Tensor) -> torch.Tensor:
        """(..., K') per-member values -> (..., K), NaN for members not training."""
        if len(self.members) == len(self.s_full.seeds):
            return values
        out = torch.full((*values.shape[:-1], len(self.s_full.seeds)), float("nan"))
        out[..., torch.as_tensor(self.members)] = values.to(out.device, torch.float32)
        return out.to(values.device)


#: A member whose mean training loss in an epoch exceeds blowup_factor x ln(n_classes) -- the
#: loss of a uniform prediction, where fine-tuning starts (zero output layer) -- has diverged
#: although its numbers are finite (sigmoid at lr 1e6 reaches ~2e6). It is frozen like a NaN one.
#: The default, 100 (69 nats on two classes), leaves alone the transient overshoot of a wide layer
#: at a high learning rate (up to ~26 nats in the first epoch on rectangles at 1000 units, lr 3,
#: from which those members recover to the best results; 10 x ln 2 = 6.9 nats stopped them:
#: docs/choices.md).
BLOWUP_FACTOR = 100.0
#: A member whose clean training error is at least this fraction of chance, 1 - 1/n_classes, after
#: its budget learned nothing: it is flagged ("chance") and never selected as a result.
CHANCE_FRACTION = 0.95


@dataclass
class Tracker:
    """Per-member early-stopping and divergence state (all tensors (K,) on the device)."""

    best_params: list
    best_valid: torch.Tensor
    best_epoch: torch.Tensor
    active: torch.Tensor
    diverged_epoch: torch.Tensor
    clock_valid: torch.Tensor | None = None  # validation error at the last patience restart
    clock_epoch: torch.Tensor | None = None  # epoch of the last patience restart
    loss_limit: float = math.inf  # a finite epoch loss above this is a blow-up (diverged)
    blew_up: torch.Tensor | None = None  # (K,) bool: diverged by a finite blow-up
    pruned_epoch: torch.Tensor | None = None  # (K,) int64: rung that stopped the member, 0 = none
    out_of_race: torch.Tensor | None = None  # (K,) bool: dropped at a rung (stopped or not)
    best_loss: torch.Tensor | None = None  # (K,) validation NLL of the best parameters
    # "valid_loss": an equal validation error with a lower validation NLL also counts as better
    # (for the best epoch and at halving rungs); "first": it does not (ties to the earlier)
    tie_break: str = "valid_loss"

    def __post_init__(self) -> None:
        check_tie_break(self.tie_break)
        if self.best_loss is None:
            self.best_loss = torch.full_like(self.best_valid, float("inf"))
        if self.blew_up is None:
            self.blew_up = torch.zeros_like(self.active)
        if self.pruned_epoch is None:
            self.pruned_epoch = torch.zeros_like(self.best_epoch)
        if self.out_of_race is None:
            self.out_of_race = torch.zeros_like(self.active)
        if self.clock_valid is None:
            self.clock_valid = self.best_valid.clone()
        if self.clock_epoch is None:
            self.clock_epoch = self.best_epoch.clone()

    @classmethod
    def start(
        cls,
        params: list,
        k: int,
        device: torch.device | str,
        blowup_factor: float = BLOWUP_FACTOR,
        tie_break: str = "valid_loss",
    ) -> Tracker:
        return cls(
            [p.clone() for p in params],
            torch.full((k,), float("inf"), device=device),
            torch.zeros(k, dtype=torch.int64, device=device),
            torch.ones(k, dtype=torch.bool, device=device),
            torch.zeros(k, dtype=torch.int64, device=device),
            loss_limit=blowup_factor * math.log(params[-1].shape[-1]),  # b_out: (K, n_classes)
            tie_break=tie_break,
        )

    def update(
        self,
        params: list,
        loss: torch.Tensor,
        valid: torch.Tensor,
        epoch: int,
        patience: int,
        *,
        min_epochs: int = 0,
        min_improvement: float = 0.0,
        valid_loss: torch.Tensor | None = None,
    ) -> None:
        """After `epoch`: record divergence, snapshot improved members, stop impatient ones.

        Any strictly lower validation error is snapshotted (the best parameters), and with
        tie_break "valid_loss" an equal error at a strictly lower ``valid_loss`` (validation NLL,
        (K,); None counts as no tie-break) too; the patience
        clock restarts only on an improvement of at least ``min_improvement`` (relative) over the
        error at its last restart (the Theano tutorials' improvement_threshold = 0.995 is
        min_improvement = 0.005); no member stops before ``min_epochs``. With the defaults both
        rules coincide with plain "patience epochs without a strictly lower error".
        """
        finite = pop.finite_members(loss, params)
        blown = finite & (loss > self.loss_limit)  # finite, but far above the starting loss
        self.blew_up |= self.active & blown
        finite &= ~blown
        bad = self.active & ~finite
        self.diverged_epoch[bad] = epoch
        # freeze at best-so-far: newly diverged and (see pop.sgd_step) earlier stopped members
        pop.restore_members(params, self.best_params, ~self.active | bad)
        better = valid < self.best_valid
        if valid_loss is not None and self.tie_break == "valid_loss":
            better |= (valid == self.best_valid) & (valid_loss < self.best_loss)
        improved = self.active & finite & better
        self.best_valid = torch.where(improved, valid, self.best_valid)
        if valid_loss is not None:
            self.best_loss = torch.where(improved, valid_loss, self.best_loss)
        self.best_epoch = torch.where(improved, epoch, self.best_epoch)
        pop.restore_members(self.best_params, params, improved)
        clock = improved & (valid < self.clock_valid * (1.0 - min_improvement))
        self.clock_valid = torch.where(clock, valid, self.clock_valid)
        self.clock_epoch = torch.where(clock, epoch, self.clock_epoch)
        self.active &= finite & ((epoch - self.clock_epoch < patience) | (epoch < min_epochs))

    def prune(self, groups: Sequence[int], eta: int, epoch: int) -> int:
        """Successive halving at rung ``epoch`` -> the number of members it stopped.

        Within each group (``groups[m]``: the group of member m), the members still in the race
        (not dropped at an earlier rung, not diverged) are ranked by their best validation error
        so far, ties by its validation NLL (tie_break "valid_loss"), then to the lower member
        index (as selection breaks them); the first
        ceil(n / eta) stay in the race, the rest leave it. Those of them still training stop now
        and record ``pruned_epoch``; those that had stopped already keep their own stopping
        epoch. A kept member's best error is never above a dropped one's, and stays so (it only
        falls), so halving never removes the member that the full search would select -- except
        when a kept member diverges later (then the best dropped one is still a result).
        """
        if eta < 2:
            raise ValueError(f"halving eta must be >= 2, got {eta}")
        groups = np.asarray(groups)
        if groups.shape != (len(self.active),):
            raise ValueError(f"halving groups: need {len(self.active)} entries, got {groups.shape}")
        best = self.best_valid.cpu().numpy()
        loss = self.best_loss.cpu().numpy()
        if self.tie_break == "first":
            loss = np.zeros_like(loss)
        racing = ~self.out_of_race.cpu().numpy() & (self.diverged_epoch.cpu().numpy() == 0)
        drop = np.zeros(len(best), dtype=bool)
        for g in np.unique(groups):
            idx = np.nonzero((groups == g) & racing)[0]
            order = idx[np.lexsort((idx, loss[idx], best[idx]))]  # error, NLL, member index
            drop[order[math.ceil(len(idx) / eta) :]] = True
        dropped = torch.as_tensor(drop, device=self.active.device)
        stopped_now = dropped & self.active
        self.pruned_epoch = torch.where(stopped_now, epoch, self.pruned_epoch)
        self.active &= ~dropped
        self.out_of_race |= dropped
        return int(stopped_now.sum())

    def may_be_selected(
        self, groups: Sequence[int], train_error: np.ndarray, valid_error: np.ndarray
    ) -> np.ndarray:
        """(K,) bool: the members that selection on the validation error can still choose.

        Every member still in the race after successive halving, and every member of a group
        (``groups[m]``) whose members still in the race all failed -- diverged (also before any
        epoch), a non-finite clean ``valid_error``, or at chance by ``train_error``, the flags
        ``summary`` reports: a dropped member ranks behind each member kept in its group
        (``prune``), so it is chosen only when none of them is usable. Without halving every
        member may be selected.
        """
        failed = (
            (self.best_epoch.cpu().numpy() == 0)
            | (self.diverged_epoch.cpu().numpy() > 0)
            | ~np.isfinite(np.asarray(valid_error, dtype=float))
            | self.at_chance(train_error)
        )
        groups = np.asarray(groups)
        racing = ~self.out_of_race.cpu().numpy()
        keep = racing.copy()
        for g in np.unique(groups):
            idx = groups == g
            if not (idx & racing & ~failed).any():
                keep |= idx
        return keep

    def summary(self, errors: dict[str, np.ndarray], epochs_run: np.ndarray) -> pd.DataFrame:
        """One row per member; errors: split -> (K,) clean error rates of the best parameters."""
        best_epoch = self.best_epoch.cpu().numpy()
        never = best_epoch == 0  # diverged before any epoch finished
        div = self.diverged_epoch.cpu().numpy()
        pruned = self.pruned_epoch.cpu().numpy()
        loss = self.best_loss.cpu().numpy().astype(float)
        return pd.DataFrame(
            {
                "member": np.arange(len(best_epoch)),
                "best_epoch": best_epoch,
                "epochs_run": epochs_run,
                **{f"{sp}_error": np.where(never, np.nan, e) for sp, e in errors.items()},
                "valid_loss": np.where(never | ~np.isfinite(loss), np.nan, loss),
                "diverged": div > 0,
                "diverged_epoch": np.where(div > 0, div, np.nan),
                "blew_up": self.blew_up.cpu().numpy(),
                "pruned_epoch": np.where(pruned > 0, pruned, np.nan),
                "at_chance": self.at_chance(errors.get("train")),
            }
        )

    def at_chance(self, train_error: np.ndarray | None) -> np.ndarray:
        """(K,) bool: a member that did not diverge but whose clean training error of the kept
        parameters is at chance after the budget: >= CHANCE_FRACTION (1 - 1/n_classes)."""
        div = self.diverged_epoch.cpu().numpy() > 0
        n_classes = self.best_params[-1].shape[-1]
        train = np.full(div.shape, np.nan) if train_error is None else np.asarray(train_error)
        with np.errstate(invalid="ignore"):
            return ~div & (train >= CHANCE_FRACTION * (1.0 - 1.0 / n_classes))
