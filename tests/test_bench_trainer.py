"""The benchmark entry point runs end to end on a tiny net and its table is self-consistent."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("bench_trainer")


def test_tiny_run_writes_a_consistent_table(bench, tmp_path):
    out = tmp_path / "b.json"
    args = "--device cpu --widths 16 --n 60 --ks 1 2 --batches 10 --matmul-n 64 --repeat 1"
    result = bench.main([*args.split(), "--pretrain", "rbm", "--out", str(out)])
    assert json.loads(out.read_text())["rows"] == result["rows"]
    rows = {(r["what"], r["impl"], r["K"], r["precision"]): r for r in result["rows"]}
    ours = [("finetune", "layerwise", k, p) for k in (1, 2) for p in ("float32", "bf16")]
    assert set(rows) == {
        ("finetune", "tutorial", 1, "float32"),
        ("finetune", "torch.func", 1, "float32"),
        ("finetune", "torch.func", 2, "float32"),
        *ours,
        *[("rbm_cd1", "layerwise", k, p) for k in (1, 2) for p in ("float32", "bf16")],
    }
    tut = rows[("finetune", "tutorial", 1, "float32")]
    rates = {p: r * 1e12 for p, r in result["matmul_tflops"].items()}
    flop = 6 * (784 * 16 + 16 * 16 * 2 + 16 * 10) * 60
    for key in ours:
        r = rows[key]
        assert r["ms_per_model_epoch"] == pytest.approx(1e3 * r["s_per_epoch"] / r["K"], rel=0.01)
        floor = flop * r["K"] / rates[r["precision"]]
        assert r["x_floor"] == pytest.approx(r["s_per_epoch"] / floor, rel=0.02)
        want = tut["ms_per_model_epoch"] / r["ms_per_model_epoch"]
        assert r["x_tutorial"] == pytest.approx(want, rel=0.02)
        fp32 = rows[("finetune", "layerwise", r["K"], "float32")]["s_per_epoch"]
        if r["precision"] == "bf16":
            assert r["x_fp32"] == pytest.approx(fp32 / r["s_per_epoch"], rel=0.02)
    assert rows[("rbm_cd1", "layerwise", 2, "bf16")]["x_fp32"] is not None
    assert result["machine"]["load_average"] and result["machine"]["clock"] == "wall"


def test_quick_option_shrinks_the_run(bench):
    args = bench.parse_args(["--quick"])
    assert args.widths == [1000] and args.batches == [20] and args.ks == [1]
