"""The run's progress bar on a terminal: click's, with the count, the rate and the time left.

``callspec run`` hands :func:`bar_factory` to the library, which calls it once
the plan is known (the library never imports click).  Off a terminal there is no
bar and no cost: the factory is not made, and the run prints plain lines.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from callspec.report.progress import Bar, BarFactory

_CLEAR = "\r\x1b[2K"  # back to the line's start and erase it
_SHOW_CURSOR = "\x1b[?25h"  # click hides it while the bar is drawn


class ClickBar:
    """click's progress bar driven by the count of finished calls."""

    def __init__(self, total: int, stream: TextIO, force: bool = False) -> None:
        self.total = total
        self.stream = stream
        self.first: float | None = None  # when the first result came
        self.done = 0
        self._bar = click.progressbar(
            None,
            length=total,
            label="calls",
            show_eta=False,  # its own estimate: rate and seconds left, below
            show_pos=True,
            show_percent=False,
            item_show_func=self._rate,
            file=stream,
            width=24,
        )
        if force:
            self._bar._is_atty = True  # --progress: draw it even where stderr is no terminal
        self._bar.render_progress()

    def _rate(self, _: int | None) -> str | None:
        """``2.0 calls/s, 20 s left``: measured from the first result on (the first call
        leaves at once, whatever the rate), so shown from the second."""
        if self.first is None or self.done < 2 or self.done >= self.total:
            return None
        elapsed = time.monotonic() - self.first
        if elapsed <= 0:
            return None
        rate = (self.done - 1) / elapsed
        return f"{rate:.1f} calls/s, {_duration((self.total - self.done) / rate)} left"

    def advance(self, done: int) -> None:
        if self.first is None:
            self.first = time.monotonic()
        steps, self.done = done - self.done, done
        self._bar.update(steps)

    def note(self, text: str) -> None:
        self.stream.write(_CLEAR + text + "\n")
        self.stream.flush()
        self._bar._last_line = None  # drawn again in full below the note
        self._bar.render_progress()

    def close(self) -> None:
        if self.done:
            self._bar.render_finish()
        else:  # refused before any call (a guard): no bar left behind, the cursor shown
            self.stream.write(_CLEAR + _SHOW_CURSOR)
            self.stream.flush()


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
        return ClickBar(total, stream, force=bool(progress))

    return make
