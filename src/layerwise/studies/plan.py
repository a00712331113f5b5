"""The planned work of a profile, counted from its resolved jobs before anything runs.

Every stage that trains nets is counted as an upper bound: each member trains for its budget's
``max_epochs`` (early stopping and successive halving only ever make a run cheaper), and work is
counted in floating-point operations of the matrix products that dominate it (a multiply-add is
2 FLOP; a training step costs 3 forward passes: forward, backward to the activations, backward to
the weights). All benchmark sets are 28 x 28 images (784 inputs); the output layer is counted at
10 classes, the most any set has.

* fine-tuning: members x max_epochs x n_train images, where successive halving stops all but
  ceil(n / eta) of each selection group at every rung, plus the clean evaluation of every epoch's
  validation split and, once, of the training and validation splits (every member) and of the
  test split (the members selection can choose);
* pretraining: per stack, seeds x layers x epochs x n_train images; an autoencoder layer is an
  encoder and a decoder pass (x3 for training), an RBM layer with CD-k 2 + 2k products of its
  weight matrix per image (positive phase, k Gibbs steps, the two outer products);
* the dropout study: like fine-tuning; the deep autoencoder: its RBM stack (CD-1) and the
  fine-tuning of the unrolled encoder-decoder, for a pretrained and a random member per seed.

The SVM baselines are not counted in FLOP (their cost depends on the support vectors); they are
counted as fits. The estimate of wall time scales each stage's planned FLOP by a constant
measured on the development machine (:data:`SECONDS_PER_TFLOP`: job seconds per planned TFLOP of
the main job, early stopping included), corrected by a short matrix-product calibration of the
machine it runs on; a rough guide (it assumes the main job's shapes), not a promise.
``python -m layerwise.studies.plan CONFIG [--cores N] [--calibrate]`` prints it; ``make run`` and
``make study`` print it before they start.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from layerwise.config import load_config
from layerwise.engine.finetune import FinetuneSettings
from layerwise.studies.dropout import dropout_jobs
from layerwise.studies.grid import finetune_jobs, pretrain_jobs
from layerwise.studies.members import halving_groups

N_IN = 784  # every benchmark set: 28 x 28 images
N_OUT = 10  # the most classes any set has (an upper bound for the binary sets)

#: Job seconds per planned TFLOP of each stage on the development machine (2-core AMD EPYC, Zen 4,
#: one thread per job), measured on the main job (config/default.yaml, 250-unit layers) from a fresh
#: clone: the planned FLOP are an upper bound, so these also carry what early stopping saves. Small
#: products at minibatch 20 run far below the machine's matrix-product rate, hence the spread.
#: docs/choices.md, "The main job".
SECONDS_PER_TFLOP = {"pretrain": 39.0, "finetune": 19.0, "dropout_study": 11.2,
                     "deep_autoencoder": 15.6}  # fmt: skip
#: Single-thread float32 matrix-product rate of that machine (GFLOP/s, :func:`calibrate`).
REFERENCE_GFLOPS = 157.0
#: Job seconds of everything not counted in FLOP (data, baselines, collect, report, MLflow import)
#: for a profile with the papers' split sizes, on the development machine.
FIXED_JOB_SECONDS = 165.0


@dataclass(frozen=True)
class StagePlan:
    stage: str
    jobs: int
    members: int  # nets trained (a pretraining stack counts one per seed)
    member_epochs: float  # at most, in epochs of 10000 images
    tflop: float  # at most


def mlp_macs(n_in: int, hidden: list[int] | tuple[int, ...], n_out: int) -> int:
    """Multiply-adds of one forward pass of one image through an MLP."""
    sizes = [n_in, *hidden, n_out]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def _train_flop(macs: int, images: float) -> float:
    return 2.0 * 3.0 * macs * images  # 2 FLOP per multiply-add, 3 passes per training step


def _eval_flop(macs: int, images: float) -> float:
    return 2.0 * macs * images


def _splits(cfg: dict, dataset: str) -> tuple[int, int, int]:
    spec = cfg["data"]["datasets"][dataset]
    return int(spec["n_train"]), int(spec["n_valid"]), int(spec["n_test"])


def member_epochs_with_halving(group_sizes: list[int], settings: FinetuneSettings) -> int:
    """Epochs the members of one population train at most: every member of a halving group
    until the first rung, then ceil(n / eta) of them to the next rung, and so on to max_epochs."""
    total = 0
    for n in group_sizes:
        alive, start = n, 0
        for rung in [r for r in settings.halving_rungs if r < settings.max_epochs]:
            total += alive * (rung - start)
            alive, start = math.ceil(alive / settings.halving_eta), rung
        total += alive * (settings.max_epochs - start)
    return total


def finetune_plan(cfg: dict) -> StagePlan:
    jobs = finetune_jobs(cfg)
    members = epochs = flop = 0.0
    for job in jobs:
        n_train, n_valid, n_test = _splits(cfg, job.dataset)
        macs = mlp_macs(N_IN, [job.n_hidden] * job.depth, N_OUT)
        k = len(job.members)
        sizes = list(Counter(halving_groups(job.members)).values())
        e = member_epochs_with_halving(sizes, job.settings)  # summed over the members
        survivors = len(sizes) if job.settings.halving_rungs else k  # selection can choose these
        members += k
        epochs += e * n_train / 10000
        flop += _train_flop(macs, e * n_train) + _eval_flop(macs, e * n_valid)
        flop += k * _eval_flop(macs, n_train + n_valid) + survivors * _eval_flop(macs, n_test)
    return StagePlan("finetune", len(jobs), int(members), epochs, flop / 1e12)


def _layer_flop(method: str, settings: dict, n_in: int, n_hidden: int, images: float) -> float:
    if method == "rbm":
        return 2.0 * (2 + 2 * int(settings.get("cd_k", 1))) * n_in * n_hidden * images
    return _train_flop(2 * n_in * n_hidden, images)  # encoder + decoder


def pretrain_plan(cfg: dict) -> StagePlan:
    jobs = pretrain_jobs(cfg)
    members = epochs = flop = 0.0
    for job in jobs:
        if job.method == "none":
            continue
        n_train = _splits(cfg, job.dataset)[0]
        images = job.settings["epochs"] * n_train
        sizes = [N_IN] + [job.n_hidden] * job.n_layers
        for n_in, n_hid in zip(sizes[:-1], sizes[1:], strict=False):
            flop += len(job.seeds) * _layer_flop(job.method, job.settings, n_in, n_hid, images)
        members += len(job.seeds)
        epochs += len(job.seeds) * job.n_layers * images / 10000
    return StagePlan("pretrain", len(jobs), int(members), epochs, flop / 1e12)


def dropout_study_plan(cfg: dict) -> StagePlan:
    jobs = list(dropout_jobs(cfg).values())  # {} when the study is off
    members = epochs = flop = 0.0
    for job in jobs:
        n_train, n_valid, n_test = _splits(cfg, job.dataset)
        n_train, n_valid = job.n_train or n_train, job.n_valid or n_valid
        macs = mlp_macs(N_IN, [job.n_hidden] * job.depth, N_OUT)
        k, e = len(job.members), job.settings.max_epochs
        members += k
        epochs += k * e * n_train / 10000
        flop += k * (_train_flop(macs, e * n_train) + _eval_flop(macs, e * n_valid + n_test))
    return StagePlan("dropout_study", len(jobs), int(members), epochs, flop / 1e12)


def deep_autoencoder_plan(cfg: dict) -> StagePlan:
    a = cfg["deep_autoencoder"]
    if not a["enabled"]:
        return StagePlan("deep_autoencoder", 0, 0, 0.0, 0.0)
    n_train = a["n_train"] or _splits(cfg, a["dataset"])[0]
    n_test = _splits(cfg, a["dataset"])[2]
    members = epochs = flop = 0.0
    for code in a["code_sizes"]:
        sizes = [N_IN, *a["hidden"], code]
        seeds = len(a["seeds"])
        pre_images = a["pretrain"]["epochs"] * n_train
        for n_in, n_hid in zip(sizes[:-1], sizes[1:], strict=False):
            flop += seeds * _layer_flop("rbm", {"cd_k": 1}, n_in, n_hid, pre_images)
        macs = 2 * mlp_macs(N_IN, a["hidden"], code)  # encoder + mirrored decoder
        ft_images = a["finetune"]["epochs"] * n_train
        flop += 2 * seeds * (_train_flop(macs, ft_images) + _eval_flop(macs, n_test))
        members += 2 * seeds
        epochs += 2 * seeds * ft_images / 10000
    jobs = len(a["code_sizes"])
    return StagePlan("deep_autoencoder", jobs, int(members), epochs, flop / 1e12)


def baseline_fits(cfg: dict) -> int:
    """SVM and logistic-regression fits of the baselines (candidates + one refit per classifier)."""
    b = cfg["data"]["baselines"]
    if not b["enabled"]:
        return 0
    sets = b["datasets"] or [d for d in cfg["data"]["datasets"] if d != "mnist-full"]
    per_set = 0
    if "svm_rbf" in b["classifiers"]:
        per_set += len(b["svm_rbf"]["C_grid"]) * len(b["svm_rbf"]["gamma_factors"]) + 1
    if "logreg" in b["classifiers"]:
        per_set += len(b["logreg"]["C_grid"]) + 1
    return per_set * len(sets)


def plan(cfg: dict) -> list[StagePlan]:
    """The planned work of a validated config, stage by stage."""
    return [
        pretrain_plan(cfg),
        finetune_plan(cfg),
        dropout_study_plan(cfg),
        deep_autoencoder_plan(cfg),
    ]


def total_tflop(cfg: dict) -> float:
    return sum(s.tflop for s in plan(cfg))


def job_seconds(stages: list[StagePlan]) -> float:
    """Expected job seconds on the development machine: each stage's planned TFLOP at its measured
    seconds per TFLOP, plus the fixed jobs."""
    return sum(s.tflop * SECONDS_PER_TFLOP[s.stage] for s in stages) + FIXED_JOB_SECONDS


def calibrate(seconds: float = 1.0, n: int = 512) -> float:
    """Single-thread float32 matrix-product rate of this machine in GFLOP/s (about ``seconds``)."""
    import torch  # only the calibration needs it

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.rand(n, n), torch.rand(n, n)
        a @ b  # warm-up
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            reps += 1
        return 2.0 * n**3 * reps / (time.perf_counter() - start) / 1e9
    finally:
        torch.set_num_threads(threads)


def estimate_minutes(stages: list[StagePlan], cores: int, gflops: float | None = None) -> float:
    """Expected wall minutes on ``cores`` cores of a :func:`plan`: :func:`job_seconds`, scaled by
    this machine's calibrated matrix-product rate against the reference, spread over min(cores,
    fine-tuning jobs) (the jobs are single-threaded and the fine-tuning jobs are the bulk)."""
    speed = (gflops or REFERENCE_GFLOPS) / REFERENCE_GFLOPS
    finetune = sum(s.jobs for s in stages if s.stage == "finetune")
    parallel = max(1, min(cores, finetune))
    return job_seconds(stages) / speed / parallel / 60.0


def describe(cfg: dict, cores: int, gflops: float | None = None) -> str:
    lines = [f"study '{cfg['study']}': planned work (upper bounds; early stopping only shortens)"]
    lines.append(f"  {'stage':<17} {'jobs':>5} {'nets':>6} {'member-epochs':>14} {'TFLOP':>8}")
    stages = plan(cfg)
    for s in stages:
        if s.jobs:
            lines.append(
                f"  {s.stage:<17} {s.jobs:>5} {s.members:>6} {s.member_epochs:>14.0f} "
                f"{s.tflop:>8.1f}"
            )
    lines.append(f"  baselines: {baseline_fits(cfg)} classifier fits")
    rate = f"{gflops:.0f} GFLOP/s measured" if gflops else "the reference machine's rate"
    lines.append(
        f"  estimate: about {estimate_minutes(stages, cores, gflops):.0f} min of wall time on "
        f"{cores} core(s) ({rate}; progress: Snakemake's 'N of M steps', per-epoch lines in "
        f"results/logs/)"
    )
    return "\n".join(lines)


def _cores(arg: str) -> int:
    if arg == "all":
        return os.cpu_count() or 1
    return int(arg)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", type=Path, help="a profile, e.g. config/default.yaml")
    p.add_argument("--cores", default="all", help="cores the run will use (default: all)")
    p.add_argument("--calibrate", action="store_true", help="time a 1-s matrix product first")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    gflops = calibrate() if args.calibrate else None
    print(describe(cfg, _cores(args.cores), gflops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
