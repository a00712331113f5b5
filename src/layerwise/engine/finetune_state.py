"""Per-member fine-tuning state: the compacted training population and early stopping.

Larochelle et al. (JMLR 2009) sec. 6 fine-tune with early stopping on the validation error: the
parameters of the epoch with the lowest validation error are kept, and training stops once no
improvement was seen for a while. Here each of the K members of a population does this on its
own (layerwise.engine.finetune documents the rules):
  * `Tracker` holds the per-member best validation error, best epoch, best-parameter snapshot,
    active flag and divergence epoch, and freezes stopped or diverged members at their
    best-so-far parameters;
  * `Members` keeps only the still-training members in the SGD step, so a stopped member costs
    nothing, and writes their parameters back to the full (K, ...) tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from layerwise.engine import population as pop


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


@dataclass
class Tracker:
    """Per-member early-stopping and divergence state (all tensors (K,) on the device)."""

    best_params: list
    best_valid: torch.Tensor
    best_epoch: torch.Tensor
    active: torch.Tensor
    diverged_epoch: torch.Tensor

    @classmethod
    def start(cls, params: list, k: int, device: torch.device | str) -> Tracker:
        return cls(
            [p.clone() for p in params],
            torch.full((k,), float("inf"), device=device),
            torch.zeros(k, dtype=torch.int64, device=device),
            torch.ones(k, dtype=torch.bool, device=device),
            torch.zeros(k, dtype=torch.int64, device=device),
        )

    def update(
        self, params: list, loss: torch.Tensor, valid: torch.Tensor, epoch: int, patience: int
    ) -> None:
        """After `epoch`: record divergence, snapshot improved members, stop impatient ones."""
        finite = pop.finite_members(loss, params)
        bad = self.active & ~finite
        self.diverged_epoch[bad] = epoch
        # freeze at best-so-far: newly diverged and (see pop.sgd_step) earlier stopped members
        pop.restore_members(params, self.best_params, ~self.active | bad)
        improved = self.active & finite & (valid < self.best_valid)
        self.best_valid = torch.where(improved, valid, self.best_valid)
        self.best_epoch = torch.where(improved, epoch, self.best_epoch)
        pop.restore_members(self.best_params, params, improved)
        self.active &= finite & (epoch - self.best_epoch < patience)

    def summary(self, errors: dict[str, np.ndarray], epochs_run: np.ndarray) -> pd.DataFrame:
        """One row per member; errors: split -> (K,) clean error rates of the best parameters."""
        best_epoch = self.best_epoch.cpu().numpy()
        never = best_epoch == 0  # diverged before any epoch finished
        div = self.diverged_epoch.cpu().numpy()
        return pd.DataFrame(
            {
                "member": np.arange(len(best_epoch)),
                "best_epoch": best_epoch,
                "epochs_run": epochs_run,
                **{f"{sp}_error": np.where(never, np.nan, e) for sp, e in errors.items()},
                "diverged": div > 0,
                "diverged_epoch": np.where(div > 0, div, np.nan),
            }
        )
