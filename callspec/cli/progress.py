"""The run's progress bar on a terminal: click's, with the count, the rate and the time left.

``callspec run`` hands :func:`bar_factory` to the library, which calls it once
the plan is known (the library never imports click).  Off a terminal there is no
bar and no cost: the factory is not made, and the run prints plain lines.

The drawing is click's ``progressbar``; what callspec adds is the fitting.  Before
each redraw the terminal's width is read again (a resized window, SIGWINCH, is
followed at the next redraw) and the line is fitted to it: the bar narrows, then
the rate goes, and a terminal too narrow for even the count gets no bar, so it
never wraps.  The rate and the time left count only calls that were sent (not
those skipped by ``--resume`` or a halt).  click hides the cursor while the bar is
drawn; :func:`show_cursor` gives it back from a second Ctrl-C that quits at once.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from callspec.report.progress import Bar, BarFactory

_CLEAR = "\r\x1b[2K"  # back to the line's start and erase it
_SHOW_CURSOR = "\x1b[?25h"  # click hides it while the bar is drawn
_LABEL = "calls  ["  # click's template: "%(label)s  [%(bar)s]  %(info)s"
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
    """click's bar driven by the count of finished calls, fitted to the terminal at each
    redraw: ``calls  [###---]  3/12  2.0 calls/s, 5 s left``."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.first: float | None = None  # when the first sent call's result came
        self.done = 0
        self.sent = 0
        self._show_rate = True
        self._bar = click.progressbar(
            None,
            length=total,
            label="calls",
            show_eta=False,  # its own estimate: rate and seconds left, below
            show_pos=True,
            show_percent=False,
            item_show_func=self._info,
            file=stream,
            width=_BAR_WIDTH,
        )
        self._bar._is_atty = True  # --progress: drawn even where stderr is no terminal
        self._render()

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

    def _info(self, _: object) -> str | None:
        return self._rate() if self._show_rate else None

    def _fit(self, columns: int) -> bool:
        """Set click's bar width (and whether the rate shows) for ``columns``, one column
        kept free; False when not even the count fits (then nothing is drawn)."""
        room = columns - 1
        count = f"{self.done}/{self.total}"
        rate = self._rate()
        for show_rate in (True, False) if rate else (False,):
            text = f"{count}  {rate}" if show_rate else count
            width = min(_BAR_WIDTH, room - len(_LABEL) - len("]  ") - len(text))
            if width >= _BAR_MIN:
                break
        self._show_rate, self._bar.width = show_rate, max(width, 0)
        # click pads a shorter line to the longest drawn so far: never past the room.
        if self._bar.max_width is not None:
            self._bar.max_width = min(self._bar.max_width, room)
        return width >= 0

    def line(self, columns: int) -> str:
        """The bar's line as drawn on a terminal ``columns`` wide ("" when it does not fit)."""
        return self._bar.format_progress_line() if self._fit(columns) else ""

    def _render(self, again: bool = False) -> None:
        if not self._fit(self._columns()):
            return
        if again:
            self._bar._last_line = None  # drawn again in full (below a note)
        _hidden.add(self.stream)
        self._bar.render_progress()

    def advance(self, done: int, sent: int) -> None:
        if self.first is None and sent:
            self.first = time.monotonic()
        steps, self.done, self.sent = done - self.done, done, sent
        self._bar.make_step(steps)
        self._render()

    def note(self, text: str) -> None:
        self.stream.write(_CLEAR + text + "\n")
        self.stream.flush()
        self._render(again=True)

    def close(self) -> None:
        if self.done:
            self._render()
            self._bar.render_finish()  # shows the cursor, ends the line
        else:  # refused before any call (a guard): no bar left behind, the cursor shown
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
