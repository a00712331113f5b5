"""The workflow's config errors through the real `snakemake -n` (docs/reliability.md): the check
is the one of `python -m layerwise.config` (every cross-check included), and each problem names
where its value came from -- `--config` or the file and line -- not only the files read."""

from __future__ import annotations

import subprocess

import yaml
from workflow_run import SMOKE, env_with_mnist, snakemake_cmd


def _dry(tmp_path, *args, config=SMOKE):
    out = subprocess.run(
        snakemake_cmd(tmp_path / "work", "-n", *args, config=config),
        capture_output=True, text=True, env=env_with_mnist(tmp_path), timeout=300,
    )  # fmt: skip
    return out.returncode, out.stdout + out.stderr


def test_a_bad_command_line_value_is_reported_as_coming_from_the_command_line(tmp_path):
    rc, text = _dry(tmp_path, "--config", "finetune={max_epochs: 0}")
    assert rc != 0
    assert "finetune.max_epochs: 0 is out of range" in text
    assert "(set in --config)" in text, text[-3000:]


def test_the_workflow_refuses_a_side_study_on_an_unlisted_data_set_naming_the_line(tmp_path):
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["dropout_study"]["dataset"] = "mnist-rot"
    del cfg["data"]["datasets"]["mnist-rot"]
    cfg["grid"]["datasets"] = [d for d in cfg["grid"]["datasets"] if d != "mnist-rot"]
    path = tmp_path / "unlisted.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    lines = path.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.strip() == "dataset: mnist-rot")
    rc, text = _dry(tmp_path, config=path)
    assert rc != 0
    assert "dropout_study.dataset 'mnist-rot' must be listed under data.datasets" in text
    assert f"(set in {path}, line {line})" in text, text[-3000:]
