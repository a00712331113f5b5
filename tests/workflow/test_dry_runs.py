"""`snakemake -n` succeeds with every profile; a bad config stops the run before any job starts."""

from __future__ import annotations

import subprocess

import pytest
from workflow_run import ROOT, env_with_mnist, snakemake_cmd

PROFILES = ["smoke", "default", "paper"] + sorted(
    f"reproduce/{p.stem}" for p in (ROOT / "config" / "reproduce").glob("*.yaml")
)


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
