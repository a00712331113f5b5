"""Greedy layer-wise unsupervised pretraining of a stack of hidden layers, for K members at once.

Bengio et al. (NIPS 2007) "Greedy layer-wise training of deep networks", Algorithm / sec. 2;
Larochelle et al. (JMLR 2009) sec. 4-5; Vincent et al. (JMLR 2010) sec. 5 (stacked DAE); Hinton et
al. (2006) for stacked RBMs. Layer l is trained on the codes of layers 1..l-1, which are the
*deterministic* sigmoid activations sigm(h W + b) (mean-field, as in the papers and tutorials),
computed once for the whole training set per layer (memory K*N*n_hidden floats; simplest and
fastest).

Strategies share one contract (Pretrainer) and are picked by name from PRETRAINERS:
  "none" random init (a strategy, not an if-branch); "ae" autoencoder (corruption forced to 0);
  "dae" denoising autoencoder; "rbm" Bernoulli RBM trained by CD-k.
Every member has its own seed, learning rate, corruption level and data order (a fresh permutation
per epoch). Only full minibatches are used (N // batch_size per epoch; the remainder differs every
epoch because the order does). A member whose loss or parameters become NaN/inf during an epoch is
restored to its parameters at the start of that epoch, frozen for the rest of the stack (its upper
layers keep their init) and reported with its layer and epoch (checked once per epoch, on device).
Precision (``PretrainSettings.precision``, layerwise.device): float32 materialises the gradients
and takes one SGD pass (results bit-identical to earlier versions); "bf16" allows oneDNN bfloat16
products (layerwise.device.bf16_products: taken only where the CPU's kernels do,
``bf16_takes_effect``) and fuses the weight update into one product accumulated into the float32
weights (rbm.cd_k_update, ae_layer.sgd_update), as fine-tuning does (mlp.sgd_train_step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from layerwise.device import bf16_products, resolve_precision, uses_bf16
from layerwise.engine import ae_layer as ae
from layerwise.engine import loop, rbm
from layerwise.engine import population as pop
from layerwise.engine.layers import INIT_SCHEMES, hidden_codes, init_layer


@dataclass
class PretrainSettings:
    """Pretraining hyperparameters. K = len(seeds); per-member fields take a scalar or K values."""

    seeds: list[int]
    lr: float | list[float] = 0.01
    epochs: int = 10
    batch_size: int = 20
    corruption_level: float | list[float] = 0.25  # "dae" only; std for gaussian noise
    cd_k: int = 1
    momentum: float | list[float] = 0.0
    weight_decay: float | list[float] = 0.0  # L2 on W only, as in Hinton's guide sec. 10
    tied: bool = True
    loss: str = "cross-entropy"
    noise: str = "masking"
    # RBM options of the deep autoencoder (Hinton & Salakhutdinov 2006, SOM): Gaussian (linear)
    # hidden units for the code layer, and momentum_initial for the first momentum_switch_epoch
    # epochs (None: `momentum` throughout)
    hidden: str = "binary"
    momentum_initial: float | None = None
    momentum_switch_epoch: int = 0
    # "float32" | "bf16" | "tf32" | "auto" (layerwise.device); None follows the process-wide mode.
    # "bf16": bfloat16 products where oneDNN takes them, and the fused update (ae_layer.sgd_update,
    # rbm.cd_k_update); float32 keeps the unfused update, so its results stay bit-identical
    precision: str | None = None
    # initial weights (layers.INIT_SCHEMES): "glorot", or "fan-in" (the config sets it for "none")
    init: str = "glorot"

    @property
    def k(self) -> int:
        return len(self.seeds)

    def validate(self) -> None:
        if self.k < 1:
            raise ValueError("seeds: need at least one member")
        if self.epochs < 0 or self.batch_size < 1 or self.cd_k < 1:
            raise ValueError(
                "epochs must be >= 0, batch_size >= 1, cd_k >= 1; got "
                f"{self.epochs}, {self.batch_size}, {self.cd_k}"
            )
        if self.hidden not in rbm.HIDDEN_UNITS:
            raise ValueError(f"hidden must be one of {rbm.HIDDEN_UNITS}, got {self.hidden!r}")
        if self.init not in INIT_SCHEMES:
            raise ValueError(f"init must be one of {INIT_SCHEMES}, got {self.init!r}")
        if self.loss not in ae.LOSSES or self.noise not in ae.NOISES:
            raise ValueError(f"loss must be in {ae.LOSSES}, noise in {ae.NOISES}")
        self.tensor("lr", 0.0, np.inf, "cpu")
        self.tensor("momentum", 0.0, 1.0, "cpu")
        self.tensor("weight_decay", 0.0, np.inf, "cpu")
        hi = np.inf if self.noise == "gaussian" else 1.0
        self.tensor("corruption_level", 0.0, hi, "cpu")
        if self.precision is not None:
            resolve_precision(self.precision)

    def tensor(self, name: str, low: float, high: float, device) -> torch.Tensor:
        """Per-member field `name` as a (K,) float32 tensor, range-checked."""
        vals = pop.per_member(
            getattr(self, name), self.k, name, low=low, high=high, high_open=(name == "momentum")
        )
        return torch.tensor(vals, dtype=torch.float32, device=device)


@dataclass
class LayerFit:
    """A strategy's result for one layer: trained params, recon error (epochs, K), divergence."""

    W: torch.Tensor
    b: torch.Tensor
    recon_error: np.ndarray  # (epochs, K); NaN where the member was frozen
    diverged_epoch: np.ndarray  # (K,) float, NaN if it did not diverge in this layer
    b_vis: torch.Tensor | None = None  # RBM: visible biases (K, n_in), the unrolled decoder's


@dataclass
class PretrainResult:
    weights: list[tuple[torch.Tensor, torch.Tensor]]
    history: pd.DataFrame  # member, layer, epoch, recon_error
    diverged: np.ndarray  # (K,) bool
    diverged_epoch: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # (K,) float, NaN if not
    diverged_layer: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) float, 1-based


class Pretrainer(Protocol):
    name: str
    uses_data: bool

    def init_layer(
        self, n_in: int, n_out: int, settings: PretrainSettings, *, layer: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def train_layer(
        self,
        x: torch.Tensor,
        W: torch.Tensor,
        b: torch.Tensor,
        settings: PretrainSettings,
        *,
        layer: int,
        active: torch.Tensor,
        log: Callable[[str], None],
    ) -> LayerFit: ...


class NoPretraining:
    """Random init only ("none")."""

    name, uses_data = "none", False

    def init_layer(self, n_in, n_out, settings, *, layer, device):
        return init_layer(
            n_in, n_out, settings.seeds, layer=layer, device=device, scheme=settings.init
        )

    def train_layer(self, x, W, b, settings, *, layer, active, log):
        K = settings.k
        return LayerFit(W, b, np.full((0, K), np.nan), np.full(K, np.nan))


class AutoencoderPretraining(NoPretraining):
    """(Denoising) autoencoder layer; corruption is off for "ae" and per member for "dae"."""

    uses_data = True

    def __init__(self, denoising: bool) -> None:
        self.name, self.denoising = ("dae" if denoising else "ae"), denoising

    def train_layer(self, x, W, b, settings, *, layer, active, log):
        dev, K = W.device, settings.k
        lr, mom = settings.tensor("lr", 0, np.inf, dev), settings.tensor("momentum", 0, 1, dev)
        wd = settings.tensor("weight_decay", 0, np.inf, dev).view(-1, 1, 1)
        level = settings.tensor("corruption_level", 0, np.inf, dev)
        corrupting = self.denoising and bool((level > 0).any())
        b_vis = torch.zeros(K, W.shape[1], device=dev)
        W_dec = (
            None
            if settings.tied
            else init_layer(  # own init stream: "layer" tag + 100
                W.shape[2], W.shape[1], settings.seeds, layer=layer + 100, device=dev
            )[0]
        )
        params = [W, b, b_vis] + ([] if W_dec is None else [W_dec])
        vel = [torch.zeros_like(p) for p in params] if bool((mom > 0).any()) else None
        keys = pop.member_keys(settings.seeds, pop.STREAM_CORRUPT, layer, device=dev)
        draw = pop.uniform if settings.noise == "masking" else pop.normal
        fused = _fused(settings, wd, vel)

        def step(xb: torch.Tensor, counter: int) -> torch.Tensor:
            x_in = (
                ae.corrupt(xb, level, settings.noise, draw(keys, counter, xb.shape[1:]))
                if corrupting
                else xb
            )
            if fused is not None:
                with bf16_products():
                    kw = fused(active, lr, mom)
                    return ae.sgd_update(xb, x_in, params, loss=settings.loss, **kw)
            L, g = ae.loss_and_grads(xb, x_in, W, b, b_vis, W_dec, settings.loss)
            g[0] = g[0] + wd * W  # L2 weight decay on the encoder weights
            pop.sgd_step(params, g, vel, lr, mom, active)
            return L

        hist, div = _train(x, params, step, settings, layer, active, log, self.name)
        return LayerFit(W, b, hist, div)


class RBMPretraining(NoPretraining):
    """RBM by CD-k; the layer kept is the up-pass mean p(h=1|v) = sigm(v W + c).

    Bernoulli hidden units, or Gaussian ones (``settings.hidden = "gaussian"``: h = vW + c + N(0,1),
    the deep autoencoder's linear code layer; initialised at the plain Glorot scale). With
    ``settings.momentum_initial`` set, momentum switches from it to ``settings.momentum`` after
    ``momentum_switch_epoch`` epochs (Hinton & Salakhutdinov 2006, SOM).
    """

    name, uses_data = "rbm", True

    def init_layer(self, n_in, n_out, settings, *, layer, device):
        act = "relu" if settings.hidden == "gaussian" else "sigmoid"  # relu = plain Glorot scale
        return init_layer(n_in, n_out, settings.seeds, layer=layer, activation=act, device=device)

    def train_layer(self, x, W, b, settings, *, layer, active, log):
        dev, K, k = W.device, settings.k, settings.cd_k
        lr, mom = settings.tensor("lr", 0, np.inf, dev), settings.tensor("momentum", 0, 1, dev)
        wd = settings.tensor("weight_decay", 0, np.inf, dev).view(-1, 1, 1)
        b_vis = torch.zeros(
            K, W.shape[1], device=dev
        )  # Hinton's guide suggests log(p/(1-p)); 0 here (as rbm.m)
        params = [W, b_vis, b]
        switch = settings.momentum_initial is not None
        moms = [torch.full((K,), settings.momentum_initial, device=dev), mom] if switch else [mom]
        vel = [torch.zeros_like(p) for p in params] if switch or bool((mom > 0).any()) else None
        keys = pop.member_keys(settings.seeds, pop.STREAM_GIBBS, layer, device=dev)
        draw = pop.uniform if settings.hidden == "binary" else pop.normal
        n_switch = settings.momentum_switch_epoch * (x.shape[-2] // settings.batch_size)
        fused = _fused(settings, wd, vel)

        def step(vb: torch.Tensor, counter: int) -> torch.Tensor:
            r = draw(keys, counter, (k, vb.shape[1], W.shape[2])).transpose(0, 1)  # (k,K,B,n_h)
            m = moms[int(counter >= n_switch)] if switch else mom
            if fused is not None:
                with bf16_products():
                    kw = fused(active, lr, m)
                    return rbm.cd_k_update(vb, W, b_vis, b, r, hidden=settings.hidden, **kw)
            dW, db_vis, dc, recon = rbm.cd_k_statistics(vb, W, b_vis, b, r, hidden=settings.hidden)
            # ascent on log-likelihood = descent on its negative; decay pulls W to 0
            pop.sgd_step(params, [wd * W - dW, -db_vis, -dc], vel, lr, m, active)
            return recon

        hist, div = _train(x, params, step, settings, layer, active, log, self.name)
        return LayerFit(W, b, hist, div, b_vis)


def _fused(settings: PretrainSettings, wd: torch.Tensor, vel) -> Callable | None:
    """For precision "bf16": kw(active, lr, momentum) -> the fused step's keyword arguments (lr
    and momentum 0 for frozen members, weight decay (K,) or None); None for float32 (unfused)."""
    if not uses_bf16(settings.precision):
        return None
    decay = wd.flatten() if bool((wd > 0).any()) else None

    def kw(active: torch.Tensor, lr: torch.Tensor, momentum: torch.Tensor) -> dict:
        out = {"lr": torch.where(active, lr, 0.0), "weight_decay": decay, "velocity": vel}
        out["momentum"] = None if vel is None else torch.where(active, momentum, 0.0)
        return out

    return kw


def _train(x, params, step, settings: PretrainSettings, layer, active, log, label):
    """loop.train_epochs with the settings' seeds, epochs and batch size."""
    return loop.train_epochs(
        x, params, step, seeds=settings.seeds, epochs=settings.epochs,
        batch_size=settings.batch_size, layer=layer, active=active, log=log, label=label,
    )  # fmt: skip


PRETRAINERS: dict[str, Pretrainer] = {
    "none": NoPretraining(),
    "ae": AutoencoderPretraining(denoising=False),
    "dae": AutoencoderPretraining(denoising=True),
    "rbm": RBMPretraining(),
}


def as_inputs(x: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """float32 tensor on device; uint8 pixels (the data.npz format) are scaled by 1/255."""
    if torch.is_tensor(x):
        t = x.to(device)
    else:
        t = torch.as_tensor(np.asarray(x), device=device)
    return t.to(torch.float32) / 255.0 if t.dtype == torch.uint8 else t.to(torch.float32)


def pretrain_stack(
    method: str | Pretrainer,
    x: np.ndarray | torch.Tensor,
    layer_sizes: Sequence[int],
    settings: PretrainSettings,
    *,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = print,
) -> PretrainResult:
    """Greedily pretrain hidden layers of sizes layer_sizes on x (N, n_in) in [0, 1] (or uint8).

    Returns weights [(W (K,n_in,n_out), b (K,n_out)), ...], history rows (member, layer, epoch,
    recon_error) with 1-based layer and epoch, and per-member divergence.
    """
    if isinstance(method, str) and method not in PRETRAINERS:
        raise ValueError(f"method must be one of {sorted(PRETRAINERS)}, got {method!r}")
    strategy = PRETRAINERS[method] if isinstance(method, str) else method
    settings.validate()
    if not 1 <= len(layer_sizes) <= 4 or min(layer_sizes) < 1:
        raise ValueError(f"layer_sizes: 1-4 positive widths, got {list(layer_sizes)}")
    device = torch.device(device)
    codes = as_inputs(x, device)  # (N, n_in) in [0, 1]; then per-member codes (K, N, n_h)
    K, active = settings.k, torch.ones(settings.k, dtype=torch.bool, device=device)
    weights, rows = [], []
    div_epoch, div_layer = np.full(K, np.nan), np.full(K, np.nan)
    n_in = codes.shape[-1]
    for layer, n_out in enumerate(layer_sizes):
        W, b = strategy.init_layer(n_in, n_out, settings, layer=layer, device=device)
        fit = strategy.train_layer(codes, W, b, settings, layer=layer, active=active, log=log)
        weights.append((fit.W, fit.b))
        new = ~np.isnan(fit.diverged_epoch)
        div_epoch[new], div_layer[new] = fit.diverged_epoch[new], layer + 1
        epochs = np.arange(1, fit.recon_error.shape[0] + 1)[:, None]  # (epochs, 1)
        trained = ~np.isnan(fit.recon_error) | (epochs == fit.diverged_epoch[None, :])
        for e, m in zip(*np.nonzero(trained), strict=True):  # the diverging epoch is kept (NaN)
            rows.append((int(m), layer + 1, int(e) + 1, float(fit.recon_error[e, m])))
        if strategy.uses_data and layer + 1 < len(layer_sizes):
            codes = hidden_codes(codes, fit.W, fit.b)  # deterministic sigmoid codes (K, N, n_out)
        n_in = n_out
    history = pd.DataFrame(rows, columns=["member", "layer", "epoch", "recon_error"])
    return PretrainResult(weights, history, ~np.isnan(div_epoch), div_epoch, div_layer)
