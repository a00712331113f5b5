"""A config change reruns exactly what it affects (issue: rules read only their config slice).

On the finished smoke study, `snakemake -n` with a changed copy of the smoke config must plan:
  * finetune.max_epochs -> the fine-tuning jobs and what depends on them; no data or pretraining;
  * tracking.log_weights -> only the tracking imports;
  * report.pdf -> only the report;
  * claims.alpha -> the claims, the report and the claims run (they read claims.csv), nothing else.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from workflow_run import SMOKE, env_with_mnist, snakemake_cmd

pytestmark = pytest.mark.slow


def planned_rules(workdir, mnist_dir, config) -> dict[str, int]:
    """Rule -> number of jobs of a dry run (Snakemake's "Job stats" table)."""
    out = subprocess.run(
        snakemake_cmd(workdir, "-n", "--rerun-triggers", "mtime", "params", "input", config=config),
        capture_output=True,
        text=True,
        env=env_with_mnist(mnist_dir),
        timeout=300,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    if "Nothing to be done" in text:
        return {}
    table = text[text.index("Job stats:") :].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def changed(tmp_path, edit) -> object:
    cfg = yaml.safe_load(SMOKE.read_text())
    edit(cfg)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_unchanged_config_plans_nothing(smoke_study, mnist_dir):
    assert planned_rules(smoke_study, mnist_dir, SMOKE) == {}


def test_finetune_budget_reruns_finetuning_only(smoke_study, mnist_dir, tmp_path):
    config = changed(tmp_path, lambda c: c["finetune"].update(max_epochs=11))
    rules = planned_rules(smoke_study, mnist_dir, config)
    assert rules.get("finetune") == 4  # every fine-tuning job of the smoke grid
    assert "dataset" not in rules and "pretrain" not in rules
    assert not {"dropout_study", "deep_autoencoder"} & set(rules)  # other studies untouched
    assert {"collect", "report", "track"} <= set(rules)  # downstream of fine-tuning


def test_tracking_setting_reruns_only_tracking(smoke_study, mnist_dir, tmp_path):
    config = changed(tmp_path, lambda c: c.setdefault("tracking", {}).update(log_weights="none"))
    rules = planned_rules(smoke_study, mnist_dir, config)
    assert set(rules) - {"all"} == {"track", "track_dropout_study", "track_deep_autoencoder"}


def test_report_setting_reruns_only_the_report(smoke_study, mnist_dir, tmp_path):
    config = changed(tmp_path, lambda c: c.setdefault("report", {}).update(pdf=False))
    rules = planned_rules(smoke_study, mnist_dir, config)
    assert set(rules) - {"all"} == {"report"}  # claims.csv is the claims rule's, not rewritten


def test_claims_setting_reruns_the_claims_and_their_readers(smoke_study, mnist_dir, tmp_path):
    config = changed(tmp_path, lambda c: c.setdefault("claims", {}).update(alpha=0.01))
    rules = planned_rules(smoke_study, mnist_dir, config)
    assert set(rules) - {"all"} == {"claims", "report", "track_claims"}
