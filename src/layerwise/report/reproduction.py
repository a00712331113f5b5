"""The reproduction's one table: every target cell of every piece, ours against published.

Each piece of ``make reproduce`` (config/reproduce/<piece>.yaml) runs in ``reproduce/<piece>/`` and
its report exports ``reports/figures/published_comparison.csv`` (``layerwise.report.compare``) and
``reports/figures/cells.csv`` (every cell's mean, seed spread and test size,
``layerwise.report.cells``). This module stacks them into one CSV judged by the reproduction's
rule (``layerwise.analysis.reproduction_rule``: ours - published with an interval holding the
seed-to-seed variance, counted over distinct cells), prints it as a Markdown table with the counts
and the rule, and writes beside the CSV its figure (the CSV's name with ``.png``: every target
cell, ours against published, a panel per data set) and the papers' effects
(``<name>-effects.csv`` and ``.png``: pretraining gains and depth steps, ours against published,
against the pieces' own nets without pretraining and, where ``<piece>-fan-in`` folders exist,
against the fan-in ones too; ``layerwise.report.reproduction_effects``):

    python -m layerwise.report.reproduction reproduce --out reproduce/reproduction.csv

A *target* is a published cell of the piece's data set at one of its depths and methods. A folder
named ``<piece>-fan-in`` (the piece run with config/reproduce/fan-in.yaml: only its nets without
pretraining, from the papers'-era fan-in initialisation) is not a piece: its nets are no published
cell's recipe and have no row in the table; its cells are the effects' second baseline (``baseline``
fan-in beside glorot, the pieces' own nets).
``--label development`` (or ``held-out``) names the counts: numbers from the test sets the recipes
were developed on are development numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from layerwise import files
from layerwise.analysis.reproduction_rule import MARGIN, counts_line, judge_cells
from layerwise.report.figures import ours_vs_published
from layerwise.report.reproduction_effects import effects_figure, effects_table

FIGURES = Path("reports") / "figures"
COMPARISON = FIGURES / "published_comparison.csv"
CELLS = FIGURES / "cells.csv"
#: A piece's fan-in baseline runs into ``<piece>{FAN_IN_SUFFIX}`` beside it.
FAN_IN_SUFFIX = "-fan-in"
COLUMNS = ["piece", "dataset", "source", "model", "pretraining", "depth", "paper_pct",
           "paper_ci_pct", "unverified", "ours_pct", "ours_ci_pct", "ours_std_pct", "n_seeds",
           "ours_t_pct", "ours_hw_pct", "diff_pct", "diff_hw_pct", "overlap", "verdict",
           "counted"]  # fmt: skip
CELL_COLUMNS = ["piece", "dataset", "depth", "pretraining", "mean", "std", "n_seeds", "n_test"]


def _no_dropout(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["dropout"].astype(bool)] if "dropout" in frame else frame


def is_fan_in(folder: Path) -> bool:
    """True for a piece's fan-in baseline folder (``<piece>-fan-in``), which is not a piece."""
    return Path(folder).name.endswith(FAN_IN_SUFFIX)


def _cells(cells: list[pd.DataFrame]) -> pd.DataFrame:
    """The finished cells of the frames read (``CELL_COLUMNS``)."""
    frame = (pd.concat(cells, ignore_index=True) if cells
             else pd.DataFrame(columns=[*CELL_COLUMNS, "status"]))  # fmt: skip
    if "status" in frame:
        frame = frame[frame["status"] == "ok"]
    return frame[CELL_COLUMNS].reset_index(drop=True)


def read_pieces(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(comparisons, cells) of every piece under ``root`` (folders holding a report's exports,
    ``<piece>-fan-in`` folders left out), dropout rows left out (the papers of 2007-2010 fine-tuned
    without dropout). A piece without cells.csv contributes no cells: its rows get the binomial
    interval only."""
    comparisons, cells = [], []
    for path in sorted(Path(root).glob(f"*/{COMPARISON}")):
        folder = path.parents[2]
        if is_fan_in(folder):
            continue
        comparisons.append(_no_dropout(pd.read_csv(path)).assign(piece=folder.name))
        if (cell_path := folder / CELLS).is_file():
            cells.append(_no_dropout(pd.read_csv(cell_path)).assign(piece=folder.name))
    if not comparisons:
        raise FileNotFoundError(f"no {COMPARISON} under {root}/*/: run `make reproduce` first")
    return pd.concat(comparisons, ignore_index=True), _cells(cells)


def read_fan_in(root: Path) -> pd.DataFrame:
    """The nets without pretraining of every ``<piece>-fan-in`` folder under ``root`` (its
    cells.csv; ``piece`` is the piece's name), the effects' fan-in baseline; empty when none."""
    cells = [_no_dropout(pd.read_csv(path)).assign(
                 piece=path.parents[2].name.removesuffix(FAN_IN_SUFFIX))
             for path in sorted(Path(root).glob(f"*{FAN_IN_SUFFIX}/{CELLS}"))]  # fmt: skip
    frame = _cells(cells)
    return frame[frame["pretraining"] == "none"].reset_index(drop=True)


def _overlap(table: pd.DataFrame) -> list[str]:
    """The earlier rule, kept for reference: 'within intervals' when the two binomial intervals
    overlap, else better / worse; a cell without a number keeps its status word."""
    return [
        ("within intervals" if abs(d) <= o + p else "better" if d < 0 else "worse")
        if pd.notna(d) else s
        for d, o, p, s in zip(table["ours_pct"] - table["paper_pct"], table["ours_ci_pct"],
                              table["paper_ci_pct"], table["status"], strict=True)
    ]  # fmt: skip


def stack(comparisons: pd.DataFrame, cells: pd.DataFrame, margin: float = MARGIN) -> pd.DataFrame:
    """One row per (piece, published cell) with our seed spread attached (from the cells) and the
    rule applied; ``overlap`` is the earlier rule's verdict (the two binomial intervals overlap),
    whichever verdict the piece's report wrote."""
    spread = cells.assign(ours_std_pct=100 * cells["std"].astype(float))
    spread = spread[["piece", "dataset", "depth", "pretraining", "ours_std_pct", "n_seeds"]]
    # the rule's columns come from the cells here, whatever the piece's report wrote
    own = comparisons.drop(columns=[c for c in COLUMNS[COLUMNS.index("ours_std_pct"):]
                                    if c in comparisons])  # fmt: skip
    table = own.merge(
        spread, on=["piece", "dataset", "depth", "pretraining"], how="left", validate="m:1"
    )
    table["overlap"] = _overlap(table)
    table["n_seeds"] = table["n_seeds"].fillna(0).astype(int)
    return judge_cells(table, margin)[COLUMNS]


def collect(root: Path, margin: float = MARGIN) -> pd.DataFrame:
    """All pieces under ``root``, one row per cell, judged by the rule."""
    return stack(*read_pieces(root), margin=margin)


def _fmt(value: float, half: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f} +- {half:.2f}"


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: one row per cell; ours +- the rule's half-width (the larger of the
    t one over seeds and the binomial one), the difference +- its combined half-width."""
    lines = ["| piece | model | depth | published | ours | ours - published | verdict |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in table.itertuples(index=False):
        paper = f"{r.paper_pct:.2f} +- {r.paper_ci_pct:.2f}" + (
            " (recalled)" if r.unverified else ""
        )
        verdict = r.verdict if r.counted else f"({r.verdict}; same net, not counted)"
        lines.append(f"| {r.piece} | {r.model} ({r.pretraining}) | {r.depth} | {paper} "
                     f"| {_fmt(r.ours_pct, r.ours_hw_pct)} | {_fmt(r.diff_pct, r.diff_hw_pct)} "
                     f"| {verdict} |")  # fmt: skip
    return "\n".join(lines)


def figure_path(csv: Path) -> Path:
    """Where the figure of the table written to ``csv`` goes: beside it, named as it with .png."""
    return Path(csv).with_suffix(".png")


def effects_path(csv: Path) -> Path:
    """Where the effects table of the table written to ``csv`` goes: ``<name>-effects.csv``."""
    csv = Path(csv)
    return csv.with_name(f"{csv.stem}-effects.csv")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="folder holding one folder per piece")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    parser.add_argument("--margin", type=float, default=MARGIN,
                        help=f"equivalence margin, a fraction of the published error (default "
                             f"{MARGIN})")  # fmt: skip
    parser.add_argument("--label", default="",
                        help="what the counts are, e.g. development or held-out")  # fmt: skip
    args = parser.parse_args(argv)
    if figure_path(args.out) == args.out:
        parser.error(f"--out {args.out}: name the CSV (e.g. reproduction.csv); its figure goes "
                     f"beside it as .png")  # fmt: skip
    if not 0.0 <= args.margin < 1.0:
        parser.error(f"--margin {args.margin}: a fraction of the published error, in [0, 1)")
    comparisons, cells = read_pieces(args.root)
    table = stack(comparisons, cells, args.margin)
    fan_in = read_fan_in(args.root)
    effects = effects_table(table, cells, fan_in)
    files.write_with(args.out, lambda p: table.to_csv(p, index=False))
    effects_csv = effects_path(args.out)
    files.write_with(effects_csv, lambda p: effects.to_csv(p, index=False))
    wrote = [str(args.out), str(effects_csv)]
    # the scatter's bars: the interval the rule uses for ours (seed spread included)
    scatter = ours_vs_published(table.assign(ours_ci_pct=table["ours_hw_pct"]))
    for csv, fig in ((args.out, scatter), (effects_csv, effects_figure(effects))):
        if fig is not None:  # None: nothing of ours to draw yet
            files.write_with(figure_path(csv), lambda p, fig=fig: p.write_bytes(fig.png))
            wrote.append(str(figure_path(csv)))
    print(markdown(table))
    baselines = "glorot" + (f" and fan-in ({', '.join(sorted(set(fan_in['piece'])))})"
                            if len(fan_in) else " only (no <piece>-fan-in folder)")  # fmt: skip
    print(f"\n{counts_line(table, args.margin, args.label)}\neffects against {baselines}\n"
          f"wrote {', '.join(wrote)}")  # fmt: skip


if __name__ == "__main__":
    main()
