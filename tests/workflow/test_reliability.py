"""Fault and bad-input trials of issue 12 through the real `snakemake` (docs/reliability.md).

A tiny study (rectangles, depth 1, none + ae, one seed, no side studies, no PDF) keeps each run
to well under a minute. Every piece of advice an error gives is followed here, and the run must
then complete.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_run import ROOT, env_with_mnist, run_snakemake, snakemake_cmd

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

pytestmark = pytest.mark.slow

TINY = {
    "grid": {"datasets": ["rectangles"], "depths": [1], "pretraining": ["none", "ae"],
             "dropout": [False], "seeds": [1]},
    "dropout_study": {"enabled": False},
    "deep_autoencoder": {"enabled": False},
    "report": {"pdf": False},
}  # fmt: skip


def tiny_config(folder: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    for key, value in TINY.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(workdir, mnist_dir, config, *args, env=None, check=True):
    if env is None:
        return run_snakemake(workdir, mnist_dir, "--cores", "1", *args, config=config,
                             check=check, timeout=900)  # fmt: skip
    out = subprocess.run(
        snakemake_cmd(workdir, "--cores", "1", *args, config=config),
        capture_output=True, text=True, env={**env_with_mnist(mnist_dir), **env}, timeout=900,
    )  # fmt: skip
    assert not check or out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return out


def _runs(uri: str) -> int:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("layerwise-smoke")
    return 0 if exp is None else len(client.search_runs([exp.experiment_id], max_results=10_000))


def test_new_store_is_imported_and_dataset_advice_works(tmp_path, mnist_dir):
    config = tiny_config(tmp_path)
    work = tmp_path / "work"
    _run(work, mnist_dir, config)
    first = f"sqlite:///{(work / 'results' / 'mlflow.db').resolve()}"
    n_runs = _runs(first)
    assert n_runs > 0
    # 3b: point the workflow at another store -> the next run imports into it
    other = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    (tmp_path / "other").mkdir()
    out = _run(work, mnist_dir, config, env={"MLFLOW_TRACKING_URI": other})
    assert "track" in out.stdout + out.stderr
    assert _runs(other) == n_runs and _runs(first) == n_runs
    # 3a: a corrupted data set file; the error's advice, followed literally, completes the run
    data = work / "results" / "data" / "rectangles" / "data.npz"
    data.write_bytes(b"not a zip file")
    failed = _run(work, mnist_dir, config, check=False)
    assert failed.returncode != 0
    advice = re.search(r"rerun the workflow with `--forcerun ([^`]+)`", failed.stdout)
    assert advice, failed.stdout[-4000:]
    assert "delete it" in failed.stdout
    data.unlink()
    _run(work, mnist_dir, config, "--forcerun", advice.group(1))
    assert data.is_file()
    results = pd.read_csv(work / "results" / "results.csv")
    assert len(results) > 0 and results["selected"].any()
    assert "Nothing to be done" in _run(work, mnist_dir, config, "-n").stdout


def test_every_member_diverged_is_reported_as_diverged_not_missing(tmp_path, mnist_dir):
    """The issue's trial: ReLU at lr 1e6 (set from the command line with its real type)."""
    config = tiny_config(tmp_path)
    work = tmp_path / "work"
    _run(work, mnist_dir, config, "--config", "finetune={lr: [1e6]}", "model={activation: relu}",
         "tracking={enabled: false}")  # fmt: skip
    results = pd.read_csv(work / "results" / "results.csv")
    assert (results["lr"] == 1e6).all() and not results["selected"].any()
    assert results["fail_reason"].isin(["blow-up", "non-finite", "chance"]).all()
    html = (work / "reports" / "report.html").read_text()
    assert "0 cells finished, 2 diverged in every member, 0 missing, of 2 in the grid" in html


def _dry(tmp_path, *config_args):
    return subprocess.run(
        snakemake_cmd(tmp_path, "-n", "--config", *config_args),
        capture_output=True, text=True, env=env_with_mnist(tmp_path), timeout=300,
    )  # fmt: skip


def test_nested_overrides_from_the_command_line_keep_their_type(tmp_path):
    ok = _dry(tmp_path, "finetune={max_epochs: 3, lr: [0.5, 1e-2]}", "model={n_hidden: [8]}")
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    # typed, so range checks apply: 0 is an integer out of range, not "a string"
    bad = _dry(tmp_path, "finetune={max_epochs: 0}")
    text = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "finetune.max_epochs: 0 is out of range" in text
    assert "expected integer" not in text
    # the config files are named as paths, never as a list's repr
    assert f"(config file(s): {ROOT / 'config' / 'smoke.yaml'})" in text
    assert "PosixPath" not in text


def test_unwritable_results_stop_the_run_before_anything_is_deleted(tmp_path):
    """Run as an unprivileged user (root may write anywhere): results/ read-only, a previous
    report present -> refused up front, the report kept."""
    import os
    import shutil
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run snakemake as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="layerwise-ro-"))  # pytest's tmp is private to root
    base.chmod(0o755)
    work = base / "work"
    (work / "results").mkdir(parents=True)
    (work / "reports").mkdir()
    report = work / "reports" / "report.html"
    report.write_text("<html>previous report</html>")
    shutil.chown(work, "nobody")
    shutil.chown(work / "reports", "nobody")
    shutil.chown(report, "nobody")
    (work / "results").chmod(0o555)
    env = {**env_with_mnist(tmp_path), "HOME": str(work)}
    out = subprocess.run(
        [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         *snakemake_cmd(work, "--cores", "1")],
        capture_output=True, text=True, env=env, timeout=300, cwd=work,
    )  # fmt: skip
    text = out.stdout + out.stderr
    kept = report.read_text()
    shutil.rmtree(base)
    assert out.returncode != 0 and f"{work / 'results'} is not writable" in text, text[-3000:]
    assert kept == "<html>previous report</html>"
