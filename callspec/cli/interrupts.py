"""Ctrl-C and SIGTERM during a run: stop new sends first, leave at once the second time.

The first signal sets the run's stop event: no new call is started, calls in
flight finish (bounded by the timeout) and are recorded, the report is
written.  A second signal exits with 130 immediately (the cursor a progress bar hid is
shown first); every line of the journal was flushed when written, so nothing it
knows is lost.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import TextIO

from callspec.cli.progress import show_cursor
from callspec.errors import ExitCode


def install_stop_handlers(stop: threading.Event, stream: TextIO) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to ``stop``; return a function that restores the old handlers."""

    received = [0]  # counted here: the run itself sets ``stop`` when it halts early

    def handler(signum: int, frame: object) -> None:
        received[0] += 1
        if received[0] > 1:
            show_cursor()  # os._exit skips every finally: the bar's cursor, given back here
            os._exit(ExitCode.INTERRUPTED)
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
