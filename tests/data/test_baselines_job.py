"""The baselines rule's job (layerwise.data.job): config slice -> baselines.json -> the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerwise.config import ConfigError, load_config, read_yaml, validate_config
from layerwise.data.io import dataset_checksum, read_arrays, save_dataset, write_card
from layerwise.data.job import baselines_datasets, baselines_slice, run_baselines_job
from layerwise.report.baselines_section import baselines_section, compare_baselines, read_baselines
from layerwise.report.inputs import load_reference

SMOKE = "config/smoke.yaml"


def _rectangles_like(out_dir, rng):
    """A 784-pixel two-class set written as the dataset rule does (data.npz + card.json)."""
    splits = {}
    for s, n in (("train", 120), ("valid", 60), ("test", 200)):
        y = rng.integers(0, 2, n)
        x = (rng.random((n, 784)) * 0.6).astype(np.float32)
        x[y == 1, :392] += 0.4
        splits[f"x_{s}"], splits[f"y_{s}"] = x, y
    out_dir.mkdir(parents=True)
    save_dataset(out_dir / "data.npz", splits)
    checksum = dataset_checksum(read_arrays(out_dir / "data.npz"))
    sizes = {"train": 120, "valid": 60, "test": 200}
    write_card(out_dir / "card.json", {"name": "rectangles", "checksum": checksum,
                                       "n_classes": 2, "sizes": sizes})  # fmt: skip
    return out_dir / "data.npz"


def test_the_job_writes_what_the_report_reads(tmp_path):
    grid = {"C_grid": [1.0, 10.0], "gamma_factors": [1.0]}
    over = {"max_test": 150, "svm_rbf": grid, "shape_stats": ["rectangles"]}
    cfg = load_config(SMOKE, {"data": {"baselines": over}})
    job = baselines_slice(cfg, "rectangles")
    json.dumps(job)  # plain builtins: Snakemake compares them as params
    assert job["settings"]["shape_stats"] is True
    data_npz = _rectangles_like(tmp_path / "data" / "rectangles", np.random.default_rng(0))
    out_json = tmp_path / "data" / "rectangles" / "baselines.json"
    lines = []
    written = run_baselines_job(job, data_npz, out_json, log=lines.append)
    assert json.loads(out_json.read_text()) == json.loads(json.dumps(written))
    assert not list(out_json.parent.glob("*.tmp-*"))  # atomic: no temporary left behind
    assert written["dataset"] == "rectangles" and written["sizes"]["train"] == 120
    assert len(written["svm_rbf"]["valid_errors"]) == 2
    assert any("svm_rbf test error" in line for line in lines)

    compared = compare_baselines(read_baselines([out_json]), load_reference(None))
    row = compared.iloc[0]
    assert row["dataset"] == "rectangles" and row["svm_rbf_n_test"] == 150
    assert row["svm_rbf_pct"] == pytest.approx(100 * written["svm_rbf"]["test_error"])
    assert row["svmrbf_pct"] == 2.15 and row["n_train"] == 120
    assert baselines_section(compared) is not None


def test_which_data_sets_get_baselines():
    cfg = load_config(SMOKE)
    assert "mnist-full" in cfg["data"]["datasets"]
    assert "mnist-full" not in baselines_datasets(cfg)  # hours for the SVM unless listed
    assert len(baselines_datasets(cfg)) == 8
    listed = load_config(SMOKE, {"data": {"baselines": {"datasets": ["mnist-full", "convex"]}}})
    assert baselines_datasets(listed) == ["convex", "mnist-full"]
    off = load_config(SMOKE, {"data": {"baselines": {"enabled": False}}})
    assert baselines_datasets(off) == []


def test_baselines_of_a_set_not_generated_is_a_config_error():
    cfg = read_yaml(SMOKE)
    del cfg["data"]["datasets"]["rectangles"]
    cfg["grid"]["datasets"] = ["mnist-basic"]
    cfg["data"]["baselines"] = {"datasets": ["rectangles"]}
    with pytest.raises(ConfigError, match="data.baselines.datasets lists"):
        validate_config(cfg)
