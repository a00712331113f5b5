"""PDF of the report: the same HTML laid out by WeasyPrint on A4 pages (@page rules, style.css).

WeasyPrint prints with the ``print`` media type, so the ``@media print`` rules of style.css apply:
smaller base font, rows and figures never split across pages, table headers repeated on each page.
"""

from __future__ import annotations

import os
from pathlib import Path

from layerwise.report.errors import ReportError


def write_pdf(html_text: str, out_pdf: Path) -> None:
    """Render html_text to out_pdf (atomically: ``name.tmp-<pid>``, then ``os.replace``)."""
    try:
        from weasyprint import HTML
    except ImportError as err:  # pragma: no cover - weasyprint is a dependency
        raise ReportError(f"weasyprint is needed for the PDF report: {err}") from err
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_pdf.with_name(f"{out_pdf.name}.tmp-{os.getpid()}")
    HTML(string=html_text, base_url=str(out_pdf.parent)).write_pdf(tmp)
    os.replace(tmp, out_pdf)
