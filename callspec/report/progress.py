"""Progress while a run sends: a bar on a terminal, one plain line per call in CI logs.

The bar itself is drawn by the front end (the CLI hands in click's progress bar
through :data:`BarFactory`; the library never imports click): this module
decides, per run, between the bar, plain lines and silence (``--quiet``), and
keeps output whole.  Called from worker threads; one lock keeps lines whole.
Every value printed passes the text rule (:func:`~callspec.report.base.shown`): an API's
error text or a file name cannot start a line of its own (a forged ``::error``
workflow command) or repaint the terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TextIO

from callspec.redact import Redactor
from callspec.report.base import shown
from callspec.results import CallResult

#: Fewer calls than this get plain lines even on a terminal: a bar says less than two lines.
BAR_MIN_CALLS = 6

#: Outcomes of calls that were never sent: they count as done, not in the rate.
_NOT_SENT = ("skipped", "invalid")


class Bar(Protocol):
    """A progress bar drawn by the front end: count, rate and time left."""

    def advance(self, done: int, sent: int) -> None:
        """``done`` calls have their result, ``sent`` of them were sent (the others were
        skipped: by ``--resume``, a halt or Ctrl-C), for a rate of what is sent."""

    def note(self, text: str) -> None:
        """A line of its own above the bar."""

    def close(self) -> None:
        """End the bar's line."""


#: Makes the bar of a run of ``total`` calls.
BarFactory = Callable[[int], "Bar | None"]


class Progress:
    """Reports each finished call to ``stream``: on ``bar`` when one is given, else as a line;
    nothing at all when ``quiet``."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        redactor: Redactor,
        bar: Bar | None = None,
        quiet: bool = False,
    ) -> None:
        self.stream = stream
        self.total = total
        self.redactor = redactor
        self.done = 0
        self.sent = 0
        self.bar = None if quiet else bar
        self.quiet = quiet
        self._lock = threading.Lock()

    def note(self, text: str) -> None:
        """A line of its own (not part of the bar)."""
        if self.quiet:
            return
        with self._lock:
            line = shown(text, self.redactor, cap=None)
            if self.bar is not None:
                self.bar.note(line)
                return
            self.stream.write(line + "\n")
            self.stream.flush()

    def update(self, result: CallResult) -> None:
        """One call has its result."""
        with self._lock:
            self.done += 1
            if result.outcome not in _NOT_SENT:
                self.sent += 1
            if self.quiet:
                return
            if self.bar is not None:
                self.bar.advance(self.done, self.sent)
                return
            status = result.status if result.status is not None else "-"
            detail = result.error or result.reason or result.message or ""
            call = shown(f"{result.spec_file}:{result.name}", self.redactor)
            line = (
                f"[{self.done}/{self.total}] {result.outcome:<7} {status} "
                f"{call} {result.duration_ms:.0f} ms"
                + (f" - {shown(detail, self.redactor)}" if detail else "")
                + "\n"
            )
            self.stream.write(line)
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        with self._lock:
            if self.bar is not None:
                self.bar.close()
