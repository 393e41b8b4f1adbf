"""The run's progress bar on a terminal: the count, the rate and the time left, on one line.

``callspec run`` hands :func:`bar_factory` to the library, which calls it once
the plan is known (the library never imports click).  Off a terminal there is no
bar and no cost: the factory is not made, and the run prints plain lines.

Each redraw reads the terminal's width again (a resized window, SIGWINCH, is
followed at the next redraw) and fits the line to it: the bar narrows, then the
rate goes, then the line is cut, so it never wraps.  The rate and the time left
count only calls that were sent (not those skipped by ``--resume`` or a halt).
The bar hides the cursor while drawn; :func:`show_cursor` gives it back from a
second Ctrl-C that quits at once.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from callspec.report.progress import Bar, BarFactory

_CLEAR = "\r\x1b[2K"  # back to the line's start and erase it
_HIDE_CURSOR = "\x1b[?25l"
_SHOW_CURSOR = "\x1b[?25h"
_LABEL = "calls  ["
_BAR_WIDTH = 24  # at most; narrower on a narrow terminal
_BAR_MIN = 6  # below this the rate gives its room to the bar

#: The streams whose cursor a bar hid and has not shown again.
_hidden: set[TextIO] = set()


def show_cursor() -> None:
    """Show the cursor again wherever a bar hid it (for an exit that skips ``close``)."""
    for stream in list(_hidden):
        try:
            stream.write(_CLEAR + _SHOW_CURSOR)
            stream.flush()
        except (OSError, ValueError):  # the terminal went away: nothing left to restore
            pass
        _hidden.discard(stream)


class TerminalBar:
    """A one-line bar redrawn in place as calls finish: ``calls  [###---]  3/12  2.0
    calls/s, 5 s left``."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.first: float | None = None  # when the first sent call's result came
        self.done = 0
        self.sent = 0
        self._drawn: str | None = None
        self._draw()

    def _columns(self) -> int:
        """The terminal's width now (read again at each redraw: it may have been resized)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            columns = shutil.get_terminal_size().columns
        return columns if columns > 0 else 80

    def _rate(self) -> str | None:
        """``2.0 calls/s, 20 s left``: measured over sent calls from the first one's result
        on (the first leaves at once, whatever the rate), so shown from the second."""
        if self.first is None or self.sent < 2 or self.done >= self.total:
            return None
        elapsed = time.monotonic() - self.first
        if elapsed <= 0:
            return None
        rate = (self.sent - 1) / elapsed
        return f"{rate:.1f} calls/s, {_duration((self.total - self.done) / rate)} left"

    def line(self, columns: int) -> str:
        """The bar's line fitted to ``columns`` (one column kept free: no wrap)."""
        room = max(columns - 1, len(_LABEL))
        count = f"{self.done}/{self.total}"
        rate = self._rate()
        for info in ([count, rate] if rate else [count], [count]):
            text = "  ".join(info)
            width = min(_BAR_WIDTH, room - len(_LABEL) - len("]  ") - len(text))
            if width >= _BAR_MIN or len(info) == 1:
                break
        width = max(width, 0)
        filled = width * self.done // self.total if self.total else width
        return f"{_LABEL}{'#' * filled}{'-' * (width - filled)}]  {text}"[:room]

    def _draw(self, again: bool = False) -> None:
        line = self.line(self._columns())
        if line == self._drawn and not again:
            return
        if self.stream not in _hidden:
            _hidden.add(self.stream)
            self.stream.write(_HIDE_CURSOR)
        self._drawn = line
        self.stream.write(_CLEAR + line)
        self.stream.flush()

    def advance(self, done: int, sent: int) -> None:
        if self.first is None and sent:
            self.first = time.monotonic()
        self.done, self.sent = done, sent
        self._draw()

    def note(self, text: str) -> None:
        self.stream.write(_CLEAR + text + "\n")
        self.stream.flush()
        self._draw(again=True)  # drawn again in full below the note

    def close(self) -> None:
        if self.done:
            self._draw()
            self.stream.write(_SHOW_CURSOR + "\n")
        else:  # refused before any call (a guard): no bar left behind
            self.stream.write(_CLEAR + _SHOW_CURSOR)
        self.stream.flush()
        _hidden.discard(self.stream)


def _duration(seconds: float) -> str:
    """``25 s``, ``3 min 5 s``."""
    whole = max(1, round(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"


def bar_factory(stream: TextIO, progress: bool | None) -> BarFactory | None:
    """The bar for a run, or None for plain lines: ``--progress`` forces it,
    ``--no-progress`` refuses it, else a bar when ``stream`` is a terminal and the run
    has a few calls at least."""
    if progress is False or (progress is None and not stream.isatty()):
        return None
    from callspec.report.progress import BAR_MIN_CALLS

    def make(total: int) -> Bar | None:
        if progress is None and total < BAR_MIN_CALLS:
            return None
        return TerminalBar(total, stream)

    return make
