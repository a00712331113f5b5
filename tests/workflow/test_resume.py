"""Interrupt and resume: a smoke study killed part-way finishes on the next start, without redoing
finished jobs, without taking half-written files for results, and with the same table as an
uninterrupted run (training on CPU is deterministic)."""

from __future__ import annotations

import signal
import subprocess
import time

import pandas as pd
import pytest
from workflow_run import SMOKE, env_with_mnist, kill_group, run_snakemake, snakemake_cmd

from layerwise.config import load_config
from layerwise.studies.grid import pretrain_jobs

pytestmark = pytest.mark.slow
VOLATILE = ["wall_time_s"]


def _wait_for(predicate, proc, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.5)
    return False


def test_interrupted_run_resumes_to_the_same_table(tmp_path, mnist_dir, smoke_study):
    cfg = load_config(SMOKE)
    records = [tmp_path / f"results/{j.path}/record.json" for j in pretrain_jobs(cfg)]
    finetune_logs = tmp_path / "results/logs/finetune"

    def training_logs():
        logs = list(finetune_logs.rglob("*.log")) if finetune_logs.exists() else []
        return [p for p in logs if "epoch 1/" in p.read_text()]

    cmd = snakemake_cmd(tmp_path, "--cores", "2", "results/results.csv")
    with open(tmp_path / "interrupted.out", "w") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env_with_mnist(mnist_dir),
        )
        # a hard crash in the middle of fine-tuning: some jobs done, the table not written
        started = _wait_for(lambda: bool(training_logs()), proc, 600)
        kill_group(proc, signal.SIGKILL)
    assert started, (tmp_path / "interrupted.out").read_text()[-3000:]
    assert not (tmp_path / "results/results.csv").exists()
    # the pretraining jobs of a data set whose fine-tuning had started were finished (they are
    # its inputs): a resumed run must keep them
    dataset = training_logs()[0].relative_to(finetune_logs).parts[0]
    finished = [r for r in records if f"/pretrain/{dataset}/" in str(r)]
    assert finished and all(r.exists() for r in finished)
    done = {r: r.stat().st_mtime_ns for r in finished}

    subprocess.run(
        snakemake_cmd(tmp_path, "--unlock"),
        env=env_with_mnist(mnist_dir),
        check=True,
        capture_output=True,
    )
    run_snakemake(tmp_path, mnist_dir, "--cores", "2", "results/results.csv")
    # finished pretraining jobs were not redone
    assert {r: r.stat().st_mtime_ns for r in finished} == done
    assert not list((tmp_path / "results").rglob("*.tmp-*"))

    resumed = pd.read_csv(tmp_path / "results/results.csv").drop(columns=VOLATILE)
    reference = pd.read_csv(smoke_study / "results/results.csv").drop(columns=VOLATILE)
    key = ["job_id", "member_id"]
    pd.testing.assert_frame_equal(
        resumed.sort_values(key).reset_index(drop=True),
        reference.sort_values(key).reset_index(drop=True),
    )
