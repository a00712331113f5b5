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

from layerwise.engine.layers import ACTIVATIONS, affine

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
def evaluate(
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    activation: str = "sigmoid",
    batch_size: int = 1000,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(K,) classification error and (K,) mean NLL of every member on a shared data set, in
    batches (NaN for an empty set)."""
    k = params[0][0].shape[0]
    if x.shape[0] == 0:
        nan = torch.full((k,), float("nan"), device=x.device)
        return nan, nan.clone()
    wrong = torch.zeros(k, dtype=torch.int64, device=x.device)
    nll = torch.zeros(k, dtype=torch.float32, device=x.device)
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        loss, w = nll_and_error(forward(params, xb, activation), yb)
        wrong += w
        nll += loss * xb.shape[0]
    return wrong.to(torch.float32) / x.shape[0], nll / x.shape[0]


def error_rate(
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    activation: str = "sigmoid",
    batch_size: int = 1000,
) -> torch.Tensor:
    """(K,) classification error of every member on a shared data set, evaluated in batches."""
    return evaluate(params, x, y, activation, batch_size)[0]


@torch.no_grad()
def predict(
    params: Params, x: torch.Tensor, activation: str = "sigmoid", batch_size: int = 1000
) -> torch.Tensor:
    """(K, N) predicted class (argmax of the logits) of every member on shared x (N, n_in)."""
    out = [forward(params, x[i : i + batch_size], activation).argmax(-1)
           for i in range(0, x.shape[0], batch_size)]  # fmt: skip
    if not out:
        return torch.zeros((params[0][0].shape[0], 0), dtype=torch.int64, device=x.device)
    return torch.cat(out, dim=1)


@torch.no_grad()
def apply_max_norm(W: torch.Tensor, max_norm: torch.Tensor) -> None:
    """In place: scale columns of W (K, n_in, n_out) to L2 norm <= max_norm (K,) (inf = off)."""
    norms = W.norm(dim=1, keepdim=True)  # (K, 1, n_out)
    scale = torch.clamp(max_norm.view(-1, 1, 1) / norms.clamp_min(1e-12), max=1.0)
    W.mul_(scale)


# --- Training step with hand-written gradients and fused updates -------------------------------
#
# Profiled on CPU (docs/performance.md): autograd bookkeeping, materialised weight gradients and
# a separate update pass over every weight cost as much as the matrix products at small
# minibatches. The step below back-propagates by hand (as models.autoencoder does) and, where the
# gradient norm is not needed, adds -lr * h^T delta straight into W with one in-place baddbmm_
# (no (K, n_in, n_out) gradient tensor at all). Frozen members get lr = momentum = 0.


def _drop(h: torch.Tensor, keep_mask: torch.Tensor | None, keep: torch.Tensor | None):
    """Inverted dropout with a precomputed keep mask: where(mask, h / (1 - p), 0)."""
    if keep_mask is None:
        return h
    return torch.where(keep_mask, h / keep, 0.0)


def _act_backward(dh: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """dL/da from dL/dh for h = act(a), using the output h (K, B, n)."""
    if activation == "sigmoid":
        return dh * (1.0 - h) * h
    return torch.where(h > 0, dh, 0.0)


def _grad_norm_cheaper_by_gram(batch: int, n_in: int, n_out: int) -> bool:
    """||h^T d||_F^2 = <h h^T, d d^T>: B^2 (n_in + n_out) products instead of B n_in n_out."""
    return batch * (n_in + n_out) < n_in * n_out


def _update_layer(W, b, vW, vb, h_in, delta, lr, mom, record: bool):
    """In-place SGD(+momentum) update of one layer -> ||dL/dW||_F per member (K,) or None.

    h_in (K, B, n_in) layer input, delta (K, B, n_out) = dL/d(pre-activation); lr, mom (K, 1, 1).
    """
    hT, norm = h_in.transpose(1, 2), None
    gb = delta.sum(1)  # (K, n_out)
    if record and not _grad_norm_cheaper_by_gram(*h_in.shape[1:], W.shape[2]):
        g = torch.bmm(hT, delta)  # (K, n_in, n_out): small layers, or B large
        norm = g.flatten(1).norm(dim=1)
        if vW is None:
            W.addcmul_(g, lr, value=-1.0)
        else:
            W.sub_(vW.mul_(mom).addcmul_(g, lr))
    else:
        if record:  # (K, B, B) Gram matrices; clamp: rounding may leave a tiny negative
            sq = (torch.bmm(h_in, hT) * torch.bmm(delta, delta.transpose(1, 2))).sum((1, 2))
            norm = sq.clamp_min(0.0).sqrt()
        if vW is None:
            W.baddbmm_(hT, delta * -lr)
        else:
            W.sub_(vW.mul_(mom).baddbmm_(hT, delta * lr))
    if vb is None:
        b.addcmul_(gb, lr.view(-1, 1), value=-1.0)
    else:
        b.sub_(vb.mul_(mom.view(-1, 1)).addcmul_(gb, lr.view(-1, 1)))
    return norm


@torch.no_grad()
def sgd_train_step(
    params: Sequence[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lr: torch.Tensor,
    *,
    momentum: torch.Tensor | None = None,
    velocity: Sequence[torch.Tensor] | None = None,
    activation: str = "sigmoid",
    masks: Sequence[torch.Tensor | None] | None = None,
    keep: Sequence[torch.Tensor | None] | None = None,
    record_norms: bool = True,
    output_lr: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One SGD step on the mean NLL for all members, in place -> loss (K,), errors (K,), norms.

    params: flat [W1, b1, ..., W_out, b_out], W (K, n_in, n_out); x (K, B, n_in); y (K, B);
    lr, momentum: (K,) (0 for frozen members); output_lr: (K,) learning rate of the output layer
    (None: lr); velocity like params (None without momentum);
    masks[l]: bool keep mask for the input (l = 0) or hidden layer l's output, or None;
    keep[l]: (K, 1, 1) retention probabilities 1 - p. Norms: (L, K) ||dNLL/dW_l||_F or None.
    Same gradients as autograd through forward() + nll_and_error() (tests/models/test_fast_paths).
    """
    n_layers, act = len(params) // 2, ACTIVATIONS[activation]
    masks = masks or [None] * n_layers
    keep = keep or [None] * n_layers
    ins, outs = [_drop(x, masks[0], keep[0])], []  # layer inputs (after dropout), hidden outputs
    for i in range(n_layers - 1):
        outs.append(act(torch.baddbmm(params[2 * i + 1].unsqueeze(1), ins[-1], params[2 * i])))
        ins.append(_drop(outs[-1], masks[i + 1], keep[i + 1]))
    logits = torch.baddbmm(params[-1].unsqueeze(1), ins[-1], params[-2])  # (K, B, C)
    logp = F.log_softmax(logits, dim=-1)
    loss = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)  # (K,)
    wrong = (logits.argmax(-1) != y).sum(-1)
    delta = logp.exp_()  # dL/dlogits = (softmax - onehot) / B, per member
    delta.scatter_add_(-1, y.unsqueeze(-1), torch.full_like(delta[..., :1], -1.0))
    delta.mul_(1.0 / x.shape[1])
    lr3 = lr.view(-1, 1, 1)
    out3 = lr3 if output_lr is None else output_lr.view(-1, 1, 1)
    mom3 = None if momentum is None else momentum.view(-1, 1, 1)
    norms = []
    for i in reversed(range(n_layers)):
        W, b = params[2 * i], params[2 * i + 1]
        below = None
        if i > 0:  # back-propagate with the weights before their update
            dh = _drop(torch.bmm(delta, W.transpose(1, 2)), masks[i], keep[i])
            below = _act_backward(dh, outs[i - 1], activation)
        vW, vb = (None, None) if velocity is None else velocity[2 * i : 2 * i + 2]
        step = out3 if i == n_layers - 1 else lr3
        norms.append(_update_layer(W, b, vW, vb, ins[i], delta, step, mom3, record_norms))
        delta = below
    return loss, wrong, (torch.stack(norms[::-1]) if record_norms else None)
