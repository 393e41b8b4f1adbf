"""Reports of a run: the JSON document and every format rendered from it.

This package turns a :class:`~callspec.results.RunResult` into what people and
machines read after a run.  ``document`` makes the JSON report document (every
string masked; the contract is ``schemas/report.schema.json``), or reads a saved
one back; each format is one module whose reporter renders that document
(``json``, ``junit``, ``text``, ``markdown`` via ``github``, ``html``,
``annotations``), behind one interface (``base``) and one registry
(``registry``), which also writes a format to a path (``outputs``: atomically,
or into a device) or a stream.  ``progress`` prints a line per call while a run
goes; ``problems`` prints the problems of specs for ``validate`` and ``check``.

Importing the package loads none of its modules: a run's first call goes out
before anything only its report needs is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callspec.report.base import Reporter, ReportError
    from callspec.report.document import read_report, report_document, run_report
    from callspec.report.github import MarkdownReporter, append_github_summary
    from callspec.report.html import HtmlReporter
    from callspec.report.json import JsonReporter, validate_report
    from callspec.report.junit import JUnitReporter
    from callspec.report.registry import (
        FORMATS,
        REPORTERS,
        ReportKind,
        write_report,
        write_stream,
    )
    from callspec.report.text import TextReporter, totals_line

__all__ = [
    "FORMATS",
    "REPORTERS",
    "HtmlReporter",
    "JUnitReporter",
    "JsonReporter",
    "MarkdownReporter",
    "ReportError",
    "ReportKind",
    "Reporter",
    "TextReporter",
    "append_github_summary",
    "read_report",
    "report_document",
    "run_report",
    "totals_line",
    "validate_report",
    "write_report",
    "write_stream",
]

_WHERE = {
    "Reporter": "base",
    "ReportError": "base",
    "read_report": "document",
    "report_document": "document",
    "run_report": "document",
    "MarkdownReporter": "github",
    "append_github_summary": "github",
    "HtmlReporter": "html",
    "JsonReporter": "json",
    "validate_report": "json",
    "JUnitReporter": "junit",
    "FORMATS": "registry",
    "REPORTERS": "registry",
    "ReportKind": "registry",
    "write_report": "registry",
    "write_stream": "registry",
    "TextReporter": "text",
    "totals_line": "text",
}


def __getattr__(name: str) -> Any:
    """The package's names, each loaded from its module when first used (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'callspec.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"callspec.report.{_WHERE[name]}"), name)
