"""Bernoulli-Bernoulli restricted Boltzmann machine for populations, trained by CD-k.

Hinton (2002) "Training products of experts by minimizing contrastive divergence"; the practical
choices follow Hinton (2010) "A practical guide to training RBMs" (UTML TR 2010-003):
  * visible units of the reconstruction use probabilities p(v=1|h), not samples (guide sec. 3.2);
  * hidden units are sampled when they drive a reconstruction, except the last hidden update of
    the chain, which uses probabilities, and the positive statistics use p(h=1|v0) (sec. 3.1-3.3);
  * the reconstruction error reported is sum_i (v0_i - p(v_i=1|h0))^2 per example, h0 sampled,
    averaged over examples (sec. 5: a cheap, imperfect progress measure).
Energy: E(v, h) = -v.b_vis - h.c - v W h; p(h=1|v) = sigm(v W + c), p(v=1|h) = sigm(h W^T + b_vis).
Shapes: W (K, n_v, n_h), b_vis (K, n_v), c (K, n_h), v (K, B, n_v) or shared (B, n_v),
h (K, B, n_h).
Random numbers are passed in as uniforms u (..., K, B, n_h) so tests can inject them.

Gaussian (linear) hidden units, hidden="gaussian" (Hinton & Salakhutdinov, Science 2006, the top
RBM of the deep autoencoder; Hinton's rbmhidlinear.m): unit-variance hidden units with
p(h|v) = N(v W + c, 1); the "probability" used for statistics is the mean v W + c (no sigmoid) and
a sample adds unit normal noise, so u holds standard normals instead of uniforms. Visible units stay
logistic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from layerwise.engine import population as pop
from layerwise.engine.layers import affine


def p_h_given_v(v: torch.Tensor, W: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """p(h=1|v) = sigm(v W + c) -> (K, B, n_h)."""
    return torch.sigmoid(affine(v, W, c))


def p_v_given_h(h: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor) -> torch.Tensor:
    """p(v=1|h) = sigm(h W^T + b_vis) -> (K, B, n_v)."""
    return torch.sigmoid(torch.baddbmm(b_vis.unsqueeze(1), h, W.transpose(1, 2)))


def sample_h(v: torch.Tensor, W: torch.Tensor, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Binary sample h = [u < p(h=1|v)] given uniforms u (K, B, n_h)."""
    return (u < p_h_given_v(v, W, c)).to(W.dtype)


HIDDEN_UNITS = ("binary", "gaussian")


def mean_h(
    v: torch.Tensor, W: torch.Tensor, c: torch.Tensor, hidden: str = "binary"
) -> torch.Tensor:
    """E[h|v] -> (K, B, n_h): sigm(v W + c) for binary units, v W + c (linear) for gaussian ones."""
    if hidden == "binary":
        return p_h_given_v(v, W, c)
    if hidden == "gaussian":
        return affine(v, W, c)
    raise ValueError(f"hidden must be one of {HIDDEN_UNITS}, got {hidden!r}")


def _sample_from_mean(mean: torch.Tensor, r: torch.Tensor, hidden: str) -> torch.Tensor:
    """Binary: [u < p] for uniforms r; gaussian: mean + r for standard normals r."""
    return (r < mean).to(mean.dtype) if hidden == "binary" else mean + r


def free_energy(
    v: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor, c: torch.Tensor
) -> torch.Tensor:
    """F(v) = -v.b_vis - sum_j softplus((v W + c)_j) -> (K, B)."""
    vb = (v * b_vis.unsqueeze(1)).sum(-1)  # (K, B); a shared v broadcasts over K
    return -vb - F.softplus(affine(v, W, c)).sum(-1)


def reconstruction_error(
    v: torch.Tensor,
    W: torch.Tensor,
    b_vis: torch.Tensor,
    c: torch.Tensor,
    u: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over examples of ||v - p(v|h)||^2, h sampled from u (p(h|v) if u is None) -> (K,)."""
    h = p_h_given_v(v, W, c) if u is None else sample_h(v, W, c, u)
    pv = p_v_given_h(h, W, b_vis)
    return ((v - pv) ** 2).sum(-1).mean(-1)


def cd_k_statistics(
    v0: torch.Tensor,
    W: torch.Tensor,
    b_vis: torch.Tensor,
    c: torch.Tensor,
    u: torch.Tensor,
    *,
    hidden: str = "binary",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CD-k gradient estimates of the log-likelihood (ascent direction), averaged over the batch.

    v0: (K, B, n_v) data; u: (k, K, B, n_h) uniforms (binary hidden units) or standard normals
    (hidden="gaussian"), one per hidden sampling step (k = cd_k).
    Returns dW (K, n_v, n_h), db_vis (K, n_v), dc (K, n_h), recon error (K,) of the first step.
    """
    B = v0.shape[-2]
    ph0 = mean_h(v0, W, c, hidden)  # (K, B, n_h) positive statistics use probabilities (means)
    h = _sample_from_mean(ph0, u[0], hidden)
    vk, phk = v0, ph0
    for step in range(u.shape[0]):
        vk = p_v_given_h(h, W, b_vis)  # probabilities for the visible reconstruction
        phk = mean_h(vk, W, c, hidden)
        if step == 0:
            recon = ((v0 - vk) ** 2).sum(-1).mean(-1)  # (K,)
        if step + 1 < u.shape[0]:
            h = _sample_from_mean(phk, u[step + 1], hidden)  # sample: it drives another step
    dW = (torch.bmm(v0.transpose(1, 2), ph0) - torch.bmm(vk.transpose(1, 2), phk)) / B
    db_vis = (v0 - vk).mean(1)
    dc = (ph0 - phk).mean(1)
    return dW, db_vis, dc, recon


def cd_k_update(
    v0: torch.Tensor,
    W: torch.Tensor,
    b_vis: torch.Tensor,
    c: torch.Tensor,
    u: torch.Tensor,
    lr: torch.Tensor,
    *,
    hidden: str = "binary",
    momentum: torch.Tensor | None = None,
    velocity: list[torch.Tensor] | None = None,
    weight_decay: torch.Tensor | None = None,
) -> torch.Tensor:
    """One CD-k step in place with the weight update fused into one product -> recon error (K,).

    The same Gibbs chain and statistics as cd_k_statistics; the ascent step on W,
    lr / B (v0^T ph0 - vk^T phk), is one (K, n_v, 2B) x (K, 2B, n_h) product
    [v0; vk]^T [ph0; -phk] lr / B added to W in place (the fine-tuning step's fused update,
    layerwise.engine.mlp). lr, momentum, weight_decay: (K,) (0 for frozen members); velocity
    [vW, vb_vis, vc] like the parameters, or None. Biases: plain SGD(+momentum), float32.
    """
    B = v0.shape[-2]
    ph0 = mean_h(v0, W, c, hidden)
    h = _sample_from_mean(ph0, u[0], hidden)
    vk, phk = v0, ph0
    for step in range(u.shape[0]):
        vk = p_v_given_h(h, W, b_vis)
        phk = mean_h(vk, W, c, hidden)
        if step == 0:
            recon = ((v0 - vk) ** 2).sum(-1).mean(-1)
        if step + 1 < u.shape[0]:
            h = _sample_from_mean(phk, u[step + 1], hidden)
    scale = (lr / B).view(-1, 1, 1)
    V = torch.cat([v0.expand(vk.shape), vk], dim=1)  # (K, 2B, n_v)
    H = torch.cat([ph0 * scale, phk * -scale], dim=1)  # (K, 2B, n_h)
    mom = None if momentum is None else momentum.view(-1, 1, 1)
    decay = None if weight_decay is None else (lr * weight_decay).view(-1, 1, 1)
    pop.fused_weight_update(W, V, H, None if velocity is None else velocity[0], mom, decay)
    grads = [-(v0 - vk).mean(1), -(ph0 - phk).mean(1)]  # descent directions of b_vis, c
    pop.bias_step([b_vis, c], grads, None if velocity is None else velocity[1:], lr, momentum)
    return recon
