"""Deep autoencoder: a stack of RBMs, unrolled and fine-tuned on reconstruction, for K members.

Hinton & Salakhutdinov (Science 2006) "Reducing the dimensionality of data with neural networks",
Fig. 1 and the supporting online material (SOM); the MNIST net is 784-1000-500-250-30:
  * pretraining: each layer is an RBM trained greedily by CD-1 on the (mean-field) codes of the
    layer below; the top RBM has *Gaussian* (linear) hidden units, p(h|v) = N(vW + c, 1), so the
    code layer is linear (layerwise.engine.rbm, hidden="gaussian"). SOM settings, used as defaults:
    50 epochs, minibatches of 100, learning rate 0.1 (0.001 for the top RBM), momentum 0.5 for the
    first 5 epochs and 0.9 after, weight cost 0.0002 (Hinton's rbm.m / rbmhidlinear.m);
  * unrolling: the encoder is the stack of RBM up-passes (W_l, c_l); the decoder starts as the
    transposes W_l^T in reverse order, with the RBMs' *visible* biases b_l as its biases; encoder
    and decoder are untied from then on;
  * fine-tuning: backpropagation of the cross-entropy between the input and the logistic output
    (sum over pixels, mean over the minibatch). Choice: minibatch SGD with momentum replaces the
    paper's conjugate gradients (3 line searches on minibatches of 1000); epochs, learning rate
    and momentum are parameters.
The control: the same net from random weights (layerwise.engine.layers.init_layer: Glorot uniform,
x4 for sigmoid layers, plain Glorot for the linear code layer; the decoder gets its own draw).
Its encoder draws are the RBMs' own starting weights, so it differs only by the training it skips.
Members: for each seed a pretrained and a random member, trained together as one population of
K = 2 x len(seeds) (pretrained members first); a member with the same seed sees the same data order.
Shapes: params = [(W (K, n_in, n_out), b (K, n_out)), ...], encoder layers then decoder layers;
x (N, 784) shared, or (K, B, 784) per member inside a step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from layerwise.engine import population as pop
from layerwise.engine.ae_layer import reconstruction_loss
from layerwise.engine.layers import affine, hidden_codes, init_layer
from layerwise.engine.loop import n_batches, run_epoch
from layerwise.engine.pretrain import PRETRAINERS, PretrainSettings, as_inputs

Params = list[tuple[torch.Tensor, torch.Tensor]]
STREAM_FINETUNE = 11  # data-order tag of the fine-tuning epochs (distinct from the RBMs' layers)
DECODER_INIT = 100  # layer tag offset of the decoder's random init


@dataclass
class DeepAESettings:
    """Architecture and training of one deep autoencoder population (defaults: the paper's SOM)."""

    seeds: list[int]
    hidden: Sequence[int] = (1000, 500, 250)  # widths of the binary layers below the code
    code_size: int = 30
    batch_size: int = 100
    pretrain_epochs: int = 50
    pretrain_lr: float = 0.1
    pretrain_lr_top: float = 0.001  # the Gaussian top RBM needs a much smaller step (SOM)
    momentum_initial: float = 0.5
    momentum: float = 0.9
    momentum_switch_epoch: int = 5
    weight_decay: float = 0.0002
    cd_k: int = 1
    finetune_epochs: int = 200
    finetune_lr: float = 0.01
    finetune_momentum: float = 0.9

    @property
    def layer_sizes(self) -> list[int]:
        """Hidden widths of the encoder, code layer last."""
        return [int(h) for h in self.hidden] + [int(self.code_size)]

    def validate(self) -> None:
        if len(self.seeds) < 1:
            raise ValueError("seeds: need at least one seed")
        if not 1 <= len(self.hidden) <= 3 or min(self.hidden) < 1:
            raise ValueError(f"hidden: 1-3 positive widths, got {list(self.hidden)}")
        ints = {
            "code_size": (1, 4096),
            "batch_size": (1, 100000),
            "cd_k": (1, 100),
            "pretrain_epochs": (0, 10000),
            "finetune_epochs": (0, 10000),
            "momentum_switch_epoch": (0, 10000),
        }
        for name, (lo, hi) in ints.items():
            if not lo <= int(getattr(self, name)) <= hi:
                raise ValueError(f"{name} must lie in [{lo}, {hi}], got {getattr(self, name)}")
        for name in ("pretrain_lr", "pretrain_lr_top", "finetune_lr", "weight_decay"):
            if not 0.0 <= float(getattr(self, name)) < np.inf:
                raise ValueError(f"{name} must lie in [0, inf), got {getattr(self, name)}")
        for name in ("momentum_initial", "momentum", "finetune_momentum"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")


@dataclass
class RBMLayer:
    """A trained RBM of the stack: W (K, n_v, n_h), b_vis (K, n_v), c (K, n_h)."""

    W: torch.Tensor
    b_vis: torch.Tensor
    c: torch.Tensor


def rbm_settings(s: DeepAESettings, hidden: str) -> PretrainSettings:
    """The registry RBM's settings for one layer of the stack (SOM: smaller lr on the top RBM)."""
    return PretrainSettings(
        seeds=list(s.seeds), lr=s.pretrain_lr_top if hidden == "gaussian" else s.pretrain_lr,
        epochs=s.pretrain_epochs, batch_size=s.batch_size, cd_k=s.cd_k, momentum=s.momentum,
        weight_decay=s.weight_decay, hidden=hidden, momentum_initial=s.momentum_initial,
        momentum_switch_epoch=s.momentum_switch_epoch,
    )  # fmt: skip


def train_rbm_layer(
    x: torch.Tensor,
    n_out: int,
    s: DeepAESettings,
    *,
    layer: int,
    hidden: str,
    active: torch.Tensor,
    log: Callable[[str], None],
) -> tuple[RBMLayer, np.ndarray]:
    """One RBM by CD-k on x, shared (N, n_v) or (K, N, n_v); returns it and recon error (epochs, K).

    The registry's RBM (layerwise.engine.pretrain) with the SOM's options: Gaussian hidden units
    on top, momentum switching from momentum_initial to momentum after momentum_switch_epoch.
    """
    rbm_ = PRETRAINERS["rbm"]
    settings = rbm_settings(s, hidden)
    W, c = rbm_.init_layer(x.shape[-1], n_out, settings, layer=layer, device=x.device)
    fit = rbm_.train_layer(x, W, c, settings, layer=layer, active=active, log=log)
    return RBMLayer(fit.W, fit.b_vis, fit.b), fit.recon_error


def pretrain_rbm_stack(
    x: torch.Tensor, s: DeepAESettings, *, log: Callable[[str], None] = print
) -> tuple[list[RBMLayer], pd.DataFrame, torch.Tensor]:
    """Greedy stack of RBMs (binary hidden units, Gaussian on top) for every seed.

    Returns the layers, history rows (member, layer, epoch, recon_error; 1-based) and the (K,) bool
    mask of members still finite. Layer l+1 trains on the sigmoid means of layer l (K, N, n_h).
    """
    K = len(s.seeds)
    active = torch.ones(K, dtype=torch.bool, device=x.device)
    codes, layers, rows = x, [], []
    sizes = s.layer_sizes
    for layer, n_out in enumerate(sizes):
        hidden = "gaussian" if layer == len(sizes) - 1 else "binary"
        fit, hist = train_rbm_layer(
            codes, n_out, s, layer=layer, hidden=hidden, active=active, log=log
        )
        layers.append(fit)
        rows += [(m, layer + 1, e + 1, float(hist[e, m])) for e, m in np.ndindex(*hist.shape)]
        if layer + 1 < len(sizes):
            codes = hidden_codes(codes, fit.W, fit.c)  # (K, N, n_out) mean-field codes
    history = pd.DataFrame(rows, columns=["member", "layer", "epoch", "recon_error"])
    return layers, history, active


def unroll(layers: Sequence[RBMLayer]) -> Params:
    """Encoder [(W_l, c_l)] then decoder [(W_l^T, b_vis_l)] in reverse order (copies, untied)."""
    encoder = [(r.W.clone(), r.c.clone()) for r in layers]
    decoder = [(r.W.transpose(1, 2).clone(), r.b_vis.clone()) for r in reversed(layers)]
    return encoder + decoder


def random_init(n_in: int, sizes: Sequence[int], seeds: Sequence[int], device) -> Params:
    """The same architecture from random weights: encoder and decoder drawn independently."""
    widths = [n_in, *sizes]
    n = len(sizes)
    enc = [
        init_layer(
            widths[i],
            widths[i + 1],
            seeds,
            layer=i,
            device=device,
            activation="relu" if i == n - 1 else "sigmoid",
        )  # linear code: plain Glorot
        for i in range(n)
    ]
    dec = [
        init_layer(widths[i + 1], widths[i], seeds, layer=DECODER_INIT + i, device=device)
        for i in reversed(range(n))
    ]
    return enc + dec


def forward(params: Params, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Code (K, B, code_size), linear, and output pre-activation (K, B, n_in); output = sigm."""
    n = len(params) // 2
    h, code = x, x
    for i, (W, b) in enumerate(params):
        a = affine(h, W, b)
        if i == n - 1:
            code = h = a  # linear code layer: no sigmoid
        elif i == len(params) - 1:
            return code, a
        else:
            h = torch.sigmoid(a)
    raise ValueError(f"params must hold an encoder and a decoder, got {len(params)} layers")


@torch.no_grad()
def encode_decode(params: Params, x: torch.Tensor, chunk: int = 2000):
    """Codes (K, N, code) and reconstructions sigm(a) (K, N, n_in) of a data set, in chunks."""
    parts = [forward(params, x[i : i + chunk]) for i in range(0, x.shape[0], chunk)]
    return torch.cat([p[0] for p in parts], 1), torch.sigmoid(torch.cat([p[1] for p in parts], 1))


def mse_per_image(params: Params, x: torch.Tensor) -> torch.Tensor:
    """(K,) the paper's unit: sum over pixels of squared error, mean over the images of x (N, n)."""
    _, recon = encode_decode(params, x)
    return ((recon - x) ** 2).sum(-1).mean(-1)


def finetune_reconstruction(
    params: Params,
    x: torch.Tensor,
    x_test: torch.Tensor,
    s: DeepAESettings,
    member_seeds: Sequence[int],
    *,
    log: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Backprop on cross-entropy, in place on params. Returns history (member, epoch,
    train_cross_entropy, train_mse_per_image, test_mse_per_image; epoch 0 = before fine-tuning)
    and the (K,) float epoch of divergence (NaN if none)."""
    dev, K, n = x.device, len(member_seeds), x.shape[0]
    flat = [t.requires_grad_(True) for p in params for t in p]
    vel = [torch.zeros_like(t) for t in flat]
    lr = torch.full((K,), s.finetune_lr, device=dev)
    mom = torch.full((K,), s.finetune_momentum, device=dev)
    keys = pop.member_keys(member_seeds, pop.STREAM_ORDER, STREAM_FINETUNE, device=dev)
    active, div = torch.ones(K, dtype=torch.bool, device=dev), np.full(K, np.nan)
    n_batches(n, s.batch_size)  # fail before the first epoch

    def step(xb: torch.Tensor, counter: int) -> torch.Tensor:
        _, a = forward(params, xb)
        loss = reconstruction_loss(a, xb, "cross-entropy")  # (K,)
        grads = torch.autograd.grad(loss.sum(), flat)  # sum over members: per-member grads
        with torch.no_grad():
            pop.sgd_step(flat, grads, vel, lr, mom, active)
            return torch.stack([loss, ((torch.sigmoid(a) - xb) ** 2).sum(-1).mean(-1)])

    rows = _history_rows(0, np.full(K, np.nan), np.full(K, np.nan), mse_per_image(params, x_test))
    for epoch in range(1, s.finetune_epochs + 1):
        saved = [t.detach().clone() for t in flat]
        sums, nb = run_epoch(step, keys, epoch, [x], s.batch_size)  # (2, K): cross-entropy, mse
        with torch.no_grad():
            was = active.clone()
            active &= pop.finite_members(sums[0], flat)
            pop.restore_members(flat, saved, ~active)
            div[(was & ~active).cpu().numpy()] = epoch
        test = mse_per_image(params, x_test)
        rows += _history_rows(epoch, *(sums / nb).cpu().numpy(), test)
        log(
            f"finetune epoch {epoch}/{s.finetune_epochs}: test squared error per image "
            f"{', '.join(f'{v:.2f}' for v in test.tolist())}, training {int(active.sum())}/{K}"
        )
    for t in flat:
        t.requires_grad_(False)
    cols = ["member", "epoch", "train_cross_entropy", "train_mse_per_image", "test_mse_per_image"]
    return pd.DataFrame(rows, columns=cols), div


def _history_rows(epoch: int, ce: np.ndarray, mse: np.ndarray, test: torch.Tensor) -> list:
    t = test.cpu().numpy()
    return [(m, epoch, float(ce[m]), float(mse[m]), float(t[m])) for m in range(len(t))]


def train_deep_autoencoder(
    x_train: np.ndarray | torch.Tensor,
    x_test: np.ndarray | torch.Tensor,
    s: DeepAESettings,
    *,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = print,
) -> tuple[Params, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Pretrain (RBM stack), unroll and fine-tune, next to the same net from random weights.

    Returns fine-tuned params of K = 2 x len(seeds) members (pretrained seeds first, then random),
    the RBM history, the fine-tuning history and the (K,) divergence epochs (NaN if none).
    """
    s.validate()
    device = torch.device(device)
    x, xt = as_inputs(x_train, device), as_inputs(x_test, device)  # float32 in [0, 1]
    rbms, rbm_hist, _ = pretrain_rbm_stack(x, s, log=log)
    pre = unroll(rbms)
    rnd = random_init(x.shape[1], s.layer_sizes, s.seeds, device)
    # member axis: [pretrained seeds..., random seeds...] -> K = 2 x len(seeds)
    params = [
        (torch.cat([p[0], r[0]]), torch.cat([p[1], r[1]])) for p, r in zip(pre, rnd, strict=True)
    ]
    hist, div = finetune_reconstruction(params, x, xt, s, [*s.seeds, *s.seeds], log=log)
    return [(W.detach(), b.detach()) for W, b in params], rbm_hist, hist, div
