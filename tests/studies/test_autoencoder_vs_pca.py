"""The deep-autoencoder study's job: files, members, the PCA row (studies.autoencoder_vs_pca)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.config import read_yaml, validate_config
from layerwise.data.io import save_dataset
from layerwise.engine.pca import fit_pca, pca_reconstruct, squared_error_per_image
from layerwise.studies.autoencoder_vs_pca import run_autoencoder_job
from layerwise.studies.job_io import RunSettings

REPO = Path(__file__).resolve().parents[2]
QUIET = {"log": lambda line: None}


@pytest.mark.parametrize("code", [2, 3])
def test_job_writes_its_files(tmp_path, code):
    g = np.random.default_rng(0)
    splits = {
        f"x_{s}": (g.random((n, 784)) < 0.2).astype(np.float32)
        for s, n in (("train", 60), ("valid", 10), ("test", 30))
    }
    splits.update(
        {f"y_{s}": g.integers(0, 10, len(splits[f"x_{s}"])) for s in ("train", "valid", "test")}
    )
    save_dataset(tmp_path / "data" / "data.npz", splits)
    cfg = validate_config(read_yaml(REPO / "config" / "smoke.yaml"))
    cfg["deep_autoencoder"].update(
        hidden=[16, 8],
        seeds=[1, 2],
        batch_size=10,
        n_recons=4,
        n_codes=25,
        n_train=50,
        pretrain={**cfg["deep_autoencoder"]["pretrain"], "epochs": 1},
        finetune={**cfg["deep_autoencoder"]["finetune"], "epochs": 1},
    )
    out = tmp_path / f"code{code}"
    run = RunSettings.from_config(cfg)
    data = tmp_path / "data" / "data.npz"
    table = run_autoencoder_job(cfg["deep_autoencoder"], code, run, data, out, **QUIET)
    assert list(table["method"]) == ["deep-ae"] * 4 + ["pca"]
    assert list(table["pretrained"]) == [True, True, False, False, False]
    assert (table["n_train"] == 50).all() and (table["code_size"] == code).all()
    summary = pd.read_csv(out / "summary.csv")
    pca = fit_pca(splits["x_train"][:50], code)
    x = splits["x_test"]
    assert summary["test_mse_per_image"].iloc[-1] == pytest.approx(
        squared_error_per_image(x, pca_reconstruct(pca, x)), rel=1e-6
    )
    with np.load(out / "recons.npz") as z:
        assert z["x"].shape == (4, 784) and z["ae_pretrained"].shape == (2, 4, 784)
    assert (out / "codes.npz").exists() == (code == 2)
    hist = pd.read_csv(out / "history.csv")
    assert set(hist["epoch"]) == {0, 1} and set(hist["member_id"]) == set(summary["member_id"][:4])
    assert (out / "record.json").read_text().count('"kind": "deep_autoencoder"') == 1
