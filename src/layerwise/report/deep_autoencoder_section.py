"""Report section: deep autoencoder versus PCA (Hinton & Salakhutdinov, Science 2006, Fig. 2 and 3).

Reads the files of ``results/deep_autoencoder/code{n}/`` (layerwise.studies.autoencoder_vs_pca):
summary.csv for the
table of test reconstruction errors (the paper's unit: squared error summed over the 784 pixels,
averaged over test images), recons.npz for the figure of test digits with their reconstructions in
rows (as the paper's Fig. 2B), codes.npz (2-D codes only) for the scatter of codes coloured by class
(Fig. 3A versus 3B), history.csv for the fine-tuning curves. Values are the mean over seeds; the
spread (min-max) is the note under a cell. The published numbers are for the full-scale run (all
60000 training images, 200 epochs of conjugate gradients); a reduced run is expected to differ.
Never imports torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

from layerwise.analysis.autoencoder_summaries import SummaryError, find_code_dirs
from layerwise.analysis.autoencoder_summaries import load_summaries as read_summaries
from layerwise.report.errors import ReportError
from layerwise.report.html import Section, paragraph
from layerwise.report.style import FigureOut, new_figure, styled, to_png
from layerwise.report.tables import Cell, Table

#: Hinton & Salakhutdinov (2006), text on Fig. 2: average squared error per test image, 30-D codes.
PUBLISHED = {30: {"deep-ae": 3.00, "pca": 13.87}}
VARIANTS = (
    ("deep-ae", True, "Deep AE, pretrained"),
    ("deep-ae", False, "Deep AE, random init"),
    ("pca", False, "PCA"),
)
SIDE = 28


def load_summaries(dirs: list[Path]) -> pd.DataFrame:
    """All summary.csv files as one table; a missing column is a ReportError naming the file."""
    try:
        return read_summaries(dirs)
    except SummaryError as err:
        raise ReportError(str(err)) from err


def _value_cell(values: pd.Series, diverged: pd.Series) -> Cell:
    ok = values[~diverged.astype(bool)] if len(diverged) else values
    if values.empty:
        return Cell("missing", "missing")
    if ok.empty or not np.isfinite(ok).any():
        return Cell("diverged", "diverged")
    note = f"{ok.min():.2f}-{ok.max():.2f} over {len(ok)} seeds" if len(ok) > 1 else ""
    return Cell(f"{ok.mean():.2f}", "value", note=note)


def error_table(summary: pd.DataFrame) -> Table:
    """Rows = code size; columns = the three variants and the published full-scale numbers."""
    header = ["Code size", "n train", *[v[2] for v in VARIANTS], "Published AE / PCA"]
    table = Table(
        "autoencoder_errors",
        "Deep autoencoder versus PCA",
        "Squared reconstruction error per test image (sum over 784 pixels, mean over "
        "test images), mean over seeds; published: Hinton & Salakhutdinov (2006), "
        "full scale.",
        header,
        n_label_columns=2,  # 4 value columns: one printed part
    )
    for code, rows in summary.groupby("code_size", sort=False):
        cells = [
            Cell(str(int(code))),
            Cell(str(int(rows["n_train"].iloc[0])) if "n_train" in rows else "unknown"),
        ]
        diverged = rows["diverged"] if "diverged" in rows else pd.Series(False, index=rows.index)
        for method, pretrained, _ in VARIANTS:
            sel = (rows["method"] == method) & (rows["pretrained"] == pretrained)
            cells.append(_value_cell(rows.loc[sel, "test_mse_per_image"], diverged[sel]))
        pub = PUBLISHED.get(int(code), {})
        text = f"{pub['deep-ae']:.2f} / {pub['pca']:.2f}" if pub else "-"
        cells.append(Cell(text, "value" if pub else "missing"))
        table.rows.append(cells)
    return table


def recon_figure(paths: list[tuple[int, Path]]) -> FigureOut:
    """Test digits (top row), then per code size the reconstructions of each method (first seed),
    as the paper's Fig. 2B. paths: (code size, recons.npz) pairs."""
    rows = []
    for code, path in paths:
        with np.load(path) as z:
            if not rows:
                rows.append(("Test digits", z["x"]))
            rows += [
                (f"Deep AE, pretrained, {code}-D", z["ae_pretrained"][0]),
                (f"Deep AE, random init, {code}-D", z["ae_random"][0]),
                (f"PCA, {code}-D", z["pca"]),
            ]
    n = rows[0][1].shape[0]
    with styled():
        fig, axes = new_figure(len(rows), ncols=1, panel_h=0.72, extra_h=0.1)
        for ax, (label, imgs) in zip(axes, rows, strict=True):
            strip = np.clip(imgs[:n].reshape(-1, SIDE, SIDE), 0, 1)  # (n, 28, 28)
            ax.imshow(
                strip.transpose(1, 0, 2).reshape(SIDE, -1),
                cmap="gray",
                vmin=0,
                vmax=1,
                interpolation="nearest",
            )
            ax.set_title(label, loc="left")
            ax.set_axis_off()
        png = to_png(fig)
    codes = ", ".join(f"{c}-D" for c, _ in paths)
    return FigureOut(
        "autoencoder_recons",
        png,
        f"The first {n} test digits and their reconstructions from {codes} codes: deep "
        "autoencoder with and without pretraining (first seed), and PCA.",
        kind="image",
    )


def codes_figure(path: Path) -> FigureOut:
    """2-D codes of test digits coloured by class: PCA versus the pretrained deep autoencoder."""
    with np.load(path) as z:
        labels, panels = (
            z["labels"],
            [
                ("PCA (first 2 components)", z["pca"]),
                ("Deep AE, pretrained", z["ae_pretrained"][0]),
                ("Deep AE, random init", z["ae_random"][0]),
            ],
        )
    colours = sns.color_palette("tab10", 10)
    with styled():
        fig, axes = new_figure(len(panels), ncols=3, panel_h=2.4, extra_h=0.5)
        for ax, (title, codes) in zip(axes, panels, strict=True):
            for c in range(10):
                pts = codes[labels == c]
                ax.scatter(
                    pts[:, 0], pts[:, 1], s=2, color=colours[c], label=str(c), rasterized=True
                )
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.legend(
            *axes[0].get_legend_handles_labels(),
            loc="outside lower center",
            ncol=10,
            frameon=False,
            markerscale=4,
        )
        png = to_png(fig)
    return FigureOut(
        "autoencoder_codes_2d",
        png,
        f"2-D codes of {len(labels)} test digits, coloured by class (as the paper's "
        "Fig. 3): PCA versus the 784-...-2 deep autoencoder (first seed).",
    )


def curves_figure(dirs: list[Path], summary: pd.DataFrame) -> FigureOut | None:
    """Test error per fine-tuning epoch (0 = unrolled, before fine-tuning); PCA as a dashed line."""
    dirs = [d for d in dirs if (d / "history.csv").is_file()]
    if not dirs:
        return None
    with styled():
        fig, axes = new_figure(len(dirs), ncols=2, panel_h=2.4, extra_h=0.5)
        for ax, d in zip(axes, dirs, strict=True):
            hist, code = pd.read_csv(d / "history.csv"), int(d.name[4:])
            hist["pretrained"] = hist["pretrained"].astype(str).str.lower().isin(["true", "1"])
            for pre, style in ((True, "-"), (False, "--")):
                for _, h in hist[hist["pretrained"] == pre].groupby("member_id"):
                    label = "Deep AE, pretrained" if pre else "Deep AE, random init"
                    ax.plot(
                        h["epoch"],
                        h["test_mse_per_image"],
                        style,
                        label=label,
                        color="C0" if pre else "C1",
                    )
            pca = summary[(summary["code_size"] == code) & (summary["method"] == "pca")]
            if not pca.empty:
                ax.axhline(pca["test_mse_per_image"].iloc[0], color="C2", ls=":", label="PCA")
            ax.set(
                title=f"code size {code}",
                xlabel="fine-tuning epoch",
                yscale="log",
                ylabel="test squared error / image",
            )
            ax.yaxis.set_major_formatter(ScalarFormatter())  # plain numbers on the log axis
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles = dict(zip(*reversed(axes[0].get_legend_handles_labels()), strict=True))
        fig.legend(
            handles.values(), handles.keys(), loc="outside lower center", ncol=3, frameon=False
        )
        png = to_png(fig)
    return FigureOut(
        "autoencoder_curves",
        png,
        "Test reconstruction error during fine-tuning, one line per member.",
    )


def autoencoder_section(folder) -> Section | None:
    """The section, or None when ``folder`` holds no ``code{n}/summary.csv``."""
    dirs = find_code_dirs(folder)
    if not dirs:
        return None
    summary = load_summaries(dirs)
    ae = summary[summary["method"] == "deep-ae"]
    epochs = sorted({int(e) for e in ae["epochs"]}) if "epochs" in ae else []
    intro = (
        "Hinton & Salakhutdinov (Science 2006): an RBM-pretrained deep autoencoder with a linear "
        "code layer, the same net from random weights, and PCA with the same number of "
        f"dimensions, all fitted on the same training images (fine-tuning epochs: "
        f"{', '.join(map(str, epochs)) or 'unknown'}). The "
        "published numbers come from all 60000 MNIST training images and 200 epochs of "
        "conjugate gradients; a reduced run gives larger errors, but the ordering is what counts."
    )
    blocks: list = [paragraph(intro), error_table(summary)]
    recons = [(int(d.name[4:]), d / "recons.npz") for d in dirs if (d / "recons.npz").is_file()]
    if recons:
        blocks.append(recon_figure(recons))
    codes = [d / "codes.npz" for d in dirs if (d / "codes.npz").is_file()]
    if codes:
        blocks.append(codes_figure(codes[0]))
    curves = curves_figure(dirs, summary)
    if curves is not None:
        blocks.append(curves)
    return Section("autoencoder", "Deep autoencoder versus PCA", blocks)
