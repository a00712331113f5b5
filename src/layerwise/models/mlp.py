"""Population MLP: depth 1-4 hidden layers, softmax output trained on the negative log-likelihood.

Larochelle et al. (JMLR 2009) sec. 2 and 6: sigmoid hidden units, softmax output; ReLU as an option.
Dropout (Srivastava et al., JMLR 2014, sec. 4 and 10) on the input and on every hidden layer, with
per-member rates and *inverted* scaling: kept units are divided by the retention probability at
training time, so evaluation uses the weights unchanged and no masks. The output layer gets no
dropout. Max-norm (sec. 5.1): each hidden unit's incoming weight vector, a column W[k][:, j], is
rescaled to norm <= max_norm[k] after every update; the output layer is not constrained (choice).

Params are a list [(W1, b1), ..., (W_out, b_out)] with W (K, n_in, n_out), b (K, n_out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from layerwise.models.layers import ACTIVATIONS, affine

Params = Sequence[tuple[torch.Tensor, torch.Tensor]]


def dropout(h: torch.Tensor, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverted dropout: h * [u >= p] / (1 - p) with per-member p (K,) and uniforms u like h."""
    keep = 1.0 - p.view(-1, 1, 1)
    return h * (u >= p.view(-1, 1, 1)).to(h.dtype) / keep


def forward(
    params: Params,
    x: torch.Tensor,
    activation: str = "sigmoid",
    noise: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Logits (K, B, n_classes) for x shared (B, n_in) or per member (K, B, n_in).

    noise(l, h) applies dropout to the input (l = 0) and to hidden layer l's output (l >= 1);
    None means evaluation (no dropout).
    """
    act = ACTIVATIONS[activation]
    h = x if noise is None else noise(0, x)
    for layer, (W, b) in enumerate(params[:-1], start=1):
        h = act(affine(h, W, b))
        if noise is not None:
            h = noise(layer, h)
    W, b = params[-1]
    return affine(h, W, b)


def nll_and_error(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member mean NLL (K,) and number of errors (K,) for labels y: shared (B,) or (K, B)."""
    if y.dim() == 1:
        y = y.expand(logits.shape[0], -1)
    logp = F.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)  # (K, B)
    wrong = (logits.argmax(-1) != y).sum(-1)  # (K,)
    return nll.mean(-1), wrong


@torch.no_grad()
def error_rate(
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    activation: str = "sigmoid",
    batch_size: int = 1000,
) -> torch.Tensor:
    """(K,) classification error of every member on a shared data set, evaluated in batches."""
    if x.shape[0] == 0:
        return torch.full((params[0][0].shape[0],), float("nan"), device=x.device)
    wrong = torch.zeros(params[0][0].shape[0], dtype=torch.int64, device=x.device)
    for i in range(0, x.shape[0], batch_size):
        _, w = nll_and_error(
            forward(params, x[i : i + batch_size], activation), y[i : i + batch_size]
        )
        wrong += w
    return wrong.to(torch.float32) / x.shape[0]


@torch.no_grad()
def apply_max_norm(W: torch.Tensor, max_norm: torch.Tensor) -> None:
    """In place: scale columns of W (K, n_in, n_out) to L2 norm <= max_norm (K,) (inf = off)."""
    norms = W.norm(dim=1, keepdim=True)  # (K, 1, n_out)
    scale = torch.clamp(max_norm.view(-1, 1, 1) / norms.clamp_min(1e-12), max=1.0)
    W.mul_(scale)
