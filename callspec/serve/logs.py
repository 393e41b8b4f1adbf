"""The service's log: one JSON object per line, per request and per lifecycle event.

Every text value passes :func:`callspec.text.outside` (the auth token, the channel
key and their spellings masked, then cut, then control characters escaped) before
it is written: a path, a header or an exception's words come from outside.  The
message a call speaks is never logged; a registration is named by its ID.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TextIO

from callspec.redact import Redactor
from callspec.text import outside

#: Characters kept of any one value (a path, a reason, an exception's words).
CAP = 300


class Log:
    """Writes log lines to ``stream`` (None: nowhere), masked with ``redactor``."""

    def __init__(
        self,
        stream: TextIO | None,
        redactor: Redactor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._redactor = redactor
        self._clock = clock
        self._lock = threading.Lock()

    def clean(self, value: object) -> str:
        """``value`` as the log may show it (masked, cut, escaped)."""
        return outside(value, self._redactor.text, CAP)

    def write(self, event: str, **fields: object) -> None:
        """One line: the time, the event, then each field (None fields left out)."""
        if self._stream is None:
            return
        stamp = datetime.fromtimestamp(self._clock(), timezone.utc)
        entry: dict[str, object] = {
            "time": stamp.isoformat(timespec="milliseconds"),
            "event": event,
        }
        for name, value in fields.items():
            if value is None:
                continue
            keep = isinstance(value, bool | int | float)
            entry[name] = value if keep else self.clean(value)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):  # a closed or broken log never fails a request
                pass
