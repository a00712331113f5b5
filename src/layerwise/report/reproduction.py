"""The reproduction's one table: every target cell of every piece, ours against published.

Each piece of ``make reproduce`` (config/reproduce/<piece>.yaml) runs in ``reproduce/<piece>/`` and
its report exports ``reports/figures/published_comparison.csv`` (``layerwise.report.compare``).
This module stacks them into one CSV (and prints it as a Markdown table for
docs/reproduction.md) and draws every target cell, ours against published, beside it (the CSV's
name with ``.png``; a panel per data set):

    python -m layerwise.report.reproduction reproduce --out reproduce/reproduction.csv

A *target* is a published cell of the piece's data set at one of its depths and methods; a cell
is reached when our mean over seeds is within the intervals of the published number or better.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from layerwise import files
from layerwise.report.figures import ours_vs_published

COMPARISON = Path("reports") / "figures" / "published_comparison.csv"
COLUMNS = ["piece", "dataset", "source", "model", "pretraining", "depth", "paper_pct",
           "paper_ci_pct", "unverified", "ours_pct", "ours_ci_pct", "diff_pct",
           "verdict"]  # fmt: skip


def collect(root: Path) -> pd.DataFrame:
    """All pieces under ``root`` (folders holding a report's comparison), one row per cell."""
    frames = []
    for path in sorted(Path(root).glob(f"*/{COMPARISON}")):
        piece = path.parents[2].name
        frame = pd.read_csv(path)
        frame = frame[~frame["dropout"].astype(bool)] if "dropout" in frame else frame
        frames.append(frame.assign(piece=piece))
    if not frames:
        raise FileNotFoundError(f"no {COMPARISON} under {root}/*/: run `make reproduce` first")
    table = pd.concat(frames, ignore_index=True)
    table["reached"] = table["verdict"].isin(["within intervals", "better"])
    return table[[*COLUMNS, "reached"]]


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: one row per cell, percentages with their 95% half-widths."""
    lines = ["| piece | model | depth | published | ours | verdict |", "|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        paper = f"{r.paper_pct:.2f} +- {r.paper_ci_pct:.2f}" + (
            " (recalled)" if r.unverified else ""
        )
        ours = "-" if pd.isna(r.ours_pct) else f"{r.ours_pct:.2f} +- {r.ours_ci_pct:.2f}"
        lines.append(f"| {r.piece} | {r.model} ({r.pretraining}) | {r.depth} | {paper} | {ours} "
                     f"| {r.verdict} |")  # fmt: skip
    return "\n".join(lines)


def figure_path(csv: Path) -> Path:
    """Where the figure of the table written to ``csv`` goes: beside it, named as it with .png."""
    return Path(csv).with_suffix(".png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="folder holding one folder per piece")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    args = parser.parse_args(argv)
    if figure_path(args.out) == args.out:
        parser.error(f"--out {args.out}: name the CSV (e.g. reproduction.csv); its figure goes "
                     f"beside it as .png")  # fmt: skip
    table = collect(args.root)
    files.write_with(args.out, lambda p: table.to_csv(p, index=False))
    wrote = [str(args.out)]
    scatter = ours_vs_published(table)
    if scatter is not None:  # None: no piece has a number of ours yet
        figure = figure_path(args.out)
        files.write_with(figure, lambda p: p.write_bytes(scatter.png))
        wrote.append(str(figure))
    print(markdown(table))
    print(f"\n{int(table['reached'].sum())} of {len(table)} cells reached; wrote "
          f"{' and '.join(wrote)}")  # fmt: skip


if __name__ == "__main__":
    main()
