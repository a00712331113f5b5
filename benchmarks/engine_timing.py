"""Seconds per epoch of the training engine for populations of K members.

Workload (the architecture of Larochelle et al. JMLR 2009, sec. 6): 784-1000-1000-1000-10 sigmoid
MLP fine-tuned by minibatch SGD (minibatch 100) on 10000 random inputs in [0, 1], and one CD-1 epoch
of the first RBM (784-1000). One epoch = 100 minibatch steps; the fine-tuning epoch excludes the
validation pass. FLOP counts: fine-tuning 6*B*sum(n_in*n_out) per member and step (forward 2,
backward 4); CD-1 10*B*n_v*n_h (three conditionals, two outer products).

    python benchmarks/engine_timing.py --k 1 8 --threads 2 [--repeat 3] [--device auto] [--out FILE]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from layerwise import finetune as ft
from layerwise import populations as pop
from layerwise.device import choose_device
from layerwise.models.layers import init_layer
from layerwise.pretrain import PRETRAINERS, PretrainSettings

SIZES = [784, 1000, 1000, 1000]
N, B = 10_000, 100


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def finetune_epoch_seconds(k: int, device: torch.device, warmup: int = 3) -> float:
    seeds = list(range(k))
    s = ft.FinetuneSettings(seeds=seeds, lr=0.1, batch_size=B, record_grad_norms=True)
    hidden = [
        init_layer(a, b, seeds, layer=i, device=device)
        for i, (a, b) in enumerate(zip(SIZES, SIZES[1:], strict=False))
    ]
    params = ft._initial_params(hidden, s, SIZES[0], device)
    step = ft._make_step(params, s, device)
    g = torch.Generator().manual_seed(0)
    d = {
        "x_train": torch.rand(N, SIZES[0], generator=g).to(device),
        "y_train": torch.randint(0, 10, (N,), generator=g).to(device),
    }
    active = torch.ones(k, dtype=torch.bool, device=device)
    idx = torch.arange(B, device=device).expand(k, B)
    for i in range(warmup):
        step(d["x_train"][idx], d["y_train"][idx], i, active)
    keys = pop.member_keys(seeds, pop.STREAM_ORDER, device=device)
    _sync(device)
    t0 = time.perf_counter()
    loss, _, _ = ft._train_epoch(step, params, d, s, keys, 1, active)
    loss.cpu()
    _sync(device)
    return time.perf_counter() - t0


def rbm_epoch_seconds(k: int, device: torch.device) -> float:
    s = PretrainSettings(seeds=list(range(k)), lr=0.01, epochs=1, batch_size=B, cd_k=1)
    x = torch.rand(N, SIZES[0], generator=torch.Generator().manual_seed(0)).to(device)
    rbm = PRETRAINERS["rbm"]
    W, b = rbm.init_layer(SIZES[0], SIZES[1], s, layer=0, device=device)
    active = torch.ones(k, dtype=torch.bool, device=device)
    rbm.train_layer(
        x[: 3 * B], W.clone(), b.clone(), s, layer=0, active=active.clone(), log=lambda line: None
    )  # warm-up on 3 minibatches
    _sync(device)
    t0 = time.perf_counter()
    rbm.train_layer(x, W, b, s, layer=0, active=active, log=lambda line: None)
    _sync(device)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=3, help="report the fastest of n epochs")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    ft_flop = 6 * B * sum(a * b for a, b in zip(SIZES + [10], SIZES[1:] + [10], strict=False))
    rows = []
    for k in args.k:
        for what, fn, flop in [
            ("finetune", finetune_epoch_seconds, ft_flop),
            ("rbm_cd1_784x1000", rbm_epoch_seconds, 10 * B * 784 * 1000),
        ]:
            sec = min(fn(k, device) for _ in range(args.repeat))  # shared machines: min
            rows.append(
                dict(
                    device=str(device),
                    threads=args.threads,
                    K=k,
                    what=what,
                    s_per_epoch=round(sec, 3),
                    s_per_member_epoch=round(sec / k, 3),
                    gflops=round(k * flop * (N // B) / sec / 1e9, 1),
                )
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
