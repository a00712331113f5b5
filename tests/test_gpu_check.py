"""The prepared GPU check (benchmarks/gpu_check.py): its dry mode runs every part on the CPU and
records them; a failing or hanging part is recorded and the next one runs; the projection's
arithmetic against hand-computed numbers."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gc(benchmark_script):
    return benchmark_script("gpu_check")


@pytest.fixture(scope="module")
def dry(mnist_dir, tmp_path_factory):
    """One dry run of the whole check: (exit status, the JSON, the output folder)."""
    out = tmp_path_factory.mktemp("gpu_check")
    env = dict(os.environ, LAYERWISE_MNIST_DIR=str(mnist_dir), OMP_NUM_THREADS="1")
    work = tmp_path_factory.mktemp("work")
    cmd = [sys.executable, str(SCRIPT), str(out), "--dry", "--work", str(work)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done, json.loads((out / "gpu_check.json").read_text()), out


def test_dry_run_passes_every_part(dry):
    done, record, out = dry
    statuses = {name: p["status"] for name, p in record["parts"].items()}
    assert done.returncode == 0, (statuses, done.stdout[-3000:])
    assert statuses == {"setup": "ok", "tests": "ok", "bench": "ok", "cell": "ok"}
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.log"]
    assert record["mode"] == "dry" and "| goal | measured | met |" in done.stdout
    assert all(g["met"] is None for g in record["goals"])  # tiny sizes judge nothing


def test_dry_tests_part_ran_the_equivalence_checks_and_pytest(dry):
    res = dry[1]["parts"]["tests"]["result"]
    names = {r["name"] for r in res["checks"]}
    for precision in ("float32", "bf16"):
        for graphs in (False, True):
            assert f"population_equals_alone[{precision},graphs={graphs}]" in names
    assert {"graphs_on_equals_off", "streams_match_cpu"} <= names
    assert all(r["passed"] for r in res["checks"]) and res["failed"] == []
    assert "passed" in res["pytest_summary"] and "failed" not in res["pytest_summary"]


def test_dry_bench_rows_carry_the_float32_floor(dry):
    res = dry[1]["parts"]["bench"]["result"]
    assert set(res["runs"]) == {"20"}
    keys = {(r["what"], r["impl"], r["precision"], r["K"]) for r in res["rows"]}
    assert {
        ("finetune", "torch.func", "float32", 2),
        ("finetune", "layerwise", "bf16", 2),
        ("finetune", "tutorial", "float32", 1),
        ("ae_tied", "layerwise", "float32", 2),
    } <= keys
    for r in res["rows"]:
        if r["precision"] == "float32":  # the float32 floor is the float32 rows' own floor
            assert r["x_fp32_floor"] == pytest.approx(r["x_floor"], rel=0.02)
        steps = r["n"] // r["batch"]
        assert r["ms_per_step"] == pytest.approx(1e3 * r["s_per_epoch"] / steps, rel=1e-6)


def test_dry_cell_times_every_stage_and_compares_with_the_paper(dry):
    cell = dry[1]["parts"]["cell"]["result"]
    assert cell["finished"] and set(cell["stages_s"]) == {"data", "pretrain", "finetune", "results"}
    papers = {e["pretraining"]: e["paper_pct"] for e in cell["errors"]}
    assert papers == {"none": 4.24, "rbm": 2.71}
    proj = cell["projection"]
    assert proj["total_estimate_h"] > 0 and proj["total_upper_h"] >= proj["total_estimate_h"]


def test_a_failing_part_is_recorded_and_the_next_one_runs(gc, tmp_path):
    rc = gc.main(
        [
            str(tmp_path),
            "--dry",
            "--parts",
            "setup",
            "cell",
            "--python",
            "/bin/false",
            "--work",
            str(tmp_path / "w"),
        ]
    )
    record = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 1
    assert [(n, p["status"]) for n, p in record["parts"].items()] == [
        ("setup", "failed"),
        ("cell", "failed"),
    ]


def test_a_command_past_its_limit_is_killed(gc, tmp_path):
    log = gc.Log(tmp_path / "log")
    t0 = time.monotonic()
    done = gc.run_cmd(["sleep", "30"], 1.0, log, dict(os.environ), "t")
    assert done["timed_out"] and time.monotonic() - t0 < 10


def test_step_time_fit_recovers_overhead_and_rate(gc):
    cell = gc.gpu_check_cell
    pts = [(f, 2e-4 + f / 40e12) for f in (1e9, 1e10, 1e11)]
    fit = cell.fit_step_time(pts)
    assert fit["a_s"] == pytest.approx(2e-4) and fit["rate_tflops"] == pytest.approx(40.0)
    assert cell.fit_step_time([(1e9, 1e-3), (1e10, 1e-3)])["rate_tflops"] is None  # flat


def test_projection_adds_the_jobs_up(gc):
    jobs = dict(
        data_jobs=2,
        pretrain=[dict(method="rbm", K=3, steps=1000), dict(method="none", K=3, steps=0)],
        finetune=[dict(K=8, depth=1, max_epochs=10, steps_per_epoch=100, flop_per_step=4e12)],
        dropout=[dict(K=2, max_epochs=5, steps_per_epoch=10, flop_per_step=0.0)],
        deep_autoencoder=[
            dict(
                code=2,
                K=3,
                pretrain_steps=10,
                pretrain_flop_per_step=[1e12],
                finetune_steps=20,
                finetune_flop_per_step=0.0,
            )
        ],
    )
    cell = dict(
        paper_jobs=jobs,
        data_s=30.0,
        pretrain_s_per_step=0.01,
        epoch_fraction=0.5,
        finetune_jobs=[
            dict(flop_per_step=0.0, s_per_step=0.001),
            dict(flop_per_step=1e12, s_per_step=0.002),
        ],
    )
    p = gc.gpu_check_cell.project(cell)  # t = 1 ms + F / 1 PFLOP/s
    assert p["fit"]["a_s"] == pytest.approx(1e-3) and p["fit"]["rate_tflops"] == pytest.approx(1e3)
    assert p["finetune_upper_s"] == pytest.approx(10 * 100 * (1e-3 + 4e-3))
    assert p["pretrain_s"] == pytest.approx(10.0) and p["data_s"] == 60.0
    assert p["dropout_study_upper_s"] == pytest.approx(50 * 1e-3)
    assert p["deep_autoencoder_s"] == pytest.approx(10 * 0.01 + 20 * 0.01)
    rest = 60.0 + 10.0 + 0.05 + 0.3
    assert p["total_estimate_h"] == pytest.approx((rest + 2.5) / 3600, abs=0.01)
