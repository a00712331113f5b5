"""The deep-autoencoder report section from fabricated job files: table values, figures, absence."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.report.deep_autoencoder_section import (
    autoencoder_section,
    error_table,
    load_summaries,
)
from layerwise.report.errors import ReportError
from layerwise.report.style import FigureOut
from layerwise.report.tables import Table

PNG = b"\x89PNG\r\n\x1a\n"
# (code size) -> test errors of [pretrained s1, pretrained s2, random s1, random s2, pca]
ERRORS = {30: [5.0, 7.0, 40.0, 44.0, 14.5], 2: [30.0, 32.0, 50.0, 52.0, 47.0]}


def write_job(folder: Path, code: int, rng: np.random.Generator) -> None:
    """One code{n}/ folder as layerwise.studies.autoencoder_vs_pca writes it (2 seeds, 6 recons,
    300 codes)."""
    folder.mkdir(parents=True)
    rows = [
        {
            "member_id": f"deep-ae.{'pretrained' if k < 2 else 'random'}.s{k % 2 + 1}",
            "method": "deep-ae",
            "pretrained": k < 2,
            "seed": k % 2 + 1,
        }
        for k in range(4)
    ] + [{"member_id": "pca", "method": "pca", "pretrained": False, "seed": np.nan}]
    summary = pd.DataFrame(rows).assign(
        code_size=code,
        test_mse_per_image=ERRORS[code],
        train_mse_per_image=ERRORS[code],
        epochs=3,
        diverged=False,
        n_train=1234,
        n_test=500,
    )
    summary.to_csv(folder / "summary.csv", index=False)
    hist = pd.DataFrame(
        [
            {
                "member_id": r["member_id"],
                "seed": r["seed"],
                "pretrained": r["pretrained"],
                "epoch": e,
                "test_mse_per_image": 60.0 / (e + 1),
            }
            for r in rows[:4]
            for e in range(4)
        ]
    )
    hist.to_csv(folder / "history.csv", index=False)
    imgs = rng.random((6, 784)).astype(np.float32)
    np.savez(
        folder / "recons.npz",
        x=imgs,
        labels=np.arange(6),
        seeds=np.array([1, 2]),
        pca=imgs + 0.1,
        ae_pretrained=np.stack([imgs] * 2),
        ae_random=np.stack([imgs] * 2),
    )
    if code == 2:
        labels = rng.integers(0, 10, 300)
        codes = rng.normal(size=(300, 2)) + labels[:, None]
        np.savez(
            folder / "codes.npz",
            labels=labels,
            pca=codes,
            seeds=np.array([1, 2]),
            ae_pretrained=np.stack([codes] * 2),
            ae_random=np.stack([codes] * 2),
        )


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("autoencoder")
    rng = np.random.default_rng(0)
    for code in ERRORS:
        write_job(root / f"code{code}", code, rng)
    return root


def test_section_renders_table_and_figures(jobs):
    section = autoencoder_section(jobs)
    assert section is not None and section.id == "autoencoder"
    tables = [b for b in section.blocks if isinstance(b, Table)]
    figures = [b for b in section.blocks if isinstance(b, FigureOut)]
    assert len(tables) == 1
    names = {f.name for f in figures}
    assert names == {
        "autoencoder_recons",
        "autoencoder_codes_2d",
        "autoencoder_curves",
    }
    assert all(f.png.startswith(PNG) and len(f.png) > 2000 for f in figures)


def test_table_values_are_means_over_seeds_with_published_numbers(jobs):
    frame = error_table(load_summaries([jobs / "code30", jobs / "code2"])).to_frame()
    row30 = frame[frame["Code size"] == "30"].iloc[0]
    assert row30["Deep AE, pretrained"].startswith("6.00")  # mean of 5 and 7
    assert "5.00-7.00 over 2 seeds" in row30["Deep AE, pretrained"]
    assert row30["Deep AE, random init"].startswith("42.00") and row30["PCA"] == "14.50"
    assert row30["Published AE / PCA"] == "3.00 / 13.87"
    row2 = frame[frame["Code size"] == "2"].iloc[0]
    assert (
        row2["PCA"] == "47.00" and row2["Published AE / PCA"] == "-" and row2["n train"] == "1234"
    )


def test_diverged_members_are_left_out_of_the_mean(jobs, tmp_path):
    summary = pd.read_csv(jobs / "code30" / "summary.csv")
    summary.loc[0, "diverged"] = True  # pretrained seed 1 (error 5.0)
    (tmp_path / "code30").mkdir()
    summary.to_csv(tmp_path / "code30" / "summary.csv", index=False)
    frame = error_table(load_summaries([tmp_path / "code30"])).to_frame()
    assert frame["Deep AE, pretrained"].iloc[0] == "7.00"


def test_section_absent_without_files(tmp_path):
    assert autoencoder_section(None) is None
    assert autoencoder_section(tmp_path / "missing") is None
    (tmp_path / "code30").mkdir()  # a folder without summary.csv: the job has not finished
    assert autoencoder_section(tmp_path) is None


def test_malformed_summary_names_the_file(tmp_path):
    (tmp_path / "code30").mkdir()
    pd.DataFrame({"method": ["pca"]}).to_csv(tmp_path / "code30" / "summary.csv", index=False)
    with pytest.raises(ReportError, match="code30/summary.csv"):
        autoencoder_section(tmp_path)


def test_build_report_places_the_section_before_provenance(fake_tree, jobs, tmp_path):
    from layerwise.report.build import build_report

    out = tmp_path / "out"
    build_report(
        **fake_tree,
        reference_csv=None,
        out_html=out / "r.html",
        out_pdf=None,
        figures_dir=out / "f",
        studies={"deep_autoencoder": sorted(jobs.glob("code*/summary.csv"))},
    )
    html = (out / "r.html").read_text(encoding="utf-8")
    assert 0 < html.index('<section id="autoencoder">') < html.index('<section id="provenance">')
    assert (out / "f" / "autoencoder_errors.csv").is_file()
    assert (out / "f" / "autoencoder_codes_2d.png").is_file()
