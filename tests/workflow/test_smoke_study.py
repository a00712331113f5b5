"""The smoke profile end to end through snakemake: every data set, every grid cell and seed, model
selection, MLflow runs exactly once per job and member (also after reruns)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from workflow_run import SMOKE, run_snakemake

from layerwise.config import load_config
from layerwise.studies.grid import finetune_jobs, pretrain_jobs

pytestmark = pytest.mark.slow
CFG = load_config(SMOKE)


def test_all_eight_data_sets_generated(smoke_study):
    for name, spec in CFG["data"]["datasets"].items():
        card = json.loads((smoke_study / f"results/data/{name}/card.json").read_text())
        grid = plt.imread(smoke_study / f"results/data/{name}/samples.png")
        assert grid.ndim >= 2 and grid.shape[0] >= 28 and grid.std() > 0.05  # not blank
        sizes = card["sizes"]
        assert (sizes["train"], sizes["valid"], sizes["test"]) == (
            spec["n_train"],
            spec["n_valid"],
            spec["n_test"],
        )


def test_results_table_has_every_cell_and_seed(smoke_study):
    table = pd.read_csv(smoke_study / "results/results.csv")
    expected = {(j.path, m.member_id) for j in finetune_jobs(CFG) for m in j.members}
    assert set(zip(table.job_id, table.member_id, strict=True)) == expected
    assert len(table) == len(expected)
    finished = table[~table.diverged & table.pruned_epoch.isna()]  # pruned: no test split
    assert np.isfinite(finished.test_error).all()
    assert ((finished.test_error >= 0) & (finished.test_error <= 1)).all()
    g = CFG["grid"]
    cells = len(g["datasets"]) * len(g["depths"]) * len(g["pretraining"]) * len(g["dropout"])
    # one selected member per (cell, seed), except where every member failed (diverged, blew up
    # or stayed at chance: the toy rectangles nets of this profile often do); never a failed one
    keys = ["dataset", "depth", "pretraining", "dropout", "seed"]
    failed = table.fail_reason.notna() & (table.fail_reason.astype(str) != "")
    all_failed = failed.groupby([table[k] for k in keys]).transform("all")
    n_groups = table.groupby(keys).ngroups
    assert n_groups == cells * len(g["seeds"])
    assert table.selected.sum() == n_groups - table[all_failed].groupby(keys).ngroups
    assert not (table.selected & failed).any()
    # selection: the selected member has the lowest validation error of its group's usable members
    best = table[~failed].groupby(keys).valid_error.transform("min")
    assert (table[table.selected].valid_error == best[table.selected]).all()
    # the smoke nets learn something on mnist-basic: far below chance (0.9)
    mb = table[(table.dataset == "mnist-basic") & table.selected]
    assert mb.test_error.mean() < 0.6


def _mlflow_counts(workdir):
    from mlflow.tracking import MlflowClient

    from layerwise.tracking.importer import ROLE_TAG

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    exp = client.get_experiment_by_name(f"layerwise-{CFG['study']}")
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    claims = [r for r in runs if r.data.tags.get(ROLE_TAG) == "claims"]
    assert len(claims) == 1  # the study-level claims run (tracking.claims_run), exactly once
    runs = [r for r in runs if r.data.tags.get(ROLE_TAG) != "claims"]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def _expected_runs(workdir):
    """Every job record on disk (grid jobs and the extra studies) and its member count."""
    records = [
        json.loads(p.read_text())
        for p in (workdir / "results").rglob("record.json")
        if "mlartifacts" not in p.parts
    ]  # MLflow keeps copies as artifacts
    job_ids = {r["job_id"] for r in records}
    assert len(job_ids) == len(records)
    grid_ids = {j.path for j in pretrain_jobs(CFG) + finetune_jobs(CFG)}
    assert grid_ids <= job_ids
    return job_ids, sum(int(r["n_members"]) for r in records)


def _assert_exactly_once(workdir):
    parents, children = _mlflow_counts(workdir)
    job_ids, n_members = _expected_runs(workdir)
    tags = [p.data.tags["job_id"] for p in parents]
    assert sorted(tags) == sorted(job_ids)  # one parent per job, none twice
    assert len(children) == n_members
    parent_ids = {p.info.run_id for p in parents}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} <= parent_ids
    return parents, children


def test_mlflow_holds_each_job_and_member_exactly_once(smoke_study):
    parents, children = _assert_exactly_once(smoke_study)
    selected = [
        c
        for c in children
        if c.data.tags.get("selected") == "true" and c.data.tags["job_id"].startswith("finetune/")
    ]
    table = pd.read_csv(smoke_study / "results/results.csv")
    assert len(selected) == int(table.selected.sum())
    # the report's provenance tells where to browse these runs
    html = (smoke_study / "reports/report.html").read_text(encoding="utf-8")
    provenance = html[html.index('<section id="provenance">') :]
    assert f"sqlite:///{smoke_study.resolve()}/results/mlflow.db" in provenance


def test_rerun_does_not_duplicate_runs(smoke_study, mnist_dir):
    before = {p.info.run_id for p in _mlflow_counts(smoke_study)[0]}
    # re-import the finished study, then retrain one job (and everything downstream of it)
    run_snakemake(smoke_study, mnist_dir, "--cores", "4", "--forcerun", "track")
    job = finetune_jobs(CFG)[0]
    run_snakemake(
        smoke_study, mnist_dir, "--cores", "4", "--forcerun", f"results/{job.path}/members.csv"
    )
    parents, _ = _assert_exactly_once(smoke_study)
    after = {p.info.run_id for p in parents}
    # only the retrained job got a new parent run; every other run was left as it was
    assert len(after - before) == 1 and len(before - after) == 1
