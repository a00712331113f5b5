"""A run in which every member diverged, through the real `snakemake` (docs/reliability.md): it
ends with the cells' counts and a loud warning on the terminal, and MLflow's run list shows the
diverged members as FAILED runs."""

from __future__ import annotations

import pytest
from workflow_run import run_snakemake

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

pytestmark = pytest.mark.slow

TINY_DIVERGING = (
    "grid={datasets: [rectangles], depths: [1], pretraining: [none], dropout: [false], seeds: [1]}",
    "dropout_study={enabled: false}",
    "deep_autoencoder={enabled: false}",
    "report={pdf: false}",
    "finetune={lr: [1e6]}",
    "model={activation: relu}",
)


def test_a_run_where_every_member_diverged_says_so_at_its_end(tmp_path, mnist_dir):
    work = tmp_path / "work"
    out = run_snakemake(work, mnist_dir, "--cores", "1", "--config", *TINY_DIVERGING)
    assert "layerwise: 0 cells finished, 1 diverged in every member" in out.stdout
    assert "WARNING: no cell finished" in out.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{work / 'results' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("layerwise-smoke")
    members = client.search_runs([exp.experiment_id], "tags.`layerwise.role` = 'member'")
    finetuned = [r for r in members if r.data.tags.get("kind") == "finetune"]
    assert finetuned and {r.info.status for r in finetuned} == {"FAILED"}
