"""Running the real workflow from tests: a fresh working directory per run, MNIST from the offline
copy, a hard timeout that kills snakemake's whole process group
(a plain SIGTERM does not stop it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "Snakefile"
SMOKE = ROOT / "config" / "smoke.yaml"
BIN = Path(sys.executable).parent


def snakemake_cmd(workdir: Path, *args: str, config: Path = SMOKE) -> list[str]:
    return [
        str(BIN / "snakemake"),
        "-s",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        *args,
    ]


def env_with_mnist(mnist_dir: Path) -> dict:
    env = dict(os.environ, LAYERWISE_MNIST_DIR=str(mnist_dir), MLFLOW_DISABLE_TELEMETRY="true")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def kill_group(proc: subprocess.Popen, first=signal.SIGINT, grace: float = 60.0) -> None:
    """Stop snakemake and its jobs: ``first`` to the group, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, first)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def run_snakemake(
    workdir: Path,
    mnist_dir: Path,
    *args: str,
    timeout: float = 1200,
    config: Path = SMOKE,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run the workflow to completion (or raise with its output)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "snakemake.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            snakemake_cmd(workdir, *args, config=config),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env_with_mnist(mnist_dir),
            start_new_session=True,
            cwd=ROOT,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, signal.SIGKILL)
            raise AssertionError(
                f"snakemake timed out after {timeout} s:\n{log.read_text()[-4000:]}"
            ) from None
    result = subprocess.CompletedProcess(proc.args, proc.returncode, log.read_text(), "")
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{result.stdout[-6000:]}")
    return result
