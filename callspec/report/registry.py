"""The report formats, and the one way to write one: to a path or to a stream.

:data:`FORMATS` is the registry: a format's name, where its reporter is, what it
is, and the ``callspec run`` option that writes it to a file (if any).  The CLI
builds ``run``'s output options and ``callspec report --format``'s choices from
it, and the run writes each file it names through :func:`write_report`, so a new
format is its reporter module and one line here.  Importing this module loads no
reporter: each loads when it is first used.
"""

from __future__ import annotations

import importlib
import io
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from callspec.redact import Redactor
    from callspec.report.base import Reporter
    from callspec.results import RunResult

#: A format's name: a key of :data:`FORMATS`.
ReportKind = str


@dataclass(frozen=True)
class Format:
    """One report format."""

    name: str
    #: ``module:Class`` of its reporter in ``callspec.report``, loaded when first used.
    reporter: str
    #: What it is, for ``--help``.
    help: str
    #: The ``callspec run`` option writing it to a file, and that option's help.
    run_option: str | None = None
    run_help: str = ""


FORMATS: dict[ReportKind, Format] = {
    f.name: f
    for f in (
        Format(
            "json",
            "json:JsonReporter",
            "the JSON report",
            "--report",
            "JSON report path (default .callspec/runs/<time>/report.json).",
        ),
        Format("junit", "junit:JUnitReporter", "JUnit XML", "--junit", "JUnit XML path."),
        Format(
            "html",
            "html:HtmlReporter",
            "one HTML page",
            "--html",
            "HTML report path: one self-contained page.",
        ),
        Format("text", "text:TextReporter", "the terminal summary"),
        Format("markdown", "github:MarkdownReporter", "the GitHub step summary"),
        Format("github", "annotations:AnnotationsReporter", "GitHub annotations"),
    )
}


class _Reporters(Mapping[ReportKind, "Reporter"]):
    """Each format's reporter, loaded and made once, when first asked for."""

    def __init__(self) -> None:
        self._made: dict[ReportKind, Reporter] = {}

    def __getitem__(self, kind: ReportKind) -> Reporter:
        if kind not in self._made:
            module, _, name = FORMATS[kind].reporter.partition(":")
            loaded = importlib.import_module(f"callspec.report.{module}")
            self._made[kind] = getattr(loaded, name)()
        return self._made[kind]

    def __iter__(self) -> Iterator[ReportKind]:
        return iter(FORMATS)

    def __len__(self) -> int:
        return len(FORMATS)


REPORTERS: Mapping[ReportKind, Reporter] = _Reporters()


def write_report(
    kind: ReportKind,
    source: RunResult | Mapping[str, Any],
    redactor: Redactor,
    path: Path,
    stop: threading.Event | None = None,
) -> None:
    """Write one format of a run's report (its result, or its document) to ``path`` (see
    :func:`callspec.report.outputs.write_output`).

    The report is rendered in full first, so one that is refused (or a reporter
    that fails) leaves ``path`` as it was: a FIFO or a terminal gets nothing, not half.
    """
    from callspec.report.outputs import write_output

    # Rendered into a temporary file, not a string: a large run's report is never
    # held in memory whole (twice, as text and as its bytes).
    with tempfile.TemporaryFile() as raw:
        # backslashreplace: a lone surrogate (a non-UTF-8 name or value) is spelled as
        # utf8.utf8_safe spells it, never a failure after the calls were placed.
        out = io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", newline="")
        REPORTERS[kind].write(source, redactor, out)
        out.flush()
        raw.seek(0)
        write_output(Path(path), raw, stop)
        out.detach()


def write_stream(
    kind: ReportKind, source: RunResult | Mapping[str, Any], redactor: Redactor, stream: TextIO
) -> None:
    """Write one format of a run's report to an open text stream (a terminal, stdout)."""
    REPORTERS[kind].write(source, redactor, stream)
