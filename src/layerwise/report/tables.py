"""The papers' tables rebuilt from the selected rows of the tidy results table.

- depth table: Larochelle et al. (JMLR 2009), Table 3 -- rows network type x depth, columns
  data sets;
- 2007 table: Larochelle et al. (ICML 2007), Table 1 plus the SdA-3 column of Vincent et al. (JMLR
  2010), Table 3 -- rows data sets, columns NNet, DBN-1, SAA-3, DBN-3, SdA-3;
- dropout table: each cell with and without dropout fine-tuning (Srivastava et al., JMLR 2014).

Bold follows the papers: the best cell of a column (depth table) or row (2007 table) and every cell
whose 95% interval overlaps it. The papers trained without dropout, so the first two tables use the
dropout-off cells. Rows and columns cover the planned grid (``Grid``) so that a cell the run did not
produce is shown as "missing", never left out silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from layerwise.report.cells import CellLookup, CellStat, mark_best, method_label

#: (column title, pretraining, depth) of the ICML 2007 table (+ SdA-3 of Vincent et al. 2010).
MODELS_2007 = (
    ("NNet", "none", 1),
    ("DBN-1", "rbm", 1),
    ("SAA-3", "ae", 3),
    ("DBN-3", "rbm", 3),
    ("SdA-3", "dae", 3),
)


@dataclass(frozen=True)
class Grid:
    """What the tables span: the planned grid (config) united with what the results hold."""

    datasets: list[str]
    depths: list[int]
    methods: list[str]
    dropouts: list[bool]


@dataclass(frozen=True)
class Cell:
    """One table cell. kind: label | value | missing | diverged (drives CSS and the CSV text)."""

    text: str
    kind: str = "label"
    bold: bool = False
    note: str = ""  # second, smaller line (spread across seeds)


def value_cell(stat: CellStat, bold: bool = False) -> Cell:
    kind = "value" if stat.ok else stat.status
    return Cell(stat.text(), kind, bold and stat.ok, stat.spread_text())


@dataclass
class Table:
    """A rendered-agnostic table: header + rows of Cells; html.py and to_frame() both read it."""

    key: str  # file stem for the CSV copy
    title: str
    caption: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    n_label_columns: int = 1  # leading columns repeated when a wide table is split

    def to_frame(self) -> pd.DataFrame:
        """Text of every cell; bold cells wrapped in ** **, the spread appended in parentheses."""

        def text(cell: Cell) -> str:
            body = f"**{cell.text}**" if cell.bold else cell.text
            return f"{body} ({cell.note})" if cell.note else body

        return pd.DataFrame([[text(c) for c in row] for row in self.rows], columns=self.header)


def depth_table(lookup: CellLookup, grid: Grid) -> Table:
    """Rows = network type x depth, columns = data sets; dropout-off cells; bold per column."""
    keys = [(m, d) for m in grid.methods for d in grid.depths]
    columns = {ds: [lookup.get(ds, d, m, False) for m, d in keys] for ds in grid.datasets}
    bold = {ds: mark_best(cells) for ds, cells in columns.items()}
    rows = []
    for i, (method, depth) in enumerate(keys):
        first = i == 0 or keys[i - 1][0] != method
        row = [Cell(method_label(method) if first else ""), Cell(str(depth))]
        row += [value_cell(columns[ds][i], bold[ds][i]) for ds in grid.datasets]
        rows.append(row)
    sizes = lookup.test_sizes(grid.datasets)
    return Table(
        "table_depth",
        "Test error by depth and pretraining",
        "Mean test error of the selected members (dropout off) with its 95% interval "
        "1.96 sqrt(p(1-p)/n_test)" + (f" ({sizes})" if sizes else "") + "; second line: "
        "standard deviation across seeds (percentage points) and number of seeds. Bold: best of "
        "the column and those whose interval overlaps it (Larochelle et al. 2009, Table 3).",
        ["Pretraining", "Depth", *grid.datasets],
        rows,
        n_label_columns=2,
    )


def table_2007(lookup: CellLookup, grid: Grid) -> Table:
    """Rows = data sets, columns = NNet, DBN-1, SAA-3, DBN-3, SdA-3; bold per row."""
    rows = []
    planned = [depth in grid.depths and method in grid.methods for _, method, depth in MODELS_2007]
    for ds in grid.datasets:
        cells = [lookup.get(ds, depth, method, False) for _, method, depth in MODELS_2007]
        marks = mark_best(cells)
        rows.append([Cell(ds)] + [
            value_cell(c, b) if run else Cell("not in this profile", "missing")
            for c, b, run in zip(cells, marks, planned, strict=True)
        ])  # fmt: skip
    return Table(
        "table_2007",
        "Models of the 2007 benchmark",
        "NNet = no pretraining, 1 hidden layer; DBN-k = RBM pretraining, k layers; SAA-3 = "
        "autoencoder pretraining, 3 layers; SdA-3 = denoising autoencoder pretraining, 3 layers "
        "(Larochelle et al. 2007, Table 1; Vincent et al. 2010). Dropout off. Bold: best of the "
        "row "
        "and those whose interval overlaps it.",
        ["Data set", *[name for name, _, _ in MODELS_2007]],
        rows,
    )


def dropout_effect(off: CellStat, on: CellStat) -> str:
    """'helps' / 'hurts' when the intervals are disjoint, 'ties' when they overlap, else 'n/a'."""
    if not (off.ok and on.ok):
        return "n/a"
    if off.overlaps(on):
        return "ties"
    return "helps" if on.mean < off.mean else "hurts"


def dropout_table(lookup: CellLookup, grid: Grid) -> Table:
    """One row per (data set, pretraining, depth): test error without and with dropout."""
    rows = []
    for ds in grid.datasets:
        for method in grid.methods:
            for depth in grid.depths:
                off, on = lookup.get(ds, depth, method, False), lookup.get(ds, depth, method, True)
                marks = mark_best([off, on])
                rows.append(
                    [
                        Cell(ds),
                        Cell(method_label(method)),
                        Cell(str(depth)),
                        value_cell(off, marks[0]),
                        value_cell(on, marks[1]),
                        Cell(dropout_effect(off, on)),
                    ]
                )
    return Table(
        "table_dropout",
        "Dropout on and off",
        "Each cell fine-tuned without and with dropout (Srivastava et al. 2014; with max-norm "
        "where the config sets dropout.max_norm). "
        "Effect: helps/hurts when the 95% intervals are disjoint, ties when they overlap.",
        ["Data set", "Pretraining", "Depth", "Without dropout", "With dropout", "Effect"],
        rows,
        n_label_columns=3,
    )
