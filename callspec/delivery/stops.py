"""When a run stops sending early, and why: the circuit breaker, the retry budget, halts.

A Ctrl-C is an interruption (exit 130); a journal that cannot be written and
a dead API are failures (exit 1).  Either way the calls in flight finish and
every call not sent is recorded as skipped with the :class:`Halt`'s words.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass

from callspec.delivery.journal import JournalWriteError, errno_text
from callspec.results import CallResult, StopKind, now_iso

INTERRUPTED = "interrupted: not sent"


@dataclass(frozen=True)
class Halt:
    """Why a run stopped sending before its end."""

    kind: StopKind
    reason: str
    #: What each call left unsent is told.
    unsent: str
    time: str

    @classmethod
    def interrupt(cls) -> Halt:
        return cls("interrupt", "interrupted", INTERRUPTED, now_iso())

    @classmethod
    def journal(cls, path: object, error: OSError) -> Halt:
        """The journal at ``path`` could not take a line: ``ENOSPC``, ``EIO``, ..."""
        why = str(error) if isinstance(error, JournalWriteError) else errno_text(error)
        name = errno.errorcode.get(error.errno or 0) or why  # the errno's name, as a fact
        unsent = f"not sent: journal write failed ({name})"
        return cls("journal", f"the journal {path} could not be written ({why})", unsent, now_iso())

    @classmethod
    def bail(cls, n: int) -> Halt:
        return cls(
            "bail",
            f"{n} calls in a row got no certain answer from the API (circuit breaker, --bail {n})",
            f"not sent: stopped after {n} calls in a row got no certain answer (--bail {n})",
            now_iso(),
        )


class CircuitBreaker:
    """Trips after ``bail`` calls in a row (in completion order) with no certain answer.

    An outcome that is unknown, or a failure with no answer from the API (a
    transport failure, or a 5xx after the retries), adds one; a call fired,
    queued or refused with a 4xx shows the API alive and resets the count.  A
    request that could not even be built says nothing of the API.  ``bail`` 0
    never trips.  Thread-safe.
    """

    def __init__(self, bail: int) -> None:
        self.bail = bail
        self._streak = 0
        self._lock = threading.Lock()

    def record(self, result: CallResult) -> bool:
        """Count ``result``; True when this one trips the breaker."""
        if self.bail <= 0 or not result.attempts:
            return False
        last = result.attempts[-1]
        dead = result.outcome == "unknown" or (
            result.outcome == "failed"
            and last.error_kind != "build"
            and (last.status is None or last.status >= 500)
        )
        with self._lock:
            self._streak = self._streak + 1 if dead else 0
            return dead and self._streak >= self.bail


class RetryBudget:
    """Seconds of retry waiting the whole run may spend, every call's waits added up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0
        self._lock = threading.Lock()

    def take(self, delay: float) -> bool:
        """Book ``delay`` seconds; False (booking nothing) when it would pass the budget."""
        with self._lock:
            if self._spent + delay > self.seconds:
                return False
            self._spent += delay
            return True
