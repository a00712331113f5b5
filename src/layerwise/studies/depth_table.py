"""The depth-table study (Larochelle et al., JMLR 2009, Table 3 and sec. 6): its job runners.

Its grid (which jobs exist, their resolved members) is ``layerwise.studies.grid``. Two kinds of
job: greedy layer-wise pretraining of a stack per seed, and supervised fine-tuning of every member
of one (data set, depth) population. Each job receives only its own description (a
:class:`~layerwise.studies.grid.PretrainJob` or :class:`~layerwise.studies.grid.FinetuneJob`) and
the :class:`~layerwise.studies.job_io.RunSettings`, and writes its directory (``layerwise.layout``)
atomically; the MLflow import happens later, from these files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from layerwise import files, layout
from layerwise.data.io import load_dataset
from layerwise.engine.finetune import finetune
from layerwise.engine.pretrain import PretrainSettings, pretrain_stack
from layerwise.studies.grid import FinetuneJob, PretrainJob, pretrain_path
from layerwise.studies.job_io import (
    JobClock,
    RunSettings,
    job_record,
    job_slice,
    setup_device,
    write_population,
    write_predictions,
    write_slice,
    write_table,
)
from layerwise.studies.members import PopulationInfo, budget_of, member_rows


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
        init=c.get("init", "glorot"),
    )


def run_pretrain_job(
    job: PretrainJob, run: RunSettings, data_path: Path, out_dir: Path, *, threads=1, log=print
) -> None:
    """Greedy layer-wise pretraining of ``job.n_layers`` layers for every seed of the job."""
    clock, device = JobClock(), setup_device(run, threads)
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
    files.write_with(out_dir / layout.STACK, lambda p: torch.save(stack, p))
    files.write_with(
        out_dir / layout.FILTERS,
        lambda p: np.savez_compressed(p, W1=weights[0][0].numpy().astype(np.float32)),
    )
    hist = res.history.copy()
    hist.insert(1, "seed", [job.seeds[int(m)] for m in hist["member"]])
    write_table(out_dir / layout.HISTORY, hist)
    settings = {**job.settings, "layer_sizes": sizes, "pretrain_id": job.pretrain_id,
                "seeds": list(job.seeds)}  # fmt: skip
    rec = job_record("pretrain", job.path, run.study, ds, device, clock, job_slice(run, job=job),
                     method=job.method, depth=None, group=None, n_members=len(job.seeds),
                     settings=settings)  # fmt: skip
    files.write_json(out_dir / layout.RECORD, rec)


def initial_layers(
    job: FinetuneJob, stacks: dict[str, dict]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Hidden layers of every member on a leading member axis: [(W (K,n_in,n_out), b (K,n_out))].

    Member k takes the first ``job.depth`` layers of its seed's pretrained (or random) stack;
    ``stacks`` maps pretraining job ids to the contents of their stack.pt.
    """
    layers = []
    for layer in range(job.depth):
        ws, bs = [], []
        for m in job.members:
            w, b = stacks[pretrain_path(job.dataset, m)]["weights"][layer]
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


def run_finetune_job(
    job: FinetuneJob,
    run: RunSettings,
    data_path: Path,
    stack_files: dict[str, Path],
    out_dir: Path,
    *,
    threads: int = 1,
    log=print,
) -> None:
    """Fine-tune every member of ``job`` as one population and write its directory."""
    clock, device = JobClock(), setup_device(run, threads)
    ds = load_dataset(data_path)
    stacks = {key: torch.load(path, weights_only=True) for key, path in stack_files.items()}
    init = initial_layers(job, stacks)
    settings = dataclasses.replace(job.settings, n_classes=ds.n_classes)
    log(
        f"[finetune] {job.path}: depth={job.depth} width={job.n_hidden} K={len(job.members)} "
        f"on {device}"
    )
    res = finetune(init, ds, settings, device=device, log=log)
    out_dir = Path(out_dir)
    ids = [m.member_id for m in job.members]
    write_population(out_dir, ids, res)
    write_predictions(out_dir, ids, res, ds.y_test)
    info = PopulationInfo(run.study, job.dataset, job.depth, job.path, job.n_hidden,
                          job.settings.activation, len(ds.y_train), len(ds.y_valid),
                          len(ds.y_test))  # fmt: skip
    table = member_rows(info, job.members, res.summary, clock.seconds())
    write_table(out_dir / layout.MEMBERS, table)
    slice_ = job_slice(run, job=job)
    write_slice(out_dir, slice_)
    rec = job_record("finetune", job.path, run.study, ds, device, clock, slice_, method=None,
                     depth=job.depth, group=job.group, n_members=len(job.members),
                     settings={"n_hidden": job.n_hidden, **budget_of(job.settings)},
                     n_diverged=int(table["diverged"].sum()))  # fmt: skip
    files.write_json(out_dir / layout.RECORD, rec)
