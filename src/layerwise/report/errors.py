"""The one exception of the report package: bad inputs give a clear message, never a broken page."""


class ReportError(ValueError):
    """Inputs missing, empty or malformed; the message names the file and the problem."""
