"""Throughput of the population trainer against the tutorial loop and the FLOP floor.

Workload (Larochelle et al., JMLR 2009, sec. 6): one epoch of a 784-1000-1000-1000-10 sigmoid MLP
fine-tuned by minibatch SGD on N random inputs in [0, 1] (168 GFLOP for N = 10000), one CD-1 epoch
of the first RBM (784-1000; Hinton 2002) and one epoch of the first tied autoencoder (784-1000,
cross-entropy; Bengio et al. 2007). Measured on whatever device is found, in one run:

  * the device's matmul rate (n x n float32, n = 4096 on a GPU, 1000 on a CPU) -> the floor
    FLOP / rate of every workload, so each figure is also a multiple of that floor;
  * the tutorial loop, written plainly (DataLoader over CPU tensors, nn.Sequential,
    torch.optim.SGD; on CUDA also with the data on the GPU);
  * our trainer (layerwise.engine.finetune's step and epoch; layerwise.engine.pretrain's RBM
    and AE layers)
    for each K (members trained together) and each minibatch size;
  * ms per population step at minibatch 20 against K (nearly flat on a GPU until it is busy).

Each figure is the median of --repeat timed epochs after a warm-up. FLOP counts per example:
fine-tuning 6 sum(n_in n_out) (forward 2, backward 4; element-wise work and the grad-norm Gram
products not counted); CD-1 10 n_v n_h; tied autoencoder 10 n_v n_h.

    python benchmarks/bench_trainer.py                      # full: K 1 8 32 128, minibatch 10, 100
    python benchmarks/bench_trainer.py --quick              # K 1 8, N 2000, step K up to 32
    python benchmarks/bench_trainer.py --ks 1 8 --batches 100 --n 10000 --threads 2 --repeat 5
    python benchmarks/bench_trainer.py --clock cpu --threads 1   # CPU time: for a shared machine

Writes benchmarks/out/bench_trainer_<device>.json (git-ignored; --out to change) and prints the
table. --clock cpu measures process CPU time instead of wall time: with --threads 1 on a machine
shared with other jobs it estimates the unloaded wall time (it is wrong with several threads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch

from layerwise.device import choose_device, configure_precision
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

    def median(self, fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
        """Median seconds of fn() over `repeat` calls after `warmup` untimed calls."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeat):
            t0 = self.now()
            fn()
            times.append(self.now() - t0)
        return statistics.median(times)


def matmul_rate(clock: Clock, n: int, repeat: int) -> float:
    """FLOP/s of an n x n float32 matmul on the clock's device."""
    a = torch.rand(n, n, device=clock.device)
    b = torch.rand(n, n, device=clock.device)
    reps = max(1, int(2e10 // (2 * n**3))) if clock.device.type == "cuda" else 1
    sec = clock.median(lambda: [a @ b for _ in range(reps)], repeat, warmup=2)
    return 2 * n**3 * reps / sec


def _data(n: int, n_in: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "x_train": torch.rand(n, n_in, generator=g).to(device),
        "y_train": torch.randint(0, 10, (n,), generator=g).to(device),
    }


def tutorial_epoch(sizes, n, batch, device, clock, repeat, data_on_device=False) -> float:
    """Seconds per epoch of the plain PyTorch loop a user would write."""
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    layers = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    d = _data(n, sizes[0], device if data_on_device else torch.device("cpu"))
    loader = DataLoader(TensorDataset(d["x_train"], d["y_train"]), batch_size=batch, shuffle=True)

    def epoch():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    return clock.median(epoch, repeat)


def finetune_epoch(sizes, n, batch, k, device, clock, repeat, n_steps=None) -> float:
    """Seconds per epoch (or per n_steps steps) of the fine-tuning trainer, K members."""
    seeds = list(range(k))
    s = ft.FinetuneSettings(seeds=seeds, lr=0.1, batch_size=batch, record_grad_norms=True)
    hidden = [
        init_layer(a, b, seeds, layer=i, device=device)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]
    run = ft.training_population(hidden, s, sizes[0], device, log=lambda line: None)
    d = _data(n if n_steps is None else n_steps * batch, sizes[0], device)
    counter = iter(range(1, 10**9))

    def epoch():
        loss, _, _ = ft.train_epoch(run, d, next(counter))
        return loss.sum().item()  # the epoch's one host sync, as in finetune()

    return clock.median(epoch, repeat)


def pretrain_epoch(method, sizes, n, batch, k, device, clock, repeat) -> float:
    """Seconds per epoch of the first pretraining layer (sizes[0] x sizes[1]), K members."""
    s = PretrainSettings(seeds=list(range(k)), lr=0.01, epochs=1, batch_size=batch)
    strategy = PRETRAINERS[method]
    x = _data(n, sizes[0], device)["x_train"]
    W, b = strategy.init_layer(sizes[0], sizes[1], s, layer=0, device=device)

    def epoch():
        active = torch.ones(k, dtype=torch.bool, device=device)
        strategy.train_layer(x, W, b, s, layer=0, active=active, log=lambda line: None)

    return clock.median(epoch, repeat)


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _row(what, impl, k, batch, n, sec, flop_per_example, rate, tutorial=None) -> dict:
    """One table row: ms per model-epoch, TFLOP/s, multiple of the floor, speed-up."""
    flop = flop_per_example * n * k
    per_model = sec / k
    return dict(
        what=what,
        impl=impl,
        K=k,
        batch=batch,
        n=n,
        s_per_epoch=_sig(sec),
        ms_per_model_epoch=_sig(1e3 * per_model),
        tflops=_sig(flop / sec / 1e12, 3),
        x_floor=_sig(sec / (flop / rate), 3),
        speedup_vs_tutorial=None if tutorial is None else _sig(tutorial / per_model, 3),
    )


def run_benchmarks(args, device: torch.device, clock: Clock, log=print) -> dict:
    """All measurements -> {"machine": ..., "rows": [...], "step_vs_k": [...]}."""
    sizes, n = args.sizes, args.n
    ft_flop = 6 * sum(a * b for a, b in zip(sizes + [10], sizes[1:] + [10], strict=False))
    rbm_flop = 10 * sizes[0] * sizes[1]
    rate = matmul_rate(clock, args.matmul_n, args.repeat)
    log(f"matmul {args.matmul_n}^3: {rate / 1e12:.4f} TFLOP/s")
    rows = []
    for batch in args.batches:
        tut = tutorial_epoch(sizes, n, batch, device, clock, args.repeat)
        rows.append(_row("finetune", "tutorial", 1, batch, n, tut, ft_flop, rate, tut))
        log(rows[-1])
        if device.type == "cuda":
            sec = tutorial_epoch(sizes, n, batch, device, clock, args.repeat, data_on_device=True)
            rows.append(
                _row("finetune", "tutorial-data-on-device", 1, batch, n, sec, ft_flop, rate, tut)
            )
            log(rows[-1])
        for k in args.ks:
            sec = finetune_epoch(sizes, n, batch, k, device, clock, args.repeat)
            rows.append(_row("finetune", "layerwise", k, batch, n, sec, ft_flop, rate, tut))
            log(rows[-1])
            for method in args.pretrain:
                sec = pretrain_epoch(method, sizes, n, batch, k, device, clock, args.repeat)
                label = "rbm_cd1" if method == "rbm" else f"{method}_tied"
                rows.append(_row(label, "layerwise", k, batch, n, sec, rbm_flop, rate))
                log(rows[-1])
    steps = []
    for k in args.step_ks:
        sec = finetune_epoch(sizes, n, 20, k, device, clock, args.repeat, n_steps=args.steps)
        steps.append(dict(K=k, batch=20, ms_per_step=_sig(1e3 * sec / args.steps)))
        log(steps[-1])
    return dict(matmul_tflops=rate / 1e12, rows=rows, step_vs_k=steps)


def machine(args, device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return dict(
        device=str(device),
        device_name=name or platform.machine(),
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        precision=args.precision,
        clock=args.clock,
        load_average=os.getloadavg(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def table(rows: list[dict]) -> str:
    cols = ["what", "impl", "K", "batch", "ms_per_model_epoch", "tflops", "x_floor"]
    cols.append("speedup_vs_tutorial")
    lines = [" | ".join(cols), " | ".join("---" for _ in cols)]
    lines += [" | ".join("" if r[c] is None else str(r[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    ap.add_argument("--precision", default="float32", choices=["float32", "tf32", "bf16"])
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"])
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32, 128])
    ap.add_argument("--batches", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--sizes", type=int, nargs="+", default=[784, 1000, 1000, 1000])
    ap.add_argument("--n", type=int, default=10_000, help="training examples per epoch")
    ap.add_argument("--pretrain", nargs="*", default=["rbm", "ae"], choices=["rbm", "ae", "dae"])
    ap.add_argument("--step-ks", type=int, nargs="*", default=[1, 2, 4, 8, 16, 32, 64, 128, 256])
    ap.add_argument("--steps", type=int, default=50, help="steps per step-vs-K measurement")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--matmul-n", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="K 1 8, N 2000, step K 1..32")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.ks, args.n, args.step_ks = [1, 8], 2000, [1, 2, 4, 8, 16, 32]
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    args.matmul_n = args.matmul_n or (4096 if device.type == "cuda" else 1000)
    previous = configure_precision(args.precision)
    try:
        info = machine(args, device)
        result = run_benchmarks(args, device, Clock(args.clock, device))
    finally:
        configure_precision(previous)
    info["load_average_after"] = os.getloadavg()
    result = dict(machine=info, args={k: v for k, v in vars(args).items() if k != "out"}, **result)
    print(table(result["rows"]))
    print("ms per population step at minibatch 20:", result["step_vs_k"])
    out = args.out or OUT / f"bench_trainer_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
