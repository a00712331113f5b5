"""The deep-autoencoder study: one job per code size -> ``results/deep_autoencoder/code{n}/``.

Hinton & Salakhutdinov (Science 2006), Fig. 2: a deep autoencoder
(layerwise.engine.deep_autoencoder), with and without RBM pretraining, against PCA
(layerwise.engine.pca) with the same code size, on the same
training images; the measure is the average squared reconstruction error per test image (sum over
the 784 pixels, mean over the test images; published 3.00 deep AE and 13.87 PCA at 30-D on all
60000 training images -- a reduced-scale run gives other numbers, the report says so).
Choice: the training subset is the *leading* ``n_train`` images of the data set's training split
(MNIST order), so every code size and method sees the same images; the whole test split is used.

Files (docs/architecture.md "Files on disk"):
  summary.csv    member_id, method (deep-ae | pca), code_size, pretrained, seed,
                 test_mse_per_image, train_mse_per_image, epochs, diverged, n_train, n_test
  history.csv    member_id, seed, pretrained, epoch, train_cross_entropy, train_mse_per_image,
                 test_mse_per_image (epoch 0 = before fine-tuning; train values are running means)
  rbm_history.csv  member_id, seed, layer, epoch, recon_error of the greedy RBM stack
  recons.npz     x (n, 784) the first n test images, labels (n,), pca (n, 784),
                 ae_pretrained / ae_random (S, n, 784), seeds (S,); all float32 in [0, 1] but pca
  codes.npz      code size 2 only: labels (m,), pca (m, 2), ae_pretrained / ae_random (S, m, 2)
  record.json    job record (kind "deep_autoencoder"), config.yaml (the config slice)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from layerwise import files, layout
from layerwise.data.io import load_dataset
from layerwise.engine.deep_autoencoder import (
    DeepAESettings,
    encode_decode,
    mse_per_image,
    train_deep_autoencoder,
)
from layerwise.engine.pca import fit_pca, pca_codes, pca_reconstruct, squared_error_per_image
from layerwise.studies.job_io import (
    JobClock,
    RunSettings,
    job_record,
    job_slice,
    setup_device,
    write_slice,
    write_table,
)


def autoencoder_settings(a: dict, code_size: int) -> DeepAESettings:
    """DeepAESettings from the validated ``deep_autoencoder`` config section ``a``."""
    pre, ft = a["pretrain"], a["finetune"]
    return DeepAESettings(
        seeds=list(a["seeds"]),
        hidden=tuple(a["hidden"]),
        code_size=int(code_size),
        batch_size=a["batch_size"],
        pretrain_epochs=pre["epochs"],
        pretrain_lr=pre["lr"],
        pretrain_lr_top=pre["lr_top"],
        momentum_initial=pre["momentum_initial"],
        momentum=pre["momentum"],
        momentum_switch_epoch=pre["momentum_switch_epoch"],
        weight_decay=pre["weight_decay"],
        cd_k=pre["cd_k"],
        finetune_epochs=ft["epochs"],
        finetune_lr=ft["lr"],
        finetune_momentum=ft["momentum"],
    )


def member_ids(seeds: list[int]) -> list[str]:
    """Ids of the K = 2 x len(seeds) members: pretrained seeds first, then random ones."""
    return [f"deep-ae.{tag}.s{s}" for tag in ("pretrained", "random") for s in seeds]


def _summary(s, ids, ae_test, ae_train, pca_test, pca_train, div, n_train, n_test) -> pd.DataFrame:
    S = len(s.seeds)
    rows = [
        {
            "member_id": mid,
            "method": "deep-ae",
            "code_size": s.code_size,
            "pretrained": k < S,
            "seed": s.seeds[k % S],
            "test_mse_per_image": float(ae_test[k]),
            "train_mse_per_image": float(ae_train[k]),
            "epochs": s.finetune_epochs,
            "diverged": bool(not np.isnan(div[k])),
        }
        for k, mid in enumerate(ids)
    ]
    rows.append(
        {
            "member_id": "pca",
            "method": "pca",
            "code_size": s.code_size,
            "pretrained": False,
            "seed": np.nan,
            "test_mse_per_image": pca_test,
            "train_mse_per_image": pca_train,
            "epochs": 0,
            "diverged": False,
        }
    )
    table = pd.DataFrame(rows)
    table["n_train"], table["n_test"] = n_train, n_test
    return table


def _write_arrays(out_dir: Path, s, x_test, y_test, codes, recons, pca, cfg_ae) -> None:
    """recons.npz (first n_recons test digits) and, for 2-D codes, codes.npz."""
    S, n, m = len(s.seeds), cfg_ae["n_recons"], cfg_ae["n_codes"]
    f32 = np.float32
    files.write_with(
        out_dir / "recons.npz",
        lambda p: np.savez_compressed(
            p,
            x=x_test[:n].astype(f32),
            labels=y_test[:n],
            seeds=np.asarray(s.seeds),
            pca=pca_reconstruct(pca, x_test[:n]).astype(f32),
            ae_pretrained=recons[:S, :n].astype(f32),
            ae_random=recons[S:, :n].astype(f32),
        ),
    )
    if s.code_size == 2:
        files.write_with(
            out_dir / "codes.npz",
            lambda p: np.savez_compressed(
                p,
                labels=y_test[:m],
                seeds=np.asarray(s.seeds),
                pca=pca_codes(pca, x_test[:m]).astype(f32),
                ae_pretrained=codes[:S, :m].astype(f32),
                ae_random=codes[S:, :m].astype(f32),
            ),
        )


def _histories(hist: pd.DataFrame, rbm_hist: pd.DataFrame, s, ids) -> tuple[pd.DataFrame, ...]:
    S = len(s.seeds)
    hist = hist.copy()
    k = hist.pop("member").astype(int)
    hist.insert(0, "member_id", [ids[i] for i in k])
    hist.insert(1, "seed", [s.seeds[i % S] for i in k])
    hist.insert(2, "pretrained", (k < S).to_numpy())
    rbm_hist = rbm_hist.copy()
    m = rbm_hist.pop("member").astype(int)
    rbm_hist.insert(0, "member_id", [ids[i] for i in m])
    rbm_hist.insert(1, "seed", [s.seeds[i] for i in m])
    return hist, rbm_hist


def run_autoencoder_job(
    a: dict,
    code_size: int,
    run: RunSettings,
    data_path: Path,
    out_dir: Path,
    *,
    threads=1,
    log=print,
) -> pd.DataFrame:
    """Train the deep autoencoders (pretrained and random) and PCA for one code size; write files.

    ``a`` is the validated ``deep_autoencoder`` config section (the job's slice). Returns the
    summary table (one row per member plus one for PCA).
    """
    clock, device = JobClock(), setup_device(run, threads)
    s = autoencoder_settings(a, code_size)
    ds = load_dataset(data_path)
    x_train = ds.x_train[: a["n_train"]] if a["n_train"] else ds.x_train
    x_test, y_test = ds.x_test.astype(np.float32), ds.y_test
    log(
        f"[deep_autoencoder] code {code_size}: sizes {[x_train.shape[1], *s.layer_sizes]}, "
        f"{len(x_train)} training / {len(x_test)} test images, K={2 * len(s.seeds)} on {device}"
    )
    params, rbm_hist, hist, div = train_deep_autoencoder(x_train, x_test, s, device=device, log=log)
    xt = torch.as_tensor(x_test, device=device)
    codes, recons = (t.cpu().numpy() for t in encode_decode(params, xt))  # (K, N, c), (K, N, 784)
    ae_test = ((recons - x_test[None]) ** 2).sum(-1).mean(-1)
    x_tr = torch.as_tensor(x_train, device=device, dtype=torch.float32)
    ae_train = mse_per_image(params, x_tr).cpu().numpy()  # (K,) exact, after the last epoch
    pca = fit_pca(x_train, code_size)
    pca_test = squared_error_per_image(x_test, pca_reconstruct(pca, x_test))
    pca_train = squared_error_per_image(x_train, pca_reconstruct(pca, x_train))
    ids = member_ids(s.seeds)
    out_dir = Path(out_dir)
    table = _summary(s, ids, ae_test, ae_train, pca_test, pca_train, div, len(x_train), len(x_test))
    _write_arrays(out_dir, s, x_test, y_test, codes, recons, pca, a)
    hist, rbm_hist = _histories(hist, rbm_hist, s, ids)
    write_table(out_dir / layout.HISTORY, hist)
    write_table(out_dir / "rbm_history.csv", rbm_hist)
    slice_ = job_slice(run, deep_autoencoder=a, code_size=code_size)
    write_slice(out_dir, slice_)
    table["wall_time_s"] = clock.seconds()
    write_table(out_dir / "summary.csv", table)
    log(f"[deep_autoencoder] code {code_size}: test squared error per image\n{table.to_string()}")
    job_id = layout.job_id(layout.AUTOENCODER, code=code_size)
    rec = job_record("deep_autoencoder", job_id, run.study, ds, device, clock, slice_,
                     method="rbm", depth=len(s.layer_sizes), group=f"code{code_size}",
                     # one run per summary row: the trained nets and the PCA baseline
                     n_members=len(table), n_diverged=int(table["diverged"].sum()),
                     members_file="summary.csv",
                     settings={**a, "code_size": code_size,
                               "layer_sizes": s.layer_sizes})  # fmt: skip
    files.write_json(out_dir / layout.RECORD, rec)
    return table
