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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from layerwise.models.layers import affine


def p_h_given_v(v: torch.Tensor, W: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """p(h=1|v) = sigm(v W + c) -> (K, B, n_h)."""
    return torch.sigmoid(affine(v, W, c))


def p_v_given_h(h: torch.Tensor, W: torch.Tensor, b_vis: torch.Tensor) -> torch.Tensor:
    """p(v=1|h) = sigm(h W^T + b_vis) -> (K, B, n_v)."""
    return torch.sigmoid(torch.baddbmm(b_vis.unsqueeze(1), h, W.transpose(1, 2)))


def sample_h(v: torch.Tensor, W: torch.Tensor, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Binary sample h = [u < p(h=1|v)] given uniforms u (K, B, n_h)."""
    return (u < p_h_given_v(v, W, c)).to(W.dtype)


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
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CD-k gradient estimates of the log-likelihood (ascent direction), averaged over the batch.

    v0: (K, B, n_v) data; u: (k, K, B, n_h) uniforms, one per hidden sampling step (k = cd_k).
    Returns dW (K, n_v, n_h), db_vis (K, n_v), dc (K, n_h), recon error (K,) of the first step.
    """
    B = v0.shape[-2]
    ph0 = p_h_given_v(v0, W, c)  # (K, B, n_h) positive statistics use probabilities
    h = (u[0] < ph0).to(W.dtype)
    vk, phk = v0, ph0
    for step in range(u.shape[0]):
        vk = p_v_given_h(h, W, b_vis)  # probabilities for the visible reconstruction
        phk = p_h_given_v(vk, W, c)
        if step == 0:
            recon = ((v0 - vk) ** 2).sum(-1).mean(-1)  # (K,)
        if step + 1 < u.shape[0]:
            h = (u[step + 1] < phk).to(W.dtype)  # sample when it drives another reconstruction
    dW = (torch.bmm(v0.transpose(1, 2), ph0) - torch.bmm(vk.transpose(1, 2), phk)) / B
    db_vis = (v0 - vk).mean(1)
    dc = (ph0 - phk).mean(1)
    return dW, db_vis, dc, recon
