"""Throughput of the population trainer against the tutorial loop, a torch.func ensemble and the
FLOP floor, in float32 and bf16 (issue 13).

Workload (Larochelle et al., JMLR 2009, sec. 6): one epoch of a 784-w-w-w-10 sigmoid MLP
fine-tuned by minibatch SGD on N random inputs in [0, 1], one CD-1 epoch of the first RBM (784-w;
Hinton 2002) and one epoch of the first tied autoencoder (784-w, cross-entropy; Bengio et al.
2007). For every width w, minibatch size and K (models trained at once), in one run:

  * the tutorial loop (fp32; DataLoader over CPU tensors, nn.Sequential, torch.optim.SGD),
    one model (K models cost K times as much);
  * a torch.func ensemble, the way a PyTorch user trains K models at once: stack_module_state of
    K nn.Sequential models, vmap(grad(loss)) over the stacked parameters, per-member learning
    rates, per-member data orders (fp32);
  * ours, layerwise.engine (finetune.training_population / train_epoch; the RBM and AE layers of
    pretrain.PRETRAINERS), with precision float32 and bf16 (layerwise.device).

Every implementation of a cell is timed *interleaved* (warm-up round, then --repeat rounds of one
epoch each, all implementations in turn; medians), so a load change on a shared machine hits all
of them alike and the ratios stay meaningful. Columns: ms per model-epoch (epoch time / K),
TFLOP/s, x floor (time / (FLOP / matmul rate of the row's precision: float32 n x n, or the same
product with bf16 operands)), x tutorial (speed-up per model over the tutorial loop) and x fp32
(speed-up of a bf16 row over our float32 row of the same cell). FLOP per example: fine-tuning
6 sum(n_in n_out); CD-1 and tied AE 10 n_v n_h.

    python benchmarks/bench_trainer.py                  # widths 500 1000, batch 20 10 100, K 1 8
    python benchmarks/bench_trainer.py --quick               # width 1000, batch 20, K 1
    python benchmarks/bench_trainer.py --threads 1 --clock cpu   # CPU time: on a shared machine

Writes benchmarks/out/bench_trainer_<device>.json (git-ignored; --out to change) and prints the
table. --clock cpu measures process CPU time: with --threads 1 on a machine shared with other jobs
it estimates the unloaded wall time (it is wrong with several threads).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from layerwise.device import bf16_products, choose_device, configure_precision
from layerwise.engine import finetune as ft
from layerwise.engine.layers import init_layer
from layerwise.engine.pretrain import PRETRAINERS, PretrainSettings

OUT = Path(__file__).parent / "out"


class Clock:
    """Wall (perf_counter, synchronising CUDA) or process CPU time."""

    def __init__(self, kind: str, device: torch.device):
        self.kind, self.device = kind, device

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return time.process_time() if self.kind == "cpu" else time.perf_counter()

    def time(self, fn) -> float:
        t0 = self.now()
        fn()
        return self.now() - t0

    def interleaved(self, fns: dict, repeat: int) -> dict[str, float]:
        """Median seconds per call of every fn: one warm-up round, then `repeat` rounds in turn."""
        for fn in fns.values():
            fn()
        times = {name: [] for name in fns}
        for _ in range(repeat):
            for name, fn in fns.items():
                times[name].append(self.time(fn))
        return {name: statistics.median(t) for name, t in times.items()}


def matmul_rate(clock: Clock, n: int, repeat: int, bf16: bool = False) -> float:
    """FLOP/s of an n x n float32 matmul (bf16: inside bf16_products, as the engine runs it;
    bfloat16 arithmetic only where oneDNN takes it, layerwise.device.bf16_takes_effect)."""
    a, b = torch.rand(n, n, device=clock.device), torch.rand(n, n, device=clock.device)
    reps = max(1, int(2e10 // (2 * n**3))) if clock.device.type == "cuda" else 3

    def run():
        with bf16_products(bf16):
            for _ in range(reps):
                a @ b

    return 2 * n**3 * reps / clock.interleaved({"mm": run}, repeat)["mm"]


def _data(n: int, n_in: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "x_train": torch.rand(n, n_in, generator=g).to(device),
        "y_train": torch.randint(0, 10, (n,), generator=g).to(device),
    }


def _sequential(sizes) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 10))


def tutorial_fn(sizes, n, batch, device, data_on_device=False):
    """One epoch of the plain PyTorch loop a user would write (one model)."""
    from torch.utils.data import DataLoader, TensorDataset

    model = _sequential(sizes).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    d = _data(n, sizes[0], device if data_on_device else torch.device("cpu"))
    loader = DataLoader(TensorDataset(d["x_train"], d["y_train"]), batch_size=batch, shuffle=True)

    def epoch():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

    return epoch


def torchfunc_fn(sizes, n, batch, k, device):
    """One epoch of K models as a torch.func ensemble: stacked parameters, vmap(grad(loss)),
    per-member learning rates and data orders (torch.func's model-ensembling recipe + SGD)."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    models = [_sequential(sizes).to(device) for _ in range(k)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, x, y):
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    grads = vmap(grad(loss))
    lrs = torch.linspace(0.05, 0.2, k, device=device)
    d, g = _data(n, sizes[0], device), torch.Generator().manual_seed(1)

    def epoch():
        order = torch.stack([torch.randperm(n, generator=g) for _ in range(k)]).to(device)
        for i in range(n // batch):
            idx = order[:, i * batch : (i + 1) * batch]  # (K, B): member k's minibatch
            gs = grads(params, buffers, d["x_train"][idx], d["y_train"][idx])
            with torch.no_grad():
                for name, p in params.items():
                    p.sub_(gs[name] * lrs.view(-1, *[1] * (p.dim() - 1)))

    return epoch


def ours_fn(sizes, n, batch, k, device, precision):
    """One epoch of our fine-tuning trainer (the code finetune() runs), K members."""
    seeds = list(range(k))
    s = ft.FinetuneSettings(seeds=seeds, lr=0.1, batch_size=batch, precision=precision)
    hidden = [
        init_layer(a, b, seeds, layer=i, device=device)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]
    run = ft.training_population(hidden, s, sizes[0], device, log=lambda line: None)
    d, counter = _data(n, sizes[0], device), iter(range(1, 10**9))
    return lambda: ft.train_epoch(run, d, next(counter))[0].sum().item()  # one host sync


def pretrain_fn(method, sizes, n, batch, k, device, precision):
    """One epoch of the first pretraining layer (sizes[0] x sizes[1]), K members."""
    s = PretrainSettings(
        seeds=list(range(k)), lr=0.01, epochs=1, batch_size=batch, precision=precision
    )
    strategy, x = PRETRAINERS[method], _data(n, sizes[0], device)["x_train"]
    W, b = strategy.init_layer(sizes[0], sizes[1], s, layer=0, device=device)

    def epoch():
        active = torch.ones(k, dtype=torch.bool, device=device)
        strategy.train_layer(x, W, b, s, layer=0, active=active, log=lambda line: None)

    return epoch


def _sig(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else float(f"{x:.{digits}g}")


def cell_rows(args, width, batch, device, clock, rates, log) -> list[dict]:
    """Every implementation of one (width, minibatch) cell, timed interleaved -> table rows."""
    sizes, n = [784, width, width, width], args.n
    flop = {"finetune": 6 * sum(a * b for a, b in zip(sizes, sizes[1:] + [10], strict=True))}
    flop["rbm_cd1"] = flop["ae_tied"] = 10 * sizes[0] * sizes[1]
    fns, meta = {}, {}
    if "tutorial" in args.impls:
        fns["tut"], meta["tut"] = tutorial_fn(sizes, n, batch, device), ("finetune", "tutorial", 1)
    for k in args.ks:
        if "torch.func" in args.impls:
            fns[f"func{k}"] = torchfunc_fn(sizes, n, batch, k, device)
            meta[f"func{k}"] = ("finetune", "torch.func", k)
        for p in args.precisions:
            fns[f"ours{k}{p}"] = ours_fn(sizes, n, batch, k, device, p)
            meta[f"ours{k}{p}"] = ("finetune", "layerwise", k, p)
            for m in args.pretrain:
                fns[f"{m}{k}{p}"] = pretrain_fn(m, sizes, n, batch, k, device, p)
                meta[f"{m}{k}{p}"] = ("rbm_cd1" if m == "rbm" else f"{m}_tied", "layerwise", k, p)
    load = os.getloadavg()
    sec = clock.interleaved(fns, args.repeat)
    tut = sec.get("tut")
    rows = []
    for key, (what, impl, k, *prec) in meta.items():
        p = prec[0] if prec else "float32"
        fp32 = sec.get(f"ours{k}float32" if what == "finetune" else f"{key[: -len(p)]}float32")
        per_model = sec[key] / k
        rows.append(dict(
            what=what, impl=impl, precision=p, width=width, K=k, batch=batch, n=n,
            s_per_epoch=_sig(sec[key]), ms_per_model_epoch=_sig(1e3 * per_model),
            tflops=_sig(flop[what] * n * k / sec[key] / 1e12, 3),
            x_floor=_sig(sec[key] / (flop[what] * n * k / rates[p]), 3),
            x_tutorial=_sig(tut / per_model, 3) if tut and what == "finetune" else None,
            x_fp32=_sig(fp32 / sec[key], 3) if p != "float32" and fp32 else None,
            load_average=load[0],
        ))  # fmt: skip
        log(rows[-1])
    return rows


def machine(args, device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return dict(
        device=str(device),
        device_name=name or platform.machine(),
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        precisions=args.precisions,
        clock=args.clock,
        load_average=os.getloadavg(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


COLS = ["what", "impl", "precision", "width", "K", "batch", "ms_per_model_epoch", "tflops"]
COLS += ["x_floor", "x_tutorial", "x_fp32", "load_average"]


def table(rows: list[dict]) -> str:
    lines = [" | ".join(COLS), " | ".join("---" for _ in COLS)]
    lines += [" | ".join("" if r[c] is None else str(r[c]) for c in COLS) for r in rows]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--precisions", nargs="+", default=["float32", "bf16"])
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"])
    ap.add_argument("--widths", type=int, nargs="+", default=[500, 1000])
    ap.add_argument("--batches", type=int, nargs="+", default=[20, 10, 100])
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--impls", nargs="+", default=["tutorial", "torch.func", "layerwise"])
    ap.add_argument("--n", type=int, default=1000, help="training examples per epoch")
    ap.add_argument("--pretrain", nargs="*", default=["rbm", "ae"], choices=["rbm", "ae", "dae"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--matmul-n", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="width 1000, minibatch 20, K 1")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.widths, args.batches, args.ks = [1000], [20], [1]
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    args.matmul_n = args.matmul_n or (4096 if device.type == "cuda" else 1000)
    previous = configure_precision("float32", device)
    try:
        info, clock = machine(args, device), Clock(args.clock, device)
        rates = {p: matmul_rate(clock, args.matmul_n, args.repeat, p == "bf16") for p in ["bf16"]}
        rates["float32"] = matmul_rate(clock, args.matmul_n, args.repeat)
        print({p: f"{r / 1e12:.4f} TFLOP/s" for p, r in rates.items()})
        rows = []
        for width in args.widths:
            for batch in args.batches:
                rows += cell_rows(args, width, batch, device, clock, rates, print)
    finally:
        configure_precision(previous)
    info["load_average_after"] = os.getloadavg()
    result = dict(
        machine=info,
        args={k: v for k, v in vars(args).items() if k != "out"},
        matmul_tflops={p: r / 1e12 for p, r in rates.items()},
        rows=rows,
    )
    print(table(rows))
    out = args.out or OUT / f"bench_trainer_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
