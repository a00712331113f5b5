"""`snakemake -n` succeeds with every profile; a bad config stops the run before any job starts."""

from __future__ import annotations

import re
import subprocess

import pytest
from workflow_run import ROOT, env_with_mnist, snakemake_cmd

#: Overlays of config/reproduce/ laid over a piece, never run alone (docs/reproduction.md).
OVERLAYS = ("held-out", "fan-in")
PIECES = sorted(p.stem for p in (ROOT / "config" / "reproduce").glob("*.yaml")
                if p.stem not in OVERLAYS)  # fmt: skip
PROFILES = ["smoke", "default", "paper"] + [f"reproduce/{p}" for p in PIECES]


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run(profile, tmp_path):
    out = subprocess.run(
        snakemake_cmd(tmp_path, "-n", config=ROOT / f"config/{profile}.yaml"),
        capture_output=True,
        text=True,
        env=env_with_mnist(tmp_path),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "finetune" in text and "pretrain" in text and "report" in text
    # a free core takes a ready pretraining job before a fine-tuning one (rules/pretrain.smk)
    priorities = job_priorities(text)
    assert min(priorities["pretrain"]) > max(priorities["finetune"]), priorities


@pytest.mark.parametrize("piece", PIECES)
def test_held_out_overlay_lays_over_every_piece(piece, tmp_path):
    """Each piece with the held-out overlay (and convex with the fan-in baseline too) plans."""
    overlays = [ROOT / "config/reproduce/held-out.yaml"]
    if piece == "convex":
        overlays.append(ROOT / "config/reproduce/fan-in.yaml")
    out = subprocess.run(
        snakemake_cmd(tmp_path, *map(str, overlays), "-n",
                      config=ROOT / f"config/reproduce/{piece}.yaml"),
        capture_output=True, text=True, env=env_with_mnist(tmp_path), timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "finetune" in text
    if piece == "convex":  # only the nets without pretraining: no pretraining stack but none's
        assert "results/pretrain/convex/none/" in text and "/rbm/" not in text


def test_fan_in_baseline_overlay_lays_over_the_main_job(tmp_path):
    """config/baseline-fan-in.yaml over the main job: the nets without pretraining start from the
    fan-in init (their own stack job), the pretrained ones as before, and the claims are judged."""
    out = subprocess.run(
        snakemake_cmd(tmp_path, str(ROOT / "config/baseline-fan-in.yaml"), "-n",
                      config=ROOT / "config/default.yaml"),
        capture_output=True, text=True, env=env_with_mnist(tmp_path), timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert re.search(r"results/pretrain/convex/none/h\d+-ifan-in/", text)
    assert not re.search(r"results/pretrain/convex/none/h\d+/", text)  # no Glorot stack
    assert "results/pretrain/convex/rbm/" in text and "rule claims:" in text


def job_priorities(dry_run: str) -> dict[str, list[int]]:
    """Rule -> the priority of each of its jobs in `snakemake -n` output (printed when not 0)."""
    found: dict[str, list[int]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head:
            priority = re.search(r"^\s+priority: (-?\d+)$", block, re.M)
            found.setdefault(head.group(1), []).append(int(priority.group(1)) if priority else 0)
    return found


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config/smoke.yaml").read_text().replace("patience: 3", "patiense: 3"))
    out = subprocess.run(
        snakemake_cmd(tmp_path, "--cores", "1", config=bad),
        capture_output=True,
        text=True,
        env=env_with_mnist(tmp_path),
        timeout=300,
    )
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "unknown key 'patiense' (did you mean 'patience'?) under finetune" in text
    assert not (tmp_path / "results").exists()
