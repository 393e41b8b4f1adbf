"""Progress while a run sends: a bar on a terminal, one plain line per call in CI logs.

Called from worker threads; one lock keeps lines whole.  Everything printed
passes through the run's redactor.
"""

from __future__ import annotations

import threading
from typing import TextIO

from callspec.redact import Redactor
from callspec.results import CallResult

BAR_MIN_CALLS = 6
BAR_WIDTH = 30


class Progress:
    """Reports each finished call to ``stream``."""

    def __init__(
        self, stream: TextIO, total: int, redactor: Redactor, bar: bool | None = None
    ) -> None:
        self.stream = stream
        self.total = total
        self.redactor = redactor
        self.done = 0
        isatty = getattr(stream, "isatty", lambda: False)()
        self.bar = (isatty and total >= BAR_MIN_CALLS) if bar is None else bar
        self._lock = threading.Lock()

    def note(self, text: str) -> None:
        """A line of its own (not part of the bar)."""
        with self._lock:
            self.stream.write(self.redactor.text(text) + "\n")
            self.stream.flush()

    def update(self, result: CallResult) -> None:
        """One call has its result."""
        with self._lock:
            self.done += 1
            if self.bar:
                filled = int(BAR_WIDTH * self.done / max(1, self.total))
                line = f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total}"
            else:
                status = result.status if result.status is not None else "-"
                detail = result.error or result.reason or result.message or ""
                line = (
                    f"[{self.done}/{self.total}] {result.outcome:<7} {status} "
                    f"{result.spec_file}:{result.name} {result.duration_ms:.0f} ms"
                    + (f" - {detail}" if detail else "")
                    + "\n"
                )
            self.stream.write(self.redactor.text(line))
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        with self._lock:
            if self.bar and self.done:
                self.stream.write("\n")
                self.stream.flush()
