"""What every reporter shares: the interface, the error, and one-line text.

A reporter renders a JSON report document (:mod:`callspec.report.document`) to a
stream it is given; a run's result is turned into its document first, so a
format written after a run and one rebuilt by ``callspec report`` from the saved
JSON are the same bytes.  Every value a text format shows passes :func:`shown`:
the one rule for text from outside (:func:`callspec.text.outside`).
"""

from __future__ import annotations

import abc
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from callspec.errors import CallspecError
from callspec.redact import Redactor
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.results import RunResult

#: Characters of one value a line of a text format keeps: above every producer's own cap
#: (an API's text is cut at 200 where it is read), so text cut there is never cut twice.
LINE_CAP = 2000


class Reporter(abc.ABC):
    """Writes one format of a run's report to a text stream, secrets masked."""

    def write(
        self, source: RunResult | Mapping[str, Any], redactor: Redactor, stream: TextIO
    ) -> None:
        """Write the report of ``source`` (a run's result, or a report document) to ``stream``."""
        if not isinstance(source, Mapping):
            from callspec.report.document import run_report

            source = run_report(source, redactor)
        self.render(source, redactor, stream)

    @abc.abstractmethod
    def render(self, report: Mapping[str, Any], redactor: Redactor, stream: TextIO) -> None:
        """Write the format of the (masked) report document ``report`` to ``stream``."""


class ReportError(CallspecError):
    """A report would not be valid JSON (a NaN or an infinity in it); nothing was written."""


def shown(value: object, redactor: Redactor, cap: int | None = LINE_CAP) -> str:
    """``value`` as one line of a text format (:func:`callspec.text.outside`): masked, its
    runs of whitespace (newlines too) made one space, cut, its other controls escaped."""
    return outside(value, lambda text: one_line(redactor.text(text)), cap)


class OutsideLines(io.TextIOBase):
    """A stream whose every write is one line of text from outside (a plan's warning, a
    simulated call's step): each passes :func:`shown` on its way to ``stream``, its own
    closing newline kept, so nothing in it can start a line of its own."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream, self._redactor = stream, redactor

    def write(self, text: str) -> int:
        end = "\n" if text.endswith("\n") else ""
        self._stream.write(shown(text.removesuffix("\n"), self._redactor, cap=None) + end)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def one_line(text: str) -> str:
    return " ".join(text.split())


def status_text(status: int | None) -> str:
    return f"HTTP {status}" if status is not None else "no response"
