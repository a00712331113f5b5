"""The prepared GPU check: everything the GPU goals need, measured in one run of ~8 minutes.

    python3 benchmarks/gpu_check.py OUT_DIR            # on a machine with a CUDA device
    python3 benchmarks/gpu_check.py OUT_DIR --dry      # same code paths, CPU, tiny sizes, seconds

Writes OUT_DIR/gpu_check.json (rewritten after every part) and OUT_DIR/gpu_check.log, and prints a
summary. Parts, each in its own process with its own time limit (a part that fails or runs out of
time is recorded and the next one runs; the exit status is 1 if any part was not ok):

  setup  which torch is installed (CUDA build? the device?); missing Python packages are installed
         from carried wheels (--wheels); where only the CPU build of torch is installed and PyPI
         is reachable, the CUDA build of the lock's version replaces it:
         `pip uninstall -y torch && pip install torch==<lock>` (pip's configured index)
         (pip's default torch wheel on Linux x86-64 is the CUDA build). Without PyPI (the
         workplace's GPU machine reaches nothing) the installed torch is used and recorded.
  tests  benchmarks/gpu_check_equiv.py on the device (population = members alone, graphs on and
         off, float32 and bf16, device = CPU, streams, hand-written step, pretraining), then the
         engine's own test files (CPU tensors) under this machine's torch;
  bench  benchmarks/bench_trainer.py, float32 and bf16 (its modes; tf32 is not one): fine-tuning
         784-1000-1000-1000-10 at K = 1 8 32 128 256, minibatch 20 and 100 (one process each),
         beside the tutorial loop and the torch.func ensemble; RBM and AE epochs; every row also
         as a multiple of the float32 FLOP floor and as ms per population step;
  cell   benchmarks/gpu_check_cell.py: one paper-scale cell (mnist-basic, depth 3, none + rbm,
         the paper profile's candidates, 2 seeds) through the pipeline's stages, wall time per
         stage, test errors against the published ones, and the paper profile projected from it.

The goals (docs/performance.md) are judged from these numbers in full mode; in dry mode they are
left unjudged. Only the standard library is imported here, so setup may replace torch.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import gpu_check_cell  # noqa: E402 - stdlib-only at import (the projection)

PARTS = ("setup", "tests", "bench", "cell")
LIMITS = {"setup": 150, "tests": 90, "bench": 180, "cell": 180}  # seconds, each capped by budget
MODULES = ["numpy", "pandas", "yaml", "jsonschema", "scipy", "skimage", "matplotlib", "pytest"]
ENGINE_TESTS = ["test_population.py", "test_fast_paths.py", "test_finetune.py", "test_pretrain.py"]
# bench_trainer.py measures float32 and bf16 (tf32 is not one of its modes); one process per
# minibatch size, so that a run stopped at its limit loses one batch size, not all
BENCH = {
    "full": "--widths 1000 --ks 1 8 32 128 256 --precisions float32 bf16 --n 4000 "
    "--pretrain rbm ae --repeat 3".split(),
    "dry": "--threads 1 --widths 16 --ks 1 2 --precisions float32 bf16 --n 80 "
    "--pretrain rbm ae --repeat 1 --matmul-n 64".split(),
}
BATCHES = {"full": (20, 100), "dry": (20,)}
PROBE = """
import importlib.util, json, sys
info = dict(python=sys.version.split()[0], executable=sys.executable)
info["missing"] = [m for m in MODULES if importlib.util.find_spec(m) is None]
try:
    import torch
    info.update(torch=torch.__version__, cuda_build=torch.version.cuda,
                cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(device_name=p.name, capability=f"{p.major}.{p.minor}",
                    memory_gib=round(p.total_memory / 2**30, 1),
                    multiprocessors=p.multi_processor_count)
except Exception as err:
    info["torch_error"] = repr(err)
print("PROBE " + json.dumps(info))
"""


class Log:
    """Every line to stdout and to gpu_check.log."""

    def __init__(self, path: Path):
        self.file = path.open("a", buffering=1)

    def __call__(self, line: str) -> None:
        line = line.rstrip("\n")
        print(line, flush=True)
        self.file.write(line + "\n")


def run_cmd(cmd: list[str], timeout: float, log: Log, env: dict, prefix: str) -> dict:
    """Run cmd in its own process group; its output goes to the log; killed after `timeout` s."""
    t0 = time.monotonic()
    log(f"[{prefix}] $ {' '.join(cmd)}  (limit {timeout:.0f} s)")
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line)
            log(f"[{prefix}] {line}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc, timed_out = proc.wait(timeout=max(1.0, timeout)), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this call started, nothing else
        rc, timed_out = proc.wait(), True
        log(f"[{prefix}] killed after {timeout:.0f} s")
    reader.join(timeout=5)
    return dict(
        rc=rc,
        timed_out=timed_out,
        seconds=round(time.monotonic() - t0, 1),
        tail="".join(lines[-15:]),
    )


class Check:
    """State of one run: options, environment, deadline, the record written after each part."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.dry = args, args.dry
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu_check.log").unlink(missing_ok=True)
        self.log = Log(self.out / "gpu_check.log")
        self.work = Path(args.work or tempfile.mkdtemp(prefix="gpu_check_"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.python = args.python or sys.executable
        self.device = "cpu" if self.dry else "cuda"
        self.t0 = time.monotonic()
        self.deadline = self.t0 + args.budget
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        if self.dry:
            self.env.setdefault("OMP_NUM_THREADS", "1")
        mnist = args.mnist or (REPO / "benchmarks" / "out" / "mnist")
        if "LAYERWISE_MNIST_DIR" not in self.env and Path(mnist).is_dir():
            self.env["LAYERWISE_MNIST_DIR"] = str(Path(mnist).resolve())
        self.paths = [str(REPO / "src")]
        self.timed_out = False  # did a command of the current part run out of time
        self.record = dict(
            check="layerwise gpu_check",
            mode="dry" if self.dry else "full",
            started=_now(),
            argv=sys.argv,
            budget_s=args.budget,
            git_commit=_git_commit(),
            parts={},
            goals=[],
        )

    def sub_env(self) -> dict:
        old = self.env.get("PYTHONPATH")
        return dict(self.env, PYTHONPATH=os.pathsep.join(self.paths + ([old] if old else [])))

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def save(self) -> None:
        self.record["wall_s"] = round(time.monotonic() - self.t0, 1)
        tmp = self.out / "gpu_check.json.tmp"
        tmp.write_text(json.dumps(self.record, indent=1, default=str))
        os.replace(tmp, self.out / "gpu_check.json")

    def run(self, cmd: list[str], timeout: float, prefix: str) -> dict:
        done = run_cmd(cmd, timeout, self.log, self.sub_env(), prefix)
        self.timed_out |= done["timed_out"]
        return done


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def lock_torch_version() -> str | None:
    text = (REPO / "requirements" / "lock.txt").read_text()
    m = re.search(r"^torch==([^\s;]+)", text, flags=re.M)
    return m.group(1) if m else None


def pypi_reachable(python: str = sys.executable, timeout: float = 20.0) -> bool:
    """Whether pip's configured index answers (``pip index versions torch``) within ``timeout``."""
    try:
        done = subprocess.run([python, "-m", "pip", "index", "versions", "torch"],
                              capture_output=True, timeout=timeout)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


# ---- the parts: each returns (ok, result); an exception is a failed part ----


def part_setup(c: Check, limit: float) -> tuple[bool, dict]:
    def probe() -> dict:
        code = f"MODULES = {MODULES!r}\n" + PROBE
        done = c.run([c.python, "-c", code], min(60.0, limit), "setup")
        found = [ln for ln in done["tail"].splitlines() if ln.startswith("PROBE ")]
        return json.loads(found[-1][6:]) if found else dict(probe_error=done["tail"])

    res = dict(lock_torch=lock_torch_version(), actions=[])
    info = probe()
    wheels = Path(c.args.wheels or REPO / "benchmarks" / "out" / "wheels")
    if info.get("missing") and wheels.is_dir() and list(wheels.glob("*.whl")):
        site = c.work / "site"
        cmd = [
            c.python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--target",
            str(site),
            *map(str, sorted(wheels.glob("*.whl"))),
        ]
        res["actions"].append(dict(cmd=" ".join(cmd), **c.run(cmd, limit / 2, "setup")))
        c.paths.append(str(site))
        info = probe()
    cpu_build = "torch" in info and info.get("cuda_build") is None
    install = [
        f"{c.python} -m pip uninstall -y torch",
        f"{c.python} -m pip install torch=={res['lock_torch']}",
    ]
    res["cuda_torch_install"] = " && ".join(install)
    if cpu_build and not c.dry:
        if c.args.no_install or not pypi_reachable(c.python):
            res["actions"].append("CPU build of torch and no PyPI (or --no-install): not replaced")
        else:
            done = c.run(["bash", "-c", res["cuda_torch_install"]], c.remaining() - 5, "setup")
            res["actions"].append(dict(cmd=res["cuda_torch_install"], **done))
            info = probe()
    if "torch" in info and info["torch"].split("+")[0] != res["lock_torch"]:
        res["actions"].append(f"torch {info['torch']} is used, not the lock's {res['lock_torch']}")
    if shutil.which("nvidia-smi"):
        q = "name,driver_version,memory.total,clocks.max.sm"
        done = c.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"], 20, "setup")
        res["nvidia_smi"] = done["tail"].strip()
    res["machine"] = info
    c.record["machine"] = dict(info, cpu_count=os.cpu_count())
    ok = "torch" in info and (c.dry or bool(info.get("cuda_available")))
    return ok and not info.get("missing"), res


def part_tests(c: Check, limit: float) -> tuple[bool, dict]:
    result = c.work / "equiv.json"
    cmd = [
        c.python,
        str(HERE / "gpu_check_equiv.py"),
        "--device",
        c.device,
        "--result",
        str(result),
    ]
    equiv = c.run(cmd, limit * 0.6, "tests")
    checks = json.loads(result.read_text())["checks"] if result.exists() else []
    files = ENGINE_TESTS[:1] if c.dry else ENGINE_TESTS
    cmd = [
        c.python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *[f"tests/engine/{f}" for f in files],
    ]
    pytest = c.run(cmd, max(5.0, limit - equiv["seconds"] - 2), "tests")
    summary = [ln for ln in pytest["tail"].splitlines() if re.search(r"\d+ (passed|failed)", ln)]
    res = dict(
        device=c.device,
        checks=checks,
        equiv_rc=equiv["rc"],
        pytest_files=files,
        pytest_rc=pytest["rc"],
        pytest_summary=summary[-1] if summary else None,
        failed=[r["name"] for r in checks if not r["passed"]],
    )
    ok = equiv["rc"] == 0 and pytest["rc"] == 0 and bool(checks) and not res["failed"]
    return ok, res


def part_bench(c: Check, limit: float) -> tuple[bool, dict]:
    runs, ok, end = {}, True, time.monotonic() + limit
    mode = "dry" if c.dry else "full"
    for i, batch in enumerate(BATCHES[mode]):
        share = (end - time.monotonic()) / (len(BATCHES[mode]) - i)
        if share < 5:
            runs[str(batch)], ok = dict(error="no time left"), False
            continue
        out = c.work / f"bench_b{batch}.json"
        cmd = [c.python, str(HERE / "bench_trainer.py"), "--device", c.device, *BENCH[mode]]
        cmd += ["--batches", str(batch), "--out", str(out), *shlex.split(c.args.bench_args)]
        done = c.run(cmd, share, f"bench b{batch}")
        if done["rc"] == 0 and out.exists():
            runs[str(batch)] = json.loads(out.read_text())
        else:
            error = f"rc={done['rc']} timed_out={done['timed_out']}"
            runs[str(batch)], ok = dict(error=error, tail=done["tail"]), False
    return ok, dict(runs=runs, rows=bench_rows(runs))


def bench_rows(runs: dict) -> list[dict]:
    """Every run's rows, with the multiple of the float32 FLOP floor (float32 matmul rate) and
    the seconds per population step."""
    rows = []
    for run in runs.values():
        rate = run.get("matmul_tflops", {}).get("float32")
        for r in run.get("rows", []):
            x32 = rate / r["tflops"] if rate and r.get("tflops") else None
            step = r["s_per_epoch"] / max(1, r["n"] // r["batch"])
            rows.append(dict(r, x_fp32_floor=x32 and round(x32, 3), ms_per_step=1e3 * step))
    return rows


def part_cell(c: Check, limit: float) -> tuple[bool, dict]:
    result = c.work / "cell.json"
    result.unlink(missing_ok=True)
    cmd = [
        c.python,
        str(HERE / "gpu_check_cell.py"),
        "--work",
        str(c.work / "cell"),
        "--result",
        str(result),
    ] + (["--dry"] if c.dry else [])
    done = c.run(cmd, limit, "cell")
    cell = json.loads(result.read_text()) if result.exists() else {}
    rows = c.record["parts"].get("bench", {}).get("result", {}).get("rows", [])
    cell["projection"] = gpu_check_cell.project(cell, rows)
    if not c.args.keep_jobs:
        cell.pop("paper_jobs", None)
    cell.update(rc=done["rc"], timed_out=done["timed_out"])
    return done["rc"] == 0 and bool(cell.get("finished")), cell


PART_FUNCS = {"setup": part_setup, "tests": part_tests, "bench": part_bench, "cell": part_cell}


# ---- goals and the summary ----


def goals(record: dict) -> list[dict]:
    """The GPU goals of docs/performance.md against what was measured (met None in dry mode)."""
    parts = record["parts"]
    rows = [
        r
        for r in parts.get("bench", {}).get("result", {}).get("rows", [])
        if r["precision"] == "float32" and r["what"] == "finetune" and r["impl"] == "layerwise"
    ]
    out = []
    for batch in sorted({r["batch"] for r in rows}):
        big = [r for r in rows if r["batch"] == batch and r["K"] >= 32]
        worst = max((r["x_fp32_floor"] for r in big if r["x_fp32_floor"]), default=None)
        best = max((r["x_tutorial"] or 0 for r in big), default=None)
        out.append(
            dict(
                goal=f"fine-tuning within 2x of the fp32 floor, K >= 32, minibatch {batch}",
                measured=worst,
                met=None if worst is None else worst <= 2,
            )
        )
        out.append(
            dict(
                goal=f">= 30x the tutorial loop per model, K >= 32, minibatch {batch}",
                measured=best,
                met=None if not best else best >= 30,
            )
        )
    steps = {r["K"]: r["ms_per_step"] for r in rows if r["batch"] == 20}
    flat = steps[32] / steps[1] if 1 in steps and 32 in steps else None
    out.append(
        dict(
            goal="step time at minibatch 20 flat in K: ms(K=32) <= 1.5 ms(K=1)",
            measured=flat and round(flat, 3),
            met=None if flat is None else flat <= 1.5,
        )
    )
    proj = parts.get("cell", {}).get("result", {}).get("projection", {})
    est = proj.get("total_estimate_h")
    out.append(
        dict(
            goal="paper profile on one GPU in 2-5 h (projected; at most 5 h)",
            measured=est and round(est, 2),
            met=None if est is None else est <= 5,
        )
    )
    for e in parts.get("cell", {}).get("result", {}).get("errors", []):
        out.append(
            dict(
                goal=f"mnist-basic depth 3 {e['pretraining']}: published "
                f"{e.get('paper_pct')} +- {e.get('paper_ci_pct')} %",
                measured=e["ours_pct"],
                met=e.get("verdict") in ("within intervals", "better"),
            )
        )
    if record["mode"] == "dry":
        for g in out:
            g["met"] = None  # tiny sizes on a CPU judge nothing
    return out


def summary(record: dict) -> str:
    lines = [
        "",
        f"gpu_check ({record['mode']}): {record.get('wall_s')} s",
        "",
        "| part | status | s | limit s | note |",
        "|---|---|---|---|---|",
    ]
    for name, p in record["parts"].items():
        lines.append(
            f"| {name} | {p['status']} | {p['wall_s']} | {p['limit_s']} | "
            f"{(p.get('error') or '')[:80]} |"
        )
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {g['met']} |" for g in record["goals"]]
    rows = record["parts"].get("bench", {}).get("result", {}).get("rows", [])
    if rows:
        lines += [
            "",
            "| precision | what | impl | K | batch | ms/model-epoch | TFLOP/s | x fp32 floor "
            "| x tutorial |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['precision']} | {r['what']} | {r['impl']} | {r['K']} | {r['batch']} | "
            f"{r['ms_per_model_epoch']} | {r['tflops']} | {r['x_fp32_floor']} | "
            f"{r['x_tutorial'] or ''} |"
            for r in rows
        ]
    cell = record["parts"].get("cell", {}).get("result", {})
    if cell:
        lines += ["", f"cell stages (s): {cell.get('stages_s')}"]
        proj = cell.get("projection", {})
        lines.append(
            f"paper profile projected: estimate {proj.get('total_estimate_h')} h, "
            f"upper bound {proj.get('total_upper_h')} h"
        )
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", help="folder for gpu_check.json and gpu_check.log")
    ap.add_argument("--dry", action="store_true", help="CPU, tiny sizes (no GPU needed)")
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    ap.add_argument(
        "--budget", type=float, default=None, help="seconds for all parts (450; dry 240)"
    )
    ap.add_argument("--limit", nargs="*", default=[], metavar="PART=S", help="a part's time limit")
    ap.add_argument("--python", default=None, help="interpreter for the parts (default: this one)")
    ap.add_argument(
        "--wheels", default=None, help="wheels of missing packages (benchmarks/out/wheels)"
    )
    ap.add_argument("--mnist", default=None, help="MNIST folder (benchmarks/out/mnist if present)")
    ap.add_argument("--work", default=None, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--bench-args", default="", help="more flags for bench_trainer.py, quoted")
    ap.add_argument("--no-install", action="store_true", help="never replace torch")
    ap.add_argument("--keep-jobs", action="store_true", help="keep the paper job list in the JSON")
    args = ap.parse_args(argv)
    args.budget = args.budget or (240.0 if args.dry else 450.0)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    c = Check(args)
    limits = dict(LIMITS, **{k: float(v) for k, v in (s.split("=") for s in args.limit)})
    c.log(f"gpu_check {c.record['mode']}: out {c.out}, work {c.work}, budget {args.budget:.0f} s")
    for name in args.parts:
        limit = min(limits[name], c.remaining())
        entry = dict(status="skipped", limit_s=round(limit), wall_s=0.0, error=None)
        c.record["parts"][name] = entry
        if limit < 10:
            entry["error"] = "no time left in the budget"
            c.save()
            continue
        t0, c.timed_out = time.monotonic(), False
        try:
            ok, result = PART_FUNCS[name](c, limit)
            entry.update(status="ok" if ok else "failed", result=result)
        except Exception as err:  # noqa: BLE001 - a broken part is recorded, the next one runs
            entry.update(status="failed", error=f"{type(err).__name__}: {err}")
        if c.timed_out:
            entry["status"] = "timeout"
        entry["wall_s"] = round(time.monotonic() - t0, 1)
        c.log(f"== part {name}: {entry['status']} in {entry['wall_s']} s")
        c.save()
    c.record["goals"] = goals(c.record)
    c.record["finished"] = _now()
    c.save()
    c.record["summary"] = summary(c.record)
    c.log(c.record["summary"])
    c.save()
    return 0 if all(p["status"] == "ok" for p in c.record["parts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
