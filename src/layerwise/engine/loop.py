"""The one epoch loop of the engine: per-member data orders, minibatch steps, summed statistics.

Every trainer of the engine -- greedy pretraining (AE, DAE, RBM layers, also the deep
autoencoder's RBM stack), supervised fine-tuning and the deep autoencoder's reconstruction
fine-tuning -- trains a population of K members with minibatch SGD over per-member orders: member
k sees a fresh permutation of the N training rows every epoch (``population.permutations`` of its
own key), only full minibatches are used (N // batch_size per epoch; the remainder differs every
epoch because the order does), and step i of epoch e has the random-stream counter e * n_batches +
i. :func:`run_epoch` is that loop; :func:`train_epochs` adds what pretraining needs around it:
divergence detection once per epoch (on the device: one host sync per epoch), restoring a diverged
member to its start-of-epoch parameters and freezing it, and a (epochs, K) history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from layerwise.engine import population as pop

# step(*minibatch tensors, counter) -> a (K,) tensor, a tuple of tensors (each with K last) or None
Step = Callable[..., torch.Tensor | tuple | None]


def _rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows idx (K, B) of a shared (N,) / (N, n) tensor or a per-member (K, N, n) one."""
    return t[idx] if t.dim() < 3 else pop.gather_batch(t, idx)


def n_batches(n: int, batch_size: int) -> int:
    """Full minibatches per epoch; a batch larger than the data is an error naming both."""
    nb = n // batch_size
    if nb == 0:
        raise ValueError(f"batch_size {batch_size} exceeds the {n} training examples")
    return nb


def run_epoch(
    step: Step, keys: torch.Tensor, epoch: int, data: Sequence[torch.Tensor], batch_size: int
):
    """One epoch: ``step(*(rows of each tensor in data), counter)`` per minibatch, outputs summed.

    keys (K,) order keys of the members; data: tensors with N rows, shared or per member (K, N, n).
    Returns the sum over minibatches of the step's output (same structure; None stays None) and the
    number of minibatches.
    """
    K, n = keys.shape[0], data[0].shape[-2] if data[0].dim() == 3 else data[0].shape[0]
    nb = n_batches(n, batch_size)
    order = pop.permutations(keys, epoch, n)[:, : nb * batch_size].view(K, nb, batch_size)
    sums = None
    for i, idx in enumerate(order.unbind(1)):  # idx (K, B)
        out = step(*(_rows(t, idx) for t in data), epoch * nb + i)
        sums = _add(sums, out)
    return sums, nb


def _add(total, out):
    if out is None:
        return None
    if isinstance(out, tuple):
        total = total or (None,) * len(out)
        return tuple(_add(t, o) for t, o in zip(total, out, strict=True))
    return out.clone() if total is None else total + out


def train_epochs(
    x: torch.Tensor,
    params: list[torch.Tensor],
    step: Callable[[torch.Tensor, int], torch.Tensor],
    *,
    seeds: Sequence[int],
    epochs: int,
    batch_size: int,
    layer: int,
    active: torch.Tensor,
    log: Callable[[str], None],
    label: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy-layer training: ``epochs`` of :func:`run_epoch` with per-epoch divergence handling.

    step(xb (K,B,n), counter) -> loss (K,) updates ``params`` in place. The data order of layer
    ``layer`` has its own stream (seed, STREAM_ORDER, layer); epochs count from 0 in the streams.
    Mutates params and active in place. Returns the mean loss (epochs, K; NaN where frozen) and
    the 1-based epoch of divergence (K,; NaN if none).
    """
    K = len(seeds)
    keys = pop.member_keys(seeds, pop.STREAM_ORDER, layer, device=x.device)
    n_batches(x.shape[-2], batch_size)  # fail before the first epoch
    history = np.full((epochs, K), np.nan)
    diverged_epoch = np.full(K, np.nan)
    for epoch in range(epochs):
        was_active = active.clone()
        saved = [p.clone() for p in params]
        loss_sum, nb = run_epoch(step, keys, epoch, [x], batch_size)
        active &= pop.finite_members(loss_sum, params)
        pop.restore_members(params, saved, ~active)  # newly diverged and earlier frozen members
        mean = (loss_sum / nb).cpu().numpy()
        wa = was_active.cpu().numpy()
        history[epoch, wa] = mean[wa]
        diverged_epoch[wa & ~active.cpu().numpy()] = epoch + 1
        log(
            f"pretrain {label} layer {layer + 1} epoch {epoch + 1}/{epochs}: "
            f"recon error {np.nanmean(history[epoch]) if wa.any() else np.nan:.4f}, "
            f"training {int(active.sum())}/{K}"
        )
    return history, diverged_epoch
