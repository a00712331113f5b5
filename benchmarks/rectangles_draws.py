"""The RBF SVM's test error on rectangles over several data draws, per minimum side length.

docs/data-fidelity.md, "Rectangles: the data draw and thin bars". Each draw generates train /
valid / test at the papers' sizes (test subsampled) with its own seed and runs the same SVM
selection as the `baselines` rule (layerwise.data.baselines.svm_rbf_baseline):

    OMP_NUM_THREADS=1 python benchmarks/rectangles_draws.py --min-sides 1 2 --draws 10
"""

from __future__ import annotations

import argparse

import numpy as np

from layerwise.data.baselines import svm_rbf_baseline
from layerwise.data.rectangles import make_rectangles


def draw_errors(min_side: int, seeds: list[int], sizes=(1000, 200, 10000)) -> list[float]:
    """SVM test error (%) of one data draw per seed."""
    errors = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        splits = [make_rectangles(n, rng=rng, min_side=min_side) for n in sizes]
        result = svm_rbf_baseline(*(a for split in splits for a in split), seed=0)
        errors.append(100 * result["test_error"])
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-sides", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.draws))
    for min_side in args.min_sides:
        errors = draw_errors(min_side, seeds)
        print(f"min_side {min_side}: {' '.join(f'{e:.2f}' for e in errors)} "
              f"mean {np.mean(errors):.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
