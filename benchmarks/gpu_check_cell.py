"""One paper-scale cell end to end, and the paper profile projected from it.

Part "cell" of benchmarks/gpu_check.py. The cell is config/paper.yaml narrowed to mnist-basic,
depth 3, no pretraining and RBM pretraining, dropout off, seeds 1 and 2, with the paper profile's
candidates for it (4 RBM stacks: lr 0.01/0.001 x 10/20 epochs; fine-tuning lr 0.1/0.05/0.01/0.005,
up to 100 epochs, patience 10): 5 pretraining jobs and one fine-tuning population of 40 members.
Its stages run in the pipeline's order through the functions the Snakemake rules call
(workflow/scripts: run_dataset_job, run_pretrain_job, run_finetune_job, write_study_tables):
Snakemake itself is not installed on the GPU machine and nothing can be fetched there.

The worker writes its result file after every job, so a run stopped at its time limit still
leaves the stages it finished. The projection (stdlib only, so the driver can compute it from
whatever the worker left) times every job of the paper profile with:

  * data sets: the cell's data job time per data set;
  * pretraining: the cell's seconds per RBM step (eager, launch-bound at K = 2-3; AE and DAE steps
    assumed to cost the same) x the steps of every pretraining job;
  * fine-tuning and the dropout study: t(step) = a + FLOP / R, fitted to the cell's fine-tuning
    job (seconds per step, evaluation included) and the benchmark's float32 fine-tuning rows at
    minibatch 20 (K = 1 ... 256); the upper bound runs every job to max_epochs, the estimate
    scales the grid by the fraction of max_epochs the cell's population ran;
  * deep autoencoder: per step max(eager RBM step, FLOP / R) (its steps are not graphed).

    python benchmarks/gpu_check_cell.py --work DIR --result cell.json [--dry]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "config" / "paper.yaml"
CELL = {
    "device": "cuda",
    "grid": {
        "datasets": ["mnist-basic"],
        "depths": [3],
        "pretraining": ["none", "rbm"],
        "dropout": [False],
        "seeds": [1, 2],
    },
    "dropout_study": {"enabled": False},
    "deep_autoencoder": {"enabled": False},
}
DRY = {
    "device": "cpu",
    "data": {"datasets": {"mnist-basic": {"n_train": 100, "n_valid": 40, "n_test": 100}}},
    "model": {"n_hidden": [16]},
    "pretrain": {"rbm": {"lr": [0.01, 0.001], "epochs": [1], "cd_k": [1]}},
    "finetune": {"lr": [0.1, 0.05], "max_epochs": 2, "patience": 1},
    "resources": {"pretrain": {"threads": 1}, "finetune": {"threads": 1}},
}
N_IN, N_CLASSES = 784, 10


def ft_flop_per_step(k: int, batch: int, sizes: list[int]) -> float:
    """6 sum(n_in n_out) per example (forward 2, backward 4), for K members."""
    return 6.0 * batch * k * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))


# ---- the paper profile's jobs (needs the config; the arithmetic below does not) ----


def paper_jobs(cfg: dict) -> dict:
    """Every training job of a validated paper config, as plain numbers for the projection."""
    from layerwise.studies.dropout import dropout_jobs
    from layerwise.studies.grid import finetune_jobs, pretrain_jobs

    sets = cfg["data"]["datasets"]
    pre = []
    for j in pretrain_jobs(cfg):
        n = sets[j.dataset]["n_train"] // int(j.settings.get("batch_size", 20))
        steps = 0 if j.method == "none" else j.n_layers * int(j.settings["epochs"]) * n
        pre.append(dict(method=j.method, K=len(j.seeds), steps=steps))
    fts = []
    for j in finetune_jobs(cfg):
        b = j.settings.batch_size
        sizes = [N_IN] + [j.n_hidden] * j.depth + [N_CLASSES]
        fts.append(
            dict(
                K=len(j.members),
                depth=j.depth,
                max_epochs=j.settings.max_epochs,
                steps_per_epoch=sets[j.dataset]["n_train"] // b,
                flop_per_step=ft_flop_per_step(len(j.members), b, sizes),
            )
        )
    drop = []
    for j in dropout_jobs(cfg).values():
        b, n = j.settings.batch_size, j.n_train or sets[j.dataset]["n_train"]
        sizes = [N_IN] + [j.n_hidden] * j.depth + [N_CLASSES]
        drop.append(
            dict(
                K=len(j.members),
                max_epochs=j.settings.max_epochs,
                steps_per_epoch=n // b,
                flop_per_step=ft_flop_per_step(len(j.members), b, sizes),
            )
        )
    deep = []
    a = cfg["deep_autoencoder"]
    if a["enabled"]:
        k, b = len(a["seeds"]), a["batch_size"]
        n = sets["mnist-full"]["n_train"] // b
        for code in a["code_sizes"]:
            sizes = [N_IN, *a["hidden"], code]
            rbm = [10.0 * b * k * x * y for x, y in zip(sizes, sizes[1:], strict=False)]
            deep.append(
                dict(
                    code=code,
                    K=k,
                    pretrain_steps=a["pretrain"]["epochs"] * n,
                    pretrain_flop_per_step=rbm,
                    finetune_steps=a["finetune"]["epochs"] * n,
                    finetune_flop_per_step=2 * ft_flop_per_step(k, b, sizes),
                )
            )
    n_data = len(cfg["data"]["datasets"])
    return dict(data_jobs=n_data, pretrain=pre, finetune=fts, dropout=drop, deep_autoencoder=deep)


# ---- the projection (stdlib only) ----


def fit_step_time(points: list[tuple[float, float]]) -> dict:
    """Least squares t = a + F / R over (FLOP, seconds) points, with a >= 0 and R > 0."""
    if not points:
        return dict(a_s=None, rate_tflops=None, n_points=0)
    n = len(points)
    mf, mt = sum(f for f, _ in points) / n, sum(t for _, t in points) / n
    var = sum((f - mf) ** 2 for f, _ in points)
    slope = sum((f - mf) * (t - mt) for f, t in points) / var if var > 0 else 0.0
    a = mt - slope * mf
    if slope <= 0:  # flat: the overhead alone (no point says how the time grows with FLOP)
        slope, a = 0.0, mt
    elif a < 0:  # through the origin
        a, slope = 0.0, sum(f * t for f, t in points) / sum(f * f for f, _ in points)
    rate = None if slope == 0 else 1.0 / slope / 1e12
    return dict(a_s=a, rate_tflops=rate, n_points=n)


def fit_points(cell: dict, bench_rows: list[dict] | None) -> list[tuple[float, float]]:
    """(FLOP per step, seconds per step) from the cell's fine-tuning jobs and the benchmark's
    float32 fine-tuning rows at minibatch 20 (gpu_check.bench_rows: ms_per_step, width)."""
    pts = [(j["flop_per_step"], j["s_per_step"]) for j in cell.get("finetune_jobs", [])]
    for r in bench_rows or []:
        if (r["what"], r["impl"], r["precision"], r["batch"]) == (
            "finetune",
            "layerwise",
            "float32",
            20,
        ):
            sizes = [N_IN] + [r["width"]] * 3 + [N_CLASSES]
            pts.append((ft_flop_per_step(r["K"], r["batch"], sizes), r["ms_per_step"] / 1e3))
    return pts


def project(cell: dict, bench_rows: list[dict] | None = None) -> dict:
    """Hours of the paper profile on this device, from the cell's stages (and the benchmark)."""
    jobs = cell.get("paper_jobs")
    if not jobs:
        return dict(error="the worker did not list the paper profile's jobs")
    fit = fit_step_time(fit_points(cell, bench_rows))
    a, rate = fit["a_s"], fit["rate_tflops"]
    pre_step = cell.get("pretrain_s_per_step")

    def step(flop: float) -> float | None:
        return None if a is None else a + (0.0 if rate is None else flop / (rate * 1e12))

    def total(rows, key_steps, flop_key):
        if a is None:
            return None
        return sum(r["max_epochs"] * r[key_steps] * step(r[flop_key]) for r in rows)

    out = dict(fit=fit, pretrain_s_per_step=pre_step, notes=[])
    out["data_s"] = jobs["data_jobs"] * cell["data_s"] if "data_s" in cell else None
    out["pretrain_s"] = (
        None if pre_step is None else sum(j["steps"] for j in jobs["pretrain"]) * pre_step
    )
    out["finetune_upper_s"] = total(jobs["finetune"], "steps_per_epoch", "flop_per_step")
    out["dropout_study_upper_s"] = total(jobs["dropout"], "steps_per_epoch", "flop_per_step")
    deep = None
    if pre_step is not None and rate is not None:
        eager = lambda f: max(pre_step, f / (rate * 1e12))  # noqa: E731
        deep = sum(
            sum(d["pretrain_steps"] * eager(f) for f in d["pretrain_flop_per_step"])
            + d["finetune_steps"] * eager(d["finetune_flop_per_step"])
            for d in jobs["deep_autoencoder"]
        )
    out["deep_autoencoder_s"] = deep
    frac = cell.get("epoch_fraction")
    if frac is None:
        frac = 1.0
        out["notes"].append("no finished fine-tuning job: the estimate runs every epoch")
    out["epoch_fraction"] = frac
    up = out["finetune_upper_s"]
    out["finetune_estimate_s"] = None if up is None else up * frac
    parts = ["data_s", "pretrain_s", "dropout_study_upper_s", "deep_autoencoder_s"]
    if any(out[p] is None for p in parts + ["finetune_upper_s"]):
        out["notes"].append("a stage could not be timed: totals left out")
        out["total_upper_h"] = out["total_estimate_h"] = None
        return out
    rest = sum(out[p] for p in parts)
    out["total_upper_h"] = round((rest + up) / 3600, 2)
    out["total_estimate_h"] = round((rest + out["finetune_estimate_s"]) / 3600, 2)
    return out


# ---- the worker: the cell through the pipeline's functions ----


class Progress:
    """The result file, rewritten after every job."""

    def __init__(self, path: Path):
        self.path, self.data = path, {"stages_s": {}}

    def save(self, **kw) -> None:
        self.data.update(kw)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)

    def stage(self, name: str, seconds: float) -> None:
        self.data["stages_s"][name] = round(seconds, 2)
        self.save()


def published_comparison(results_csv: Path) -> list[dict]:
    """Selected members' mean test error per pretraining against Larochelle et al. (2009)."""
    from importlib import resources

    import pandas as pd

    from layerwise.metrics import binomial_ci95
    from layerwise.report.compare import verdict

    table = pd.read_csv(results_csv)
    sel = table[table["selected"].astype(bool)]
    ref = pd.read_csv(resources.files("layerwise").joinpath("reference/published_results.csv"))
    ref = ref[(ref.source == "Larochelle2009") & (ref.dataset == "mnist-basic") & (ref.depth == 3)]
    rows = []
    for method, grp in sel.groupby("pretraining"):
        p, n = float(grp["test_error"].mean()), int(grp["n_test"].iloc[0])
        ours, ours_ci = 100 * p, 100 * float(binomial_ci95(p, n))
        paper = ref[ref.pretraining == method]
        row = dict(
            pretraining=method,
            depth=3,
            seeds=len(grp),
            ours_pct=round(ours, 3),
            ours_ci_pct=round(ours_ci, 3),
        )
        if len(paper):
            pp, pc = float(paper.test_error_pct.iloc[0]), float(paper.ci95_pct.iloc[0])
            row.update(paper_pct=pp, paper_ci_pct=pc, verdict=verdict(ours, ours_ci, pp, pc))
        rows.append(row)
    return rows


def run_cell(work: Path, progress: Progress, dry: bool, log=print) -> None:
    import pandas as pd

    from layerwise.config import load_config
    from layerwise.data.job import dataset_slice, run_dataset_job
    from layerwise.studies.collect import write_study_tables
    from layerwise.studies.depth_table import run_finetune_job, run_pretrain_job
    from layerwise.studies.grid import finetune_jobs, pretrain_jobs
    from layerwise.studies.job_io import RunSettings

    progress.save(paper_jobs=paper_jobs(load_config(PAPER)))
    overrides = CELL if not dry else _merge(CELL, DRY)
    cfg = load_config(PAPER, overrides)
    run, root = RunSettings.from_config(cfg), work / "results"
    threads = cfg["resources"]["finetune"]["threads"]
    progress.save(cell_config={k: cfg[k] for k in ("grid", "model", "pretrain", "finetune")})
    t0 = time.perf_counter()
    data_dir = root / "data" / "mnist-basic"
    run_dataset_job(dataset_slice(cfg, "mnist-basic"), data_dir, log=log)
    progress.data["data_s"] = time.perf_counter() - t0
    progress.stage("data", progress.data["data_s"])
    n_train, pre_steps, pre_s, records = (
        cfg["data"]["datasets"]["mnist-basic"]["n_train"],
        0,
        0.0,
        [],
    )
    t0 = time.perf_counter()
    for job in pretrain_jobs(cfg):
        t1, out = time.perf_counter(), root / job.path
        run_pretrain_job(job, run, data_dir / "data.npz", out, threads=threads, log=log)
        records.append(out / "record.json")
        if job.method != "none":
            pre_s += time.perf_counter() - t1
            pre_steps += (
                job.n_layers * job.settings["epochs"] * (n_train // job.settings["batch_size"])
            )
            progress.save(pretrain_s_per_step=pre_s / pre_steps)
    progress.stage("pretrain", time.perf_counter() - t0)
    t0, ft_rows, dirs = time.perf_counter(), [], []
    for job in finetune_jobs(cfg):
        t1, out = time.perf_counter(), root / job.path
        stacks = {p: root / p / "stack.pt" for p in job.pretrain_paths}
        run_finetune_job(job, run, data_dir / "data.npz", stacks, out, threads=threads, log=log)
        seconds, dirs = time.perf_counter() - t1, dirs + [out]
        records.append(out / "record.json")
        epochs = int(pd.read_csv(out / "history.csv")["epoch"].max())
        b = job.settings.batch_size
        sizes = [N_IN] + [job.n_hidden] * job.depth + [N_CLASSES]
        ft_rows.append(
            dict(
                job=job.path,
                K=len(job.members),
                epochs_run=epochs,
                max_epochs=job.settings.max_epochs,
                seconds=round(seconds, 2),
                s_per_step=seconds / (epochs * (n_train // b)),
                flop_per_step=ft_flop_per_step(len(job.members), b, sizes),
            )
        )
        frac = sum(r["epochs_run"] for r in ft_rows) / sum(r["max_epochs"] for r in ft_rows)
        progress.save(finetune_jobs=ft_rows, epoch_fraction=frac)
    progress.stage("finetune", time.perf_counter() - t0)
    t0 = time.perf_counter()
    plain = {k: v for k, v in cfg.items() if k not in ("report", "tracking", "resources")}
    results = root / "results.csv"
    write_study_tables(
        plain, dirs, records, results, root / "history.csv", root / "provenance.json"
    )
    progress.stage("results", time.perf_counter() - t0)
    progress.save(errors=published_comparison(results), finished=True)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the cell's results/")
    ap.add_argument("--result", type=Path, required=True, help="JSON file, rewritten per job")
    ap.add_argument("--dry", action="store_true", help="tiny sizes on the CPU")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    progress = Progress(args.result)
    progress.save(dry=args.dry, finished=False)
    run_cell(args.work, progress, args.dry, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
