"""What every reporter shares: the interface, the error, and one-line text."""

from __future__ import annotations

import abc
from typing import TextIO

from callspec.errors import CallspecError
from callspec.redact import Redactor
from callspec.results import RunResult


class Reporter(abc.ABC):
    """Writes one kind of report of a run to a text stream, secrets masked."""

    @abc.abstractmethod
    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        """Write the report of ``result`` to ``stream``."""


class ReportError(CallspecError):
    """A report would not be valid JSON (a NaN or an infinity in it); nothing was written."""


def one_line(text: str) -> str:
    return " ".join(text.split())


def status_text(status: int | None) -> str:
    return f"HTTP {status}" if status is not None else "no response"
