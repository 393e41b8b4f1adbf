"""Reports of a run: the JSON document, JUnit XML, the terminal and Markdown summaries.

This package turns a :class:`~callspec.results.RunResult` into what people and
machines read after a run, one module per format (``json``, ``junit``,
``text``, ``github``, ``html``) behind one interface (``base``) and one registry
(:data:`REPORTERS`, here).  Every reporter writes to a stream it is given and
masks secrets through the :class:`Redactor` it is given; :func:`write_report`
puts a report at a path (``outputs``: atomically, or into a device), and
``progress`` prints a line per call while a run goes.  The JSON document's
contract is ``schemas/report.schema.json``.
"""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path
from typing import Literal

from callspec.redact import Redactor
from callspec.report.base import Reporter, ReportError
from callspec.report.github import MarkdownReporter, append_github_summary
from callspec.report.html import HtmlReporter
from callspec.report.json import JsonReporter, report_document, validate_report
from callspec.report.junit import JUnitReporter
from callspec.report.outputs import write_output
from callspec.report.text import TextReporter, totals_line
from callspec.results import RunResult

__all__ = [
    "REPORTERS",
    "ReportError",
    "ReportKind",
    "Reporter",
    "append_github_summary",
    "report_document",
    "totals_line",
    "validate_report",
    "write_report",
]

ReportKind = Literal["json", "junit", "text", "markdown", "html"]

REPORTERS: dict[ReportKind, Reporter] = {
    "json": JsonReporter(),
    "junit": JUnitReporter(),
    "text": TextReporter(),
    "markdown": MarkdownReporter(),
    "html": HtmlReporter(),
}


def write_report(
    kind: ReportKind,
    result: RunResult,
    redactor: Redactor,
    path: Path,
    stop: threading.Event | None = None,
) -> None:
    """Write one report to ``path`` (see :func:`callspec.report.outputs.write_output`).

    The report is rendered in full first, so one that is refused (or a reporter
    that fails) leaves ``path`` as it was: a FIFO or a terminal gets nothing, not half.
    """
    # Rendered into a temporary file, not a string: a large run's report is never
    # held in memory whole (twice, as text and as its bytes).
    with tempfile.TemporaryFile() as raw:
        # backslashreplace: a lone surrogate (a non-UTF-8 name or value) is spelled as
        # utf8.utf8_safe spells it, never a failure after the calls were placed.
        out = io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", newline="")
        REPORTERS[kind].write(result, redactor, out)
        out.flush()
        raw.seek(0)
        write_output(Path(path), raw, stop)
        out.detach()
