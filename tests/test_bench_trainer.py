"""The benchmark entry point runs end to end on a tiny net and its table is self-consistent."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_trainer.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_trainer", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_writes_a_consistent_table(bench, tmp_path):
    out = tmp_path / "b.json"
    args = "--device cpu --sizes 20 16 --n 60 --ks 1 2 --batches 10 --step-ks 1 2 --steps 2"
    result = bench.main([*args.split(), "--repeat", "1", "--pretrain", "rbm", "--out", str(out)])
    assert json.loads(out.read_text())["rows"] == result["rows"]
    rows = {(r["what"], r["impl"], r["K"]): r for r in result["rows"]}
    assert set(rows) == {
        ("finetune", "tutorial", 1),
        ("finetune", "layerwise", 1),
        ("finetune", "layerwise", 2),
        ("rbm_cd1", "layerwise", 1),
        ("rbm_cd1", "layerwise", 2),
    }
    tut = rows[("finetune", "tutorial", 1)]
    rate = result["matmul_tflops"] * 1e12
    flop = 6 * (20 * 16 + 16 * 10) * 60
    for key in [("finetune", "layerwise", 1), ("finetune", "layerwise", 2)]:
        r = rows[key]
        assert r["ms_per_model_epoch"] == pytest.approx(1e3 * r["s_per_epoch"] / r["K"], rel=0.01)
        assert r["x_floor"] == pytest.approx(r["s_per_epoch"] / (flop * r["K"] / rate), rel=0.02)
        want = tut["ms_per_model_epoch"] / r["ms_per_model_epoch"]
        assert r["speedup_vs_tutorial"] == pytest.approx(want, rel=0.02)
    assert [s["K"] for s in result["step_vs_k"]] == [1, 2]
    assert result["machine"]["load_average"] and result["machine"]["clock"] == "wall"


def test_quick_option_shrinks_the_run(bench):
    args = bench.parse_args(["--quick"])
    assert args.ks == [1, 8] and args.n == 2000 and max(args.step_ks) == 32
