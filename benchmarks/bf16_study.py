"""bf16 vs float32 on cells of the depth-table grid, paired by seed (issue 13, part 2).

Each cell (pretraining method, depth, width) is trained twice with the same seeds -- the same
initial weights, data orders, dropout and Gibbs noise -- once with precision "float32" and once
with "bf16" (layerwise.device), on an MNIST subset (the first n_train + n_valid training digits and
the first n_test test digits of /work/shared/data/mnist, or --mnist). Reported per cell: mean and
seed standard deviation of the test error in both precisions, and the paired difference
(bf16 - float32) with its standard deviation over seeds. bf16 passes a cell when the mean paired
difference lies within the seed spread (|mean diff| <= std of the float32 errors over seeds).

    python benchmarks/bf16_study.py                          # 3 cells x 5 seeds
    python benchmarks/bf16_study.py --seeds 1 2 3 --cells rbm:2 none:2 --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from layerwise.engine.finetune import FinetuneSettings, finetune
from layerwise.engine.pretrain import PretrainSettings, pretrain_stack

MNIST = Path("/work/shared/data/mnist")


def load(root: Path, n_train: int, n_valid: int, n_test: int) -> dict:
    def read(name, offset, shape):
        with gzip.open(root / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset).reshape(shape)

    x = read("train-images-idx3-ubyte.gz", 16, (-1, 784))[: n_train + n_valid]
    y = read("train-labels-idx1-ubyte.gz", 8, (-1,))[: n_train + n_valid].astype(np.int64)
    xt = read("t10k-images-idx3-ubyte.gz", 16, (-1, 784))[:n_test]
    yt = read("t10k-labels-idx1-ubyte.gz", 8, (-1,))[:n_test].astype(np.int64)
    return dict(
        x_train=x[:n_train], y_train=y[:n_train], x_valid=x[n_train:], y_valid=y[n_train:],
        x_test=xt, y_test=yt,
    )  # fmt: skip


def run_cell(method: str, depth: int, args, data: dict, precision: str) -> np.ndarray:
    """Test errors (K,) of one population: pretrain (unless "none") then fine-tune."""
    sizes = [args.width] * depth
    ps = PretrainSettings(
        seeds=args.seeds, lr=0.05 if method == "rbm" else 0.1, epochs=args.pretrain_epochs,
        batch_size=20, corruption_level=0.25, precision=precision,
    )  # fmt: skip
    quiet = {"log": lambda line: None}
    stack = pretrain_stack(method, data["x_train"], sizes, ps, **quiet)
    fs = FinetuneSettings(
        seeds=args.seeds, lr=0.1, max_epochs=args.finetune_epochs, patience=args.finetune_epochs,
        batch_size=20, precision=precision,
    )  # fmt: skip
    return finetune(stack.weights, data, fs, **quiet).summary.test_error.to_numpy()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cells", nargs="+", default=["none:2", "ae:2", "rbm:2"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--n", type=int, nargs=3, default=[2000, 500, 2000], help="train valid test")
    ap.add_argument("--pretrain-epochs", type=int, default=5)
    ap.add_argument("--finetune-epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--mnist", type=Path, default=MNIST)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "bf16_study.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load(args.mnist, *args.n)
    cells = []
    for cell in args.cells:
        method, depth = cell.split(":")
        t0, err = time.perf_counter(), {}
        for p in ("float32", "bf16"):
            err[p] = run_cell(method, int(depth), args, data, p)
        e32, e16 = err["float32"], err["bf16"]
        diff = e16 - e32
        row = dict(
            method=method, depth=int(depth), width=args.width, seeds=args.seeds,
            test_error_float32=e32.tolist(), test_error_bf16=e16.tolist(),
            mean_float32=float(e32.mean()), std_float32=float(e32.std(ddof=1)),
            mean_bf16=float(e16.mean()), std_bf16=float(e16.std(ddof=1)),
            mean_diff=float(diff.mean()), std_diff=float(diff.std(ddof=1)),
            max_abs_diff=float(np.abs(diff).max()), seconds=round(time.perf_counter() - t0, 1),
        )  # fmt: skip
        row["within_seed_spread"] = abs(row["mean_diff"]) <= row["std_float32"]
        print(json.dumps(row))
        cells.append(row)
    result = dict(args={k: str(v) for k, v in vars(args).items()}, cells=cells,
                  load_average=os.getloadavg())  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
