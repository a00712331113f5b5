"""One job of the study: a population of K members -> result files in a job directory.

Two kinds of job (see ``layerwise.grid``): greedy layer-wise pretraining of a stack per seed, and
supervised fine-tuning of every member of one (data set, depth) population. Each job writes its
record
(docs/architecture.md, "Files on disk") atomically; MLflow import happens later, from these files.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from layerwise import files, provenance
from layerwise.config import config_hash
from layerwise.data.build import build_dataset
from layerwise.data.io import load_dataset
from layerwise.data.mnist import DEFAULT_MIRRORS, ENV_VAR, fetch_mnist
from layerwise.device import choose_device, configure_precision
from layerwise.finetune import FinetuneSettings, finetune
from layerwise.grid import FinetuneJob, Member, PretrainJob
from layerwise.metrics import binomial_ci95
from layerwise.pretrain import PretrainSettings, pretrain_stack


def job_record(cfg: dict, kind: str, job_path: str, ds, device, t0: float, started: str, **extra):
    """The record.json of a job (docs/architecture.md): identity, provenance, wall time."""
    return {
        "job_id": job_path,
        "kind": kind,
        "study": cfg["study"],
        "dataset": ds.name,
        "config_hash": config_hash(cfg),
        "dataset_sha256": (ds.card or {}).get("checksum", "unknown"),
        "git_commit": provenance.git_commit(),
        "versions": provenance.package_versions(),
        "device": str(device),
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "started": started,
        "finished": provenance.now(),
        **extra,
    }


def _setup(cfg: dict, threads: int):
    torch.set_num_threads(max(1, int(threads)))
    device = choose_device(cfg["device"])
    configure_precision(cfg["precision"] if device.type == "cuda" else "float32")
    return device


def run_dataset_job(cfg: dict, name: str, out_dir: Path, *, log=print) -> dict:
    """Generate one benchmark data set (or read its original .amat files) into ``out_dir``.

    MNIST comes from ``$LAYERWISE_MNIST_DIR`` if set, else ``data.mnist.dir``, else a verified
    download into the cache (``layerwise.data.mnist.fetch_mnist``).
    """
    t0, d = time.perf_counter(), cfg["data"]
    spec = d["datasets"][name]
    mnist_dir = None
    if name.startswith("mnist"):
        mnist_dir = fetch_mnist(
            local_dir=os.environ.get(ENV_VAR) or d["mnist"]["dir"],
            cache_dir=d["mnist"]["cache_dir"],
            mirrors=d["mnist"]["mirrors"] or DEFAULT_MIRRORS,
        )
        log(f"[data] {name}: MNIST from {mnist_dir}")
    card = build_dataset(
        name,
        seed=d["seed"],
        out_dir=out_dir,
        mnist_dir=mnist_dir,
        params=spec["params"],
        sizes={k: spec[k] for k in ("n_train", "n_valid", "n_test")},
        images=d["natural_images"] or None,
        amat_dir=d["amat_dir"],
    )
    log(f"[data] {name}: written to {out_dir} in {time.perf_counter() - t0:.1f} s")
    return card


def pretrain_settings(job: PretrainJob) -> PretrainSettings:
    """Per-member settings of a pretraining population (one member per seed)."""
    c, k = job.settings, len(job.seeds)
    return PretrainSettings(
        seeds=list(job.seeds),
        lr=[c.get("lr", 0.0)] * k,
        epochs=int(c.get("epochs", 0)),
        batch_size=int(c.get("batch_size", 20)),
        corruption_level=[c.get("corruption_level", 0.0)] * k,
        cd_k=int(c.get("cd_k", 1)),
        momentum=c.get("momentum", 0.0),
        weight_decay=c.get("weight_decay", 0.0),
        tied=c.get("tied", True),
        loss=c.get("loss", "cross-entropy"),
        noise=c.get("noise", "masking"),
    )


def run_pretrain_job(
    cfg: dict, job: PretrainJob, data_path: Path, out_dir: Path, *, threads: int = 1, log=print
) -> None:
    """Greedy layer-wise pretraining of ``job.n_layers`` layers for every seed of the job."""
    started, t0 = provenance.now(), time.perf_counter()
    device = _setup(cfg, threads)
    ds = load_dataset(data_path)
    sizes = [ds.x_train.shape[1]] + [job.n_hidden] * job.n_layers
    log(f"[pretrain] {job.path}: method={job.method} sizes={sizes} K={len(job.seeds)} on {device}")
    # the engine takes the hidden widths only; `sizes` (with the input) is what the record keeps
    res = pretrain_stack(
        job.method, ds.x_train, sizes[1:], pretrain_settings(job), device=device, log=log
    )
    weights = [(w.detach().cpu(), b.detach().cpu()) for w, b in res.weights]
    out_dir = Path(out_dir)
    stack = {
        "weights": weights,
        "seeds": list(job.seeds),
        "layer_sizes": sizes,
        "method": job.method,
        "diverged": np.asarray(res.diverged).tolist(),
    }
    files.write_with(out_dir / "stack.pt", lambda p: torch.save(stack, p))
    files.write_with(
        out_dir / "filters.npz",
        lambda p: np.savez_compressed(p, W1=weights[0][0].numpy().astype(np.float32)),
    )
    hist = res.history.copy()
    hist.insert(1, "seed", [job.seeds[int(m)] for m in hist["member"]])
    files.write_with(out_dir / "history.csv", lambda p: hist.to_csv(p, index=False))
    rec = job_record(
        cfg,
        "pretrain",
        job.path,
        ds,
        device,
        t0,
        started,
        method=job.method,
        depth=None,
        group=None,
        n_members=len(job.seeds),
        settings={
            **job.settings,
            "layer_sizes": sizes,
            "pretrain_id": job.pretrain_id,
            "seeds": list(job.seeds),
        },
    )
    files.write_json(out_dir / "record.json", rec)


def initial_layers(
    job: FinetuneJob, stacks: dict[str, dict]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Hidden layers of every member on a leading member axis: [(W (K,n_in,n_out), b (K,n_out))].

    Member k takes the first ``job.depth`` layers of its seed's pretrained (or random) stack.
    """
    layers = []
    for layer in range(job.depth):
        ws, bs = [], []
        for m in job.members:
            w, b = stacks[f"pretrain/{job.dataset}/{m.pretraining}/{m.pretrain_id}"]["weights"][
                layer
            ]
            ws.append(w[m.seed_index])
            bs.append(b[m.seed_index])
        W = torch.stack(ws)
        if W.shape[-1] != job.n_hidden:
            raise ValueError(
                f"{job.path}: pretrained layer {layer + 1} has {W.shape[-1]} units, "
                f"the job expects {job.n_hidden}; delete results/pretrain and rerun"
            )
        layers.append((W, torch.stack(bs)))
    return layers


def finetune_settings(cfg: dict, members: tuple[Member, ...], n_classes: int) -> FinetuneSettings:
    ft, do = cfg["finetune"], cfg["dropout"]
    max_norm = do["max_norm"] if do["max_norm"] is not None else math.inf
    return FinetuneSettings(
        seeds=[m.seed for m in members],
        lr=[m.lr for m in members],
        p_drop_input=[do["p_drop_input"] if m.dropout else 0.0 for m in members],
        p_drop_hidden=[do["p_drop_hidden"] if m.dropout else 0.0 for m in members],
        max_norm=[max_norm if m.dropout else math.inf for m in members],
        max_epochs=ft["max_epochs"],
        patience=ft["patience"],
        batch_size=ft["batch_size"],
        momentum=ft["momentum"],
        activation=cfg["model"]["activation"],
        n_classes=n_classes,
        eval_batch_size=ft["eval_batch_size"],
        record_grad_norms=ft["record_grad_norms"],
    )


def _member_table(cfg, job, summary, ds, wall) -> pd.DataFrame:
    rows = []
    for k, m in enumerate(job.members):
        s = summary.iloc[k]
        pre = m.pretrain_settings
        rows.append(
            {
                "study": cfg["study"],
                "dataset": job.dataset,
                "depth": job.depth,
                "pretraining": m.pretraining,
                "dropout": m.dropout,
                "seed": m.seed,
                "candidate": m.candidate,
                "member_id": m.member_id,
                "job_id": job.path,
                "pretrain_id": m.pretrain_id,
                "n_hidden": job.n_hidden,
                "activation": cfg["model"]["activation"],
                "lr": m.lr,
                "momentum": cfg["finetune"]["momentum"],
                "p_drop_input": cfg["dropout"]["p_drop_input"] if m.dropout else 0.0,
                "p_drop_hidden": cfg["dropout"]["p_drop_hidden"] if m.dropout else 0.0,
                "max_norm": (cfg["dropout"]["max_norm"] or np.nan) if m.dropout else np.nan,
                "pretrain_lr": pre.get("lr", np.nan),
                "pretrain_epochs": pre.get("epochs", np.nan),
                "corruption_level": pre.get("corruption_level", np.nan),
                "cd_k": pre.get("cd_k", np.nan),
                "epochs_run": s["epochs_run"],
                "best_epoch": s["best_epoch"],
                "train_error": s["train_error"],
                "valid_error": s["valid_error"],
                "test_error": s["test_error"],
                "n_train": len(ds.y_train),
                "n_valid": len(ds.y_valid),
                "n_test": len(ds.y_test),
                "test_ci95": float(binomial_ci95(s["test_error"], len(ds.y_test))),
                "diverged": bool(s["diverged"]),
                "diverged_epoch": s["diverged_epoch"],
                "wall_time_s": wall,
            }
        )
    return pd.DataFrame(rows)


def run_finetune_job(
    cfg: dict,
    job: FinetuneJob,
    data_path: Path,
    stack_files: dict[str, Path],
    out_dir: Path,
    *,
    threads: int = 1,
    log=print,
) -> None:
    """Fine-tune every member of ``job`` as one population and write its record."""
    started, t0 = provenance.now(), time.perf_counter()
    device = _setup(cfg, threads)
    ds = load_dataset(data_path)
    stacks = {key: torch.load(path, weights_only=True) for key, path in stack_files.items()}
    init = initial_layers(job, stacks)
    settings = finetune_settings(cfg, job.members, ds.n_classes)
    log(
        f"[finetune] {job.path}: depth={job.depth} width={job.n_hidden} K={len(job.members)} "
        f"on {device}"
    )
    res = finetune(init, ds, settings, device=device, log=log)
    out_dir = Path(out_dir)
    ids = [m.member_id for m in job.members]
    for k, mid in enumerate(ids):
        params = [
            (w[k].detach().cpu().clone(), b[k].detach().cpu().clone()) for w, b in res.best_params
        ]
        files.write_with(out_dir / "weights" / f"{mid}.pt", lambda p, x=params: torch.save(x, p))
    hist = res.history.copy()
    hist.insert(0, "member_id", [ids[int(k)] for k in hist.pop("member")])
    files.write_with(out_dir / "history.csv", lambda p: hist.to_csv(p, index=False))
    wall = round(time.perf_counter() - t0, 3)
    table = _member_table(cfg, job, res.summary, ds, wall)
    files.write_with(out_dir / "members.csv", lambda p: table.to_csv(p, index=False))
    files.write_text(out_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    rec = job_record(
        cfg,
        "finetune",
        job.path,
        ds,
        device,
        t0,
        started,
        method=None,
        depth=job.depth,
        group=job.group,
        n_members=len(job.members),
        settings={"n_hidden": job.n_hidden, **cfg["finetune"], **cfg["dropout"]},
        n_diverged=int(table["diverged"].sum()),
    )
    files.write_json(out_dir / "record.json", rec)
