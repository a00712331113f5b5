"""HTML rendering: one self-contained page (CSS inline, figures as base64 data URIs, no requests).

A section is a title and a list of blocks rendered in order: a ``str`` is a trusted HTML fragment,
a ``Table`` becomes a <table> (split into parts when it has more value columns than fit an A4
page), a ``FigureOut`` becomes a <figure> with an embedded PNG. Every text that comes from data is
escaped here."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from importlib import resources

from layerwise.report.style import FigureOut
from layerwise.report.tables import Cell, Table

#: Value columns per printed table part; wider tables are split (A4 portrait, 8 pt cells).
MAX_VALUE_COLUMNS = 5
NUMERIC_KINDS = ("value", "missing", "diverged")  # right-aligned cells (and their headers)


@dataclass
class Section:
    """One report section; blocks are str (HTML fragment), Table or FigureOut."""

    id: str
    title: str
    blocks: list = field(default_factory=list)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def paragraph(text: str, cls: str = "") -> str:
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<p{attr}>{esc(text)}</p>"


def bullet_list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def key_value_table(pairs: list[tuple[str, object]], cls: str = "kv") -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="{esc(cls)}"><tbody>{rows}</tbody></table>'


def _cell_html(cell: Cell, tag: str = "td") -> str:
    body = esc(cell.text)
    if cell.bold:
        body = f"<strong>{body}</strong>"
    if cell.note:
        body += f'<br><span class="note">{esc(cell.note)}</span>'
    return f'<{tag} class="{esc(cell.kind)}">{body}</{tag}>'


def split_columns(table: Table, max_values: int = MAX_VALUE_COLUMNS) -> list[list[int]]:
    """Column index lists of each printed part: label columns repeated, <= max_values others."""
    labels = list(range(table.n_label_columns))
    values = list(range(table.n_label_columns, len(table.header)))
    if max_values < 1:
        raise ValueError(f"max_values must be >= 1; got {max_values}")
    chunks = [values[i : i + max_values] for i in range(0, len(values), max_values)] or [[]]
    return [labels + chunk for chunk in chunks]


def render_table(table: Table, max_values: int = MAX_VALUE_COLUMNS) -> str:
    """<table> element(s) with caption; a wide table becomes several parts."""
    parts = split_columns(table, max_values)
    out = []
    for k, cols in enumerate(parts):
        suffix = f" (part {k + 1} of {len(parts)})" if len(parts) > 1 else ""
        numeric = {c for c in cols if table.rows and table.rows[0][c].kind in NUMERIC_KINDS}
        head = "".join(
            f'<th class="{"num" if c in numeric else "text"}">{esc(table.header[c])}</th>'
            for c in cols
        )
        body = "".join(
            "<tr>" + "".join(_cell_html(row[c]) for c in cols) + "</tr>" for row in table.rows
        )
        out.append(
            f'<table class="results" id="{esc(table.key)}-{k + 1}" data-key="{esc(table.key)}">'
            f"<caption><b>{esc(table.title)}{suffix}.</b> {esc(table.caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    return "\n".join(out)


def render_figure(fig: FigureOut) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure id="fig-{esc(fig.name)}" class="{esc(fig.kind)}">'
        f'<img src="data:image/png;base64,{data}" '
        f'alt="{esc(fig.caption)}"><figcaption>{esc(fig.caption)}</figcaption></figure>'
    )


def render_block(block) -> str:
    if isinstance(block, Table):
        return render_table(block)
    if isinstance(block, FigureOut):
        return render_figure(block)
    if isinstance(block, str):
        return block
    raise TypeError(f"section blocks must be str, Table or FigureOut; got {type(block).__name__}")


def default_css() -> str:
    return resources.files("layerwise.report").joinpath("style.css").read_text(encoding="utf-8")


def render_document(
    title: str, subtitle: str, sections: list[Section], css: str | None = None
) -> str:
    """The full page: head with inline CSS, title, table of contents, sections in order."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    body = "\n".join(
        f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>\n'
        + "\n".join(render_block(b) for b in s.blocks)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{css if css is not None else default_css()}</style>"
        f'</head><body><header><h1>{esc(title)}</h1><p class="subtitle">{esc(subtitle)}</p>'
        f"<nav><ol>{toc}</ol></nav></header>\n<main>{body}</main></body></html>\n"
    )
