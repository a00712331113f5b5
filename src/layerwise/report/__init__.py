"""Reporting: the tidy results table -> tables, seaborn figures, one HTML file and a PDF.

Reproduces the presentation of Larochelle et al. (JMLR 2009, Table 3; ICML 2007, Table 1),
Vincent et al. (JMLR 2010) and Srivastava et al. (JMLR 2014): mean test error with its binomial 95%
interval, best cell and those whose interval overlaps it in bold.

Never imports torch or mlflow: everything here is a pure function of the files the pipeline wrote
(see docs/architecture.md, "Files on disk"). The entry point is
:func:`layerwise.report.build.build_report`."""

from layerwise.report.errors import ReportError

__all__ = ["ReportError", "build_report"]


def build_report(**kwargs) -> None:
    """Lazy alias of :func:`layerwise.report.build.build_report` (keeps the import light)."""
    from layerwise.report.build import build_report as _build

    _build(**kwargs)
