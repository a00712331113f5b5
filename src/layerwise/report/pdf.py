"""PDF of the report: the same HTML laid out by WeasyPrint on A4 pages (@page rules, style.css).

WeasyPrint prints with the ``print`` media type, so the ``@media print`` rules of style.css apply:
smaller base font, rows and figures never split across pages, table headers repeated on each page.
"""

from __future__ import annotations

from pathlib import Path

from layerwise import files
from layerwise.report.errors import ReportError


def write_pdf(html_text: str, out_pdf: Path) -> None:
    """Render html_text to out_pdf, atomically (layerwise.files)."""
    try:
        from weasyprint import HTML
    except ImportError as err:  # pragma: no cover - weasyprint is a dependency
        raise ReportError(f"weasyprint is needed for the PDF report: {err}") from err
    out_pdf = Path(out_pdf)
    base = str(out_pdf.parent)
    files.write_with(out_pdf, lambda tmp: HTML(string=html_text, base_url=base).write_pdf(tmp))
