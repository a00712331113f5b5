"""Autoencoder and denoising autoencoder layers for populations, with hand-written gradients.

Bengio et al. (NIPS 2007) sec. 2-3 (autoencoder layers for greedy pretraining); Vincent et al.
(ICML 2008; JMLR 2010, sec. 3-4) for denoising: corrupt the input x -> x~, encode
y = sigm(x~ W + b),
decode z = sigm(y W' + b'), and measure the loss against the *clean* x.
  * tied weights W' = W^T by default (Vincent et al. 2010 sec. 4.2 use tied weights), untied option;
  * loss "cross-entropy": sum_i -[x_i log z_i + (1-x_i) log(1-z_i)] per example, for x in [0, 1]
    (computed from the pre-activation a as softplus(a) - x a, which is stable);
    loss "squared": linear decoder z = a and sum_i (z_i - x_i)^2 per example;
    either loss is averaged over the minibatch (the tutorial's mean of per-example sums);
  * corruption "masking": each input set to 0 with probability corruption_level (the paper's
    default); "gaussian": x~ = x + corruption_level * N(0, 1) (corruption_level is the std).
Shapes: x (K, B, n_in); W (K, n_in, n_h); b (K, n_h); b_vis (K, n_in);
W_dec (K, n_h, n_in) if untied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from layerwise.engine import population as pop

LOSSES = ("cross-entropy", "squared")
NOISES = ("masking", "gaussian")


def corrupt(x: torch.Tensor, level: torch.Tensor, noise: str, r: torch.Tensor) -> torch.Tensor:
    """Corrupted copy of x (K, B, n); level (K,); r: uniforms (masking) or normals (gaussian)."""
    lv = level.view(-1, 1, 1)
    if noise == "masking":
        return x * (r >= lv).to(x.dtype)
    if noise == "gaussian":
        return x + lv * r
    raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")


def forward(
    x_in: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    b_vis: torch.Tensor,
    W_dec: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Code y = sigm(x_in W + b) (K,B,n_h) and decoder pre-activation a (K,B,n_in)."""
    y = torch.sigmoid(torch.baddbmm(b.unsqueeze(1), x_in, W))
    Wd = W.transpose(1, 2) if W_dec is None else W_dec  # (K, n_h, n_in)
    a = torch.baddbmm(b_vis.unsqueeze(1), y, Wd)
    return y, a


def reconstruction_loss(a: torch.Tensor, x: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-member loss (K,): mean over the batch of the per-example sum over inputs."""
    if loss == "cross-entropy":
        per = F.softplus(a) - x * a  # = -[x log sigm(a) + (1-x) log(1-sigm(a))]
    elif loss == "squared":
        per = (a - x) ** 2
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return per.sum(-1).mean(-1)


def _backward(x, x_in, W, b, b_vis, W_dec, loss: str):
    """Forward pass and the backward pass down to the encoder: loss (K,), code y (K, B, n_h),
    dL/da at the output pre-activation (K, B, n_in), dL/ds at the encoder's (K, B, n_h)."""
    B = x.shape[1]
    y, a = forward(x_in, W, b, b_vis, W_dec)
    L = reconstruction_loss(a, x, loss)
    z = torch.sigmoid(a) if loss == "cross-entropy" else a
    da = (z - x) / B if loss == "cross-entropy" else 2.0 * (z - x) / B  # dL/da (K, B, n_in)
    Wd = W.transpose(1, 2) if W_dec is None else W_dec
    ds = torch.bmm(da, Wd.transpose(1, 2)) * y * (1.0 - y)  # through the encoder sigmoid
    return L, y, da, ds


def loss_and_grads(
    x: torch.Tensor,
    x_in: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    b_vis: torch.Tensor,
    W_dec: torch.Tensor | None = None,
    loss: str = "cross-entropy",
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Loss (K,) and gradients [dW, db, db_vis(, dW_dec)] for clean x and (corrupted) input x_in."""
    L, y, da, ds = _backward(x, x_in, W, b, b_vis, W_dec, loss)
    dW = torch.bmm(x_in.transpose(1, 2), ds)  # encoder part (K, n_in, n_h)
    dWd = torch.bmm(y.transpose(1, 2), da)  # decoder part (K, n_h, n_in)
    grads = [dW + dWd.transpose(1, 2) if W_dec is None else dW, ds.sum(1), da.sum(1)]
    if W_dec is not None:
        grads.append(dWd)
    return L, grads


def sgd_update(
    x: torch.Tensor,
    x_in: torch.Tensor,
    params: list[torch.Tensor],
    lr: torch.Tensor,
    *,
    loss: str = "cross-entropy",
    momentum: torch.Tensor | None = None,
    velocity: list[torch.Tensor] | None = None,
    weight_decay: torch.Tensor | None = None,
) -> torch.Tensor:
    """One SGD(+momentum) step in place with fused weight updates -> loss (K,).

    params [W, b, b_vis] or [W, b, b_vis, W_dec] (untied); the same gradients as loss_and_grads,
    but the weight step is accumulated straight into W by one product: tied,
    W -= lr (x_in^T ds + da^T y) = W + [x_in; -lr da]^T [-lr ds; y] ((K, n_in, 2B) x (K, 2B, n_h));
    untied, W += x_in^T (-lr ds) and W_dec += y^T (-lr da). lr, momentum, weight_decay (L2 on W):
    (K,) (0 for frozen members); velocity like params, or None. Biases: plain SGD(+momentum).
    """
    W, b, b_vis = params[:3]
    W_dec = params[3] if len(params) > 3 else None
    L, y, da, ds = _backward(x, x_in, W, b, b_vis, W_dec, loss)
    neg = -lr.view(-1, 1, 1)
    mom = None if momentum is None else momentum.view(-1, 1, 1)
    decay = None if weight_decay is None else (lr * weight_decay).view(-1, 1, 1)
    vel = velocity or [None] * len(params)
    x_in = x_in.expand(x.shape)  # a shared (uncorrupted) input as per-member rows
    if W_dec is None:
        V = torch.cat([x_in, da * neg], dim=1)  # (K, 2B, n_in)
        H = torch.cat([ds * neg, y], dim=1)  # (K, 2B, n_h)
        pop.fused_weight_update(W, V, H, vel[0], mom, decay)
    else:
        pop.fused_weight_update(W, x_in, ds * neg, vel[0], mom, decay)
        pop.fused_weight_update(W_dec, y, da * neg, vel[3], mom, None)
    bias_vel = None if velocity is None else velocity[1:3]
    pop.bias_step([b, b_vis], [ds.sum(1), da.sum(1)], bias_vel, lr, momentum)
    return L
