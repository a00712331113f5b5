"""Supervised fine-tuning of K MLPs at once, with early stopping, dropout and max-norm.

Larochelle et al. (JMLR 2009) sec. 4 and 6: the pretrained (or randomly initialised) hidden layers
get a softmax output layer and the whole net is trained by minibatch SGD on the NLL, with early
stopping on the validation error. Srivastava et al. (JMLR 2014) sec. 4-5: dropout on input and
hidden units and max-norm; see layerwise.engine.mlp for the conventions (inverted dropout,
hidden columns only).

Per member: seed (data order, dropout masks, output-layer init), lr, output_lr (the output layer's
rate; None = lr), momentum, p_drop_input, p_drop_hidden, max_norm. Choices (documented here,
parameters where it matters):
  * output layer initialised to zeros (the tutorial's LogisticRegression) or Glorot uniform;
  * only full minibatches (N // batch_size per epoch; the order changes every epoch);
  * history train_loss / train_error are running means over the epoch's minibatches as trained (with
    dropout on); valid_error and valid_loss (mean NLL) are a clean evaluation after the epoch;
    grad_norm_l{i} is the mean over the epoch's minibatches of ||dNLL/dW_i||_F (the gradient
    reaching layer i; Glorot & Bengio 2010);
  * early stopping per member: a member stops when `patience` epochs passed without a lower
    validation error (lower by `min_improvement`, relative, to restart the clock; never before
    `min_epochs`); its best-epoch parameters (any strictly lower error; with tie_break
    "valid_loss" also an equal error at a lower validation NLL) are kept; a stopped
    member is frozen, the loop ends when all members stopped or after max_epochs (state:
    layerwise.engine.finetune_state);
  * successive halving (optional, `halving_rungs`): after each rung epoch, within each group of
    `halving_groups` only the best ceil(n / halving_eta) members by validation error so far stay
    in the race; the others stop there (summary: pruned_epoch). Compaction changes no member's
    numbers, so a member that survives trains exactly as it would in the full search;
  * divergence (NaN/inf loss or parameters, checked once per epoch): the member is frozen at its
    best-so-far parameters and reported with the epoch; if that was epoch 1, its errors are NaN;
  * the summary's train/valid/test errors are clean evaluations of the best parameters.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from layerwise.device import bf16_products, resolve_precision, uses_bf16
from layerwise.engine import loop, mlp
from layerwise.engine import population as pop
from layerwise.engine.finetune_state import BLOWUP_FACTOR, Members, Tracker
from layerwise.engine.layers import ACTIVATIONS, init_layer
from layerwise.metrics import check_tie_break

Layers = Sequence[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class FinetuneSettings:
    """Fine-tuning hyperparameters. K = len(seeds); per-member fields take a scalar or K values."""

    seeds: list[int]
    lr: float | list[float] = 0.1
    # the output layer's learning rate (None: lr). Its step sums over the hidden units, so a wide
    # last hidden layer wants a smaller rate there than the hidden layers (docs/choices.md)
    output_lr: float | list[float] | None = None
    momentum: float | list[float] = 0.0
    p_drop_input: float | list[float] = 0.0
    p_drop_hidden: float | list[float] = 0.0
    max_norm: float | list[float] = float("inf")  # inf = off
    max_epochs: int = 100
    patience: int = 10
    min_epochs: int = 0  # no member stops before (early stopping may fire from then on)
    min_improvement: float = 0.0  # relative improvement that restarts the patience clock
    batch_size: int = 20
    activation: str = "sigmoid"
    n_classes: int = 10
    eval_batch_size: int = 2000  # the config schema's default (tests/test_schema_defaults.py)
    record_grad_norms: bool = True
    output_init: str = "zeros"  # or "glorot"
    cuda_graphs: bool | None = None  # capture whole steps in CUDA graphs; None = on for CUDA only
    # "float32" | "bf16" | "tf32" | "auto": dtype of the step's weight products (device.py); None
    # follows the process-wide mode (layerwise.device.configure_precision, set by the job)
    precision: str | None = None
    # successive halving: after each epoch listed in halving_rungs, keep the best
    # ceil(n / halving_eta) of each group's members in the race (Tracker.prune); halving_groups[m]
    # is member m's group (the members that compete for one selection; None = all one group)
    halving_rungs: tuple[int, ...] = ()
    halving_eta: int = 3
    halving_groups: list[int] | None = None
    # a finite epoch loss above blowup_factor x ln(n_classes) is a blow-up (finetune_state)
    blowup_factor: float = BLOWUP_FACTOR
    # equal validation errors: "valid_loss" = the lower validation NLL wins (best epoch, halving
    # rungs), "first" = the earlier one (layerwise.metrics.TIE_BREAKS)
    tie_break: str = "valid_loss"

    _RANGES = {
        "lr": (0.0, np.inf, False),
        "output_lr": (0.0, np.inf, False),
        "momentum": (0.0, 1.0, True),
        "p_drop_input": (0.0, 1.0, True),
        "p_drop_hidden": (0.0, 1.0, True),
        "max_norm": (0.0, np.inf, False),
    }

    def tensor(self, name: str, device) -> torch.Tensor:
        """Per-member field as (K,) float32, checked against its legal range."""
        lo, hi, hi_open = self._RANGES[name]
        value = getattr(self, name)
        if name == "output_lr" and value is None:
            value = self.lr
        vals = pop.per_member(
            value,
            len(self.seeds),
            name,
            low=lo,
            high=hi,
            high_open=hi_open,
            low_open=(name == "max_norm"),
        )
        return torch.tensor(vals, dtype=torch.float32, device=device)

    def validate(self) -> None:
        if not self.seeds:
            raise ValueError("seeds: need at least one member")
        for name in self._RANGES:
            self.tensor(name, "cpu")
        if (
            self.max_epochs < 1
            or self.patience < 1
            or self.batch_size < 1
            or self.eval_batch_size < 1
        ):
            raise ValueError("max_epochs, patience, batch_size, eval_batch_size must be >= 1")
        check_tie_break(self.tie_break)
        if not self.blowup_factor > 1.0:
            raise ValueError(f"blowup_factor must be > 1, got {self.blowup_factor}")
        if self.min_epochs < 0 or not 0.0 <= self.min_improvement < 1.0:
            raise ValueError(
                f"min_epochs must be >= 0 and min_improvement in [0, 1); got {self.min_epochs}, "
                f"{self.min_improvement}"
            )
        if self.activation not in ACTIVATIONS or self.output_init not in ("zeros", "glorot"):
            raise ValueError(
                f"activation must be in {sorted(ACTIVATIONS)}, output_init in ('zeros', 'glorot')"
            )
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        if self.precision is not None:
            resolve_precision(self.precision)
        rungs = list(self.halving_rungs)
        if rungs and (rungs != sorted(set(rungs)) or rungs[0] < 1 or self.halving_eta < 2):
            raise ValueError(
                f"halving_rungs must be increasing epochs >= 1 and halving_eta >= 2; got {rungs}, "
                f"eta {self.halving_eta}"
            )
        if self.halving_groups is not None and len(self.halving_groups) != len(self.seeds):
            raise ValueError(
                f"halving_groups: need one group per member ({len(self.seeds)}), got "
                f"{len(self.halving_groups)}"
            )

    def subset(self, members: Sequence[int]) -> FinetuneSettings:
        """The settings of a subset of members (per-member fields sliced, everything else kept)."""
        per = {
            name: [vals[m] for m in members]
            for name in self._RANGES
            if getattr(self, name) is not None
            for vals in [
                pop.per_member(getattr(self, name), len(self.seeds), name, low=-np.inf, high=np.inf)
            ]
        }
        groups = None if self.halving_groups is None else [self.halving_groups[m] for m in members]
        return dataclasses.replace(
            self, seeds=[self.seeds[m] for m in members], halving_groups=groups, **per
        )


@dataclass
class FinetuneResult:
    best_params: list[tuple[torch.Tensor, torch.Tensor]]  # hidden layers + output, best epoch
    history: pd.DataFrame  # member, epoch, train_loss, train_error, valid_error, grad_norm_l1..
    summary: (
        pd.DataFrame
    )  # member, best_epoch, epochs_run, train/valid/test_error, diverged(_epoch),
    # blew_up, pruned_epoch, at_chance
    # (K, n_test) int64 predicted test classes of the best parameters; -1 for a member whose test
    # split was not evaluated (dropped by successive halving: selection cannot choose it)
    test_predictions: torch.Tensor | None = None


def _tensors(data, device: torch.device) -> dict[str, torch.Tensor]:
    """x_* as float32 in [0, 1] (uint8 is scaled by 1/255), y_* as int64, all on device."""
    get = data.__getitem__ if isinstance(data, dict) else lambda k: getattr(data, k)
    out = {}
    for split in ("train", "valid", "test"):
        x = np.asarray(get(f"x_{split}"))
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        out[f"x_{split}"] = torch.as_tensor(x, device=device)
        out[f"y_{split}"] = torch.as_tensor(np.asarray(get(f"y_{split}")), device=device).long()
    return out


def _initial_params(init_layers: Layers, s: FinetuneSettings, n_in: int, device) -> list:
    """Copies of the hidden layers plus a new output layer, as [W1, b1, ..., W_out, b_out]."""
    flat, k = [], len(s.seeds)
    for W, b in init_layers:
        if W.shape[0] != k or W.shape[1] != n_in:
            raise ValueError(f"init layer W {tuple(W.shape)} does not fit K={k}, n_in={n_in}")
        flat += [W.detach().to(device, torch.float32).clone(), b.detach().to(device).clone()]
        n_in = W.shape[2]
    Wo, bo = init_layer(
        n_in,
        s.n_classes,
        s.seeds,
        layer=len(init_layers),
        activation="relu",
        device=device,
        stream=pop.STREAM_OUTPUT_INIT,
    )  # plain Glorot (no x4)
    if s.output_init == "zeros":
        Wo.zero_()
    return flat + [Wo, bo]


def _pairs(flat: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(zip(flat[0::2], flat[1::2], strict=True))


def _make_step(params: list, s: FinetuneSettings, device, velocity: list | None = None) -> Callable:
    """SGD step on a minibatch for all members -> (loss (K,), errors (K,), grad norms (L, K)).

    step(xb (K,B,n), yb (K,B), counter, active (K,) bool) updates params in place with
    hand-written gradients and fused updates (mlp.sgd_train_step); counter may be an int or a 0-d
    int64 tensor (a captured CUDA graph replays with a new counter without a host sync).
    Precision "bf16": the step's products may run on bfloat16 operands with float32 accumulation
    (layerwise.device.bf16_products; where oneDNN's kernels take it, ``bf16_takes_effect``);
    everything else, evaluation included, stays float32.
    """
    lr, mom = s.tensor("lr", device), s.tensor("momentum", device)
    out_lr = None if s.output_lr is None else s.tensor("output_lr", device)
    p_in, p_hid = s.tensor("p_drop_input", device), s.tensor("p_drop_hidden", device)
    max_norm = s.tensor("max_norm", device)
    use_max_norm = bool(torch.isfinite(max_norm).any())
    n_layers = len(params) // 2
    drop = [p_in] + [p_hid] * (n_layers - 1)  # per layer input: rates (K,)
    drop_on = [bool((p > 0).any()) for p in drop]
    keep = [(1.0 - p).view(-1, 1, 1) if on else None for p, on in zip(drop, drop_on, strict=True)]
    keys = pop.member_keys(s.seeds, pop.STREAM_DROPOUT, device=device)
    vel = velocity
    if vel is None and bool((mom > 0).any()):
        vel = [torch.zeros_like(p) for p in params]
    bf16 = uses_bf16(s.precision)

    def step(xb, yb, counter, active: torch.Tensor):
        # dropout masks, own counter slots per layer: the same numbers as pop.uniform(...) >= p
        masks, h_shape = [], xb.shape[1:]
        for layer, on in enumerate(drop_on):
            shape = h_shape if layer == 0 else (xb.shape[1], params[2 * layer].shape[1])
            masks.append(
                pop.keep_mask(keys, counter * 8 + layer, shape, drop[layer]) if on else None
            )
        with bf16_products(bf16):
            loss, wrong, norms = mlp.sgd_train_step(
                params, xb, yb, torch.where(active, lr, 0.0),
                output_lr=None if out_lr is None else torch.where(active, out_lr, 0.0),
                momentum=None if vel is None else torch.where(active, mom, 0.0), velocity=vel,
                activation=s.activation, masks=masks, keep=keep, record_norms=s.record_grad_norms,
            )  # fmt: skip
        if use_max_norm:
            with torch.no_grad():
                for W in params[0:-2:2]:  # hidden layers only
                    mlp.apply_max_norm(W, max_norm)
        return loss, wrong, norms

    step.velocity = vel  # carried over when the population is compacted
    return step


def training_population(
    init_layers: Layers, settings: FinetuneSettings, n_in: int, device, log=print
) -> Members:
    """The training state of a population as :func:`finetune` builds it: copies of the hidden
    layers plus a new output layer, and the compiled SGD step (compacted as members stop)."""
    params = _initial_params(init_layers, settings, n_in, device)
    return Members(params, settings, device, log, _make_step)


def train_epoch(run: Members, data: dict, epoch: int):
    """One training epoch of the population's active members (data: x_train, y_train tensors)
    -> mean loss (K',), error (K',), grad norms (L, K') or None. No evaluation."""
    return _train_epoch(run.step, data, run.s, run.keys, epoch, run.active)


def _train_epoch(step, d, s: FinetuneSettings, keys, epoch: int, active):
    """One epoch (loop.run_epoch) -> mean loss (K,), error (K,), grad norms (L, K) or None."""
    sums, nb = loop.run_epoch(
        lambda xb, yb, counter: step(xb, yb, counter, active),
        keys, epoch, [d["x_train"], d["y_train"]], s.batch_size,
    )  # fmt: skip
    loss, wrong, norms = sums
    return loss / nb, wrong / (nb * s.batch_size), None if norms is None else norms / nb


def _clean_errors(
    best: Layers, d, s: FinetuneSettings, tr: Tracker
) -> tuple[dict[str, np.ndarray], torch.Tensor]:
    """Split -> (K,) error rates of the best parameters, without dropout, and the (K, n_test)
    predicted test classes (-1 where not evaluated).

    The training and validation splits are evaluated for every member. The test split, the
    largest (50000 images in the papers' sets), only for the members that selection can still
    choose (``Tracker.may_be_selected``); the others' test error is NaN. Without successive
    halving that is every member. Test errors come from the stored predictions: one pass.
    """
    errors = {
        sp: mlp.error_rate(best, d[f"x_{sp}"], d[f"y_{sp}"], s.activation, s.eval_batch_size)
        .cpu()
        .numpy()
        .astype(float)
        for sp in ("train", "valid")
    }
    K = len(s.seeds)
    keep = tr.may_be_selected(s.halving_groups or [0] * K, errors["train"], errors["valid"])
    x, y = d["x_test"], d["y_test"]
    pred = torch.full((K, x.shape[0]), -1, dtype=torch.int64, device=x.device)
    test = np.full(K, np.nan)
    idx = torch.as_tensor(np.nonzero(keep)[0], device=x.device)
    if len(idx):
        sub = [(W[idx], b[idx]) for W, b in best]
        pred[idx] = mlp.predict(sub, x, s.activation, s.eval_batch_size)
        if x.shape[0]:
            wrong = (pred[idx] != y).sum(-1).to(torch.float32) / x.shape[0]  # as error_rate
            test[keep] = wrong.cpu().numpy().astype(float)
    errors["test"] = test
    return errors, pred


def finetune(
    init_layers: Layers,
    data,
    settings: FinetuneSettings,
    *,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = print,
) -> FinetuneResult:
    """Fine-tune K members from init_layers [(W (K,n_in,n_out), b (K,n_out)), ...] on data.

    data: dict or object with x_train, y_train, x_valid, y_valid, x_test, y_test (numpy arrays).
    """
    settings.validate()
    device, K = torch.device(device), len(settings.seeds)
    if not 1 <= len(init_layers) <= 4:
        raise ValueError(f"init_layers: 1-4 hidden layers, got {len(init_layers)}")
    d = _tensors(data, device)
    if d["x_train"].shape[0] < settings.batch_size:
        raise ValueError(
            f"batch_size {settings.batch_size} exceeds {d['x_train'].shape[0]} examples"
        )
    run = training_population(init_layers, settings, d["x_train"].shape[1], device, log)
    params = run.full
    tr = Tracker.start(params, K, device, settings.blowup_factor, settings.tie_break)
    rows, epochs_run = [], np.zeros(K, dtype=np.int64)
    for epoch in range(1, settings.max_epochs + 1):
        t0, was_active = time.perf_counter(), tr.active.cpu().numpy().copy()  # no aliasing
        run.shrink_to(was_active)
        loss, err, norms = train_epoch(run, d, epoch)  # (K',) each; norms (L, K')
        run.write_back()
        valid, vloss = mlp.evaluate(
            _pairs(run.params), d["x_valid"], d["y_valid"], settings.activation,
            settings.eval_batch_size,
        )  # fmt: skip
        loss, err = run.expand(loss), run.expand(err)
        valid, vloss = run.expand(valid), run.expand(vloss)
        norms = None if norms is None else run.expand(norms)
        tr.update(
            params, loss, valid, epoch, settings.patience,
            min_epochs=settings.min_epochs, min_improvement=settings.min_improvement,
            valid_loss=vloss,
        )  # fmt: skip
        epochs_run += was_active
        if epoch in settings.halving_rungs:
            groups = settings.halving_groups or [0] * K
            n = tr.prune(groups, settings.halving_eta, epoch)
            log(f"finetune epoch {epoch}: successive halving stopped {n} members")
        cols = [loss, err, valid, vloss] + ([] if norms is None else list(norms))
        host = torch.stack(cols).cpu().numpy()  # one host sync per epoch: (4 + L, K)
        rows += [[m, epoch, *host[:, m]] for m in np.nonzero(was_active)[0]]
        best = tr.best_valid.min().item()
        log(
            f"finetune epoch {epoch}/{settings.max_epochs}: best valid error {best:.4f}, "
            f"training {int(tr.active.sum())}/{K} ({time.perf_counter() - t0:.1f}s)"
        )
        if not bool(tr.active.any()):
            break
    names = ["train_loss", "train_error", "valid_error", "valid_loss"]
    names += (
        [f"grad_norm_l{i}" for i in range(1, len(params) // 2 + 1)]
        if settings.record_grad_norms
        else []
    )
    history = pd.DataFrame(rows, columns=["member", "epoch", *names])
    errors, predictions = _clean_errors(_pairs(tr.best_params), d, settings, tr)
    summary = tr.summary(errors, epochs_run)
    return FinetuneResult(_pairs(tr.best_params), history, summary, predictions)
