"""Ctrl-C and SIGTERM during a run: stop new sends first, leave at once the second time.

The first signal sets the run's stop event: no new call is started, calls in
flight finish (bounded by the timeout) and are recorded, the report is
written.  One stop request often arrives twice: ``timeout`` and a CI runner
signal the process and then its process group, a terminal's Ctrl-C reaches
every process of the foreground group, a wrapper passes it on.  So a signal
within :data:`REPEAT_WINDOW` of the first is that same request, and changes
nothing.  A second signal later is a person insisting: it exits with 130 at
once (the cursor a progress bar hid is shown first), without the report;
every line of the journal was flushed when written, so nothing it knows is
lost, and a call in flight shows there as started (``--resume`` counts it as
unknown: it may have been placed).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TextIO

from callspec.cli.progress import show_cursor
from callspec.errors import ExitCode

#: Seconds after the first stop signal during which another is a repeat of it, not a
#: second request: long enough for a wrapper's relay, short next to a person's second Ctrl-C.
REPEAT_WINDOW = 1.0


def install_stop_handlers(stop: threading.Event, stream: TextIO) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to ``stop``; return a function that restores the old handlers."""

    first: list[float] = []  # when the first signal came: the run itself sets ``stop`` too

    def handler(signum: int, frame: object) -> None:
        now = time.monotonic()
        if first and now - first[0] < REPEAT_WINDOW:
            return  # the first request, delivered twice (to the process and its group)
        if first:
            show_cursor()  # os._exit skips every finally: the bar's cursor, given back here
            stream.write("\ncallspec: quit at once: no report; the journal holds every call sent\n")
            stream.flush()
            os._exit(ExitCode.INTERRUPTED)
        first.append(now)
        stop.set()
        stream.write(
            "\ncallspec: stopping: no new calls; waiting for calls in flight "
            "(Ctrl-C again to quit at once)\n"
        )
        stream.flush()

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach only the main thread; nothing to install
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
