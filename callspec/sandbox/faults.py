"""The sandbox's answers: which one each valid call request gets, faults included.

This module owns the decisions: the fault draw (seeded, thread-safe, two draws
per request in arrival order, so a seed and a request order always give the same
faults), the answer Plivo would give otherwise ("call fired", "calls fired",
"call queued", "async api spawned"), what each fault means for the record (which
statuses prove no call was placed), and how a hung request is held.
:mod:`callspec.sandbox.server` carries them out on the wire.
"""

from __future__ import annotations

import math
import random
import select
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Injected answers that prove no call was placed: every 4xx (the API refused the
# request), and 503.  500, 502, 504 may follow a placed call.
NOT_PLACED = frozenset({*range(400, 500), 503})
HANG_MAX_S = 600.0  # a hung request is closed after this, at the latest
_POLL_S = 0.1


@dataclass(frozen=True)
class Fault:
    """Answer ``fraction`` of valid call requests with HTTP ``status`` instead."""

    status: int
    fraction: float

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be 400-599, not {self.status}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fault fraction must be between 0 and 1, not {self.fraction}")


class Decision(NamedTuple):
    """What happens to one request: a delay, then a fault (None: answer normally)."""

    delay_s: float
    fault: str | None  # "hang", "drop", "status:503", or None
    status: int | None  # the injected status, for "status:..." only


class FaultPlan:
    """Draws a :class:`Decision` per request from ``random.Random(seed)`` under a lock."""

    def __init__(
        self,
        latency_ms: tuple[float, float],
        hang: float,
        drop: float,
        faults: Sequence[Fault],
        seed: int | None,
    ) -> None:
        low, high = latency_ms
        if not 0 <= low <= high:
            raise ValueError(f"latency_ms must be (low, high) with 0 <= low <= high: {low}, {high}")
        if not (0 <= drop <= 1 and 0 <= hang <= 1):
            raise ValueError("drop and hang are fractions between 0 and 1")
        if hang + drop + sum(f.fraction for f in faults) > 1.0 + 1e-9:
            raise ValueError("the fractions of hang, drop and faults add up to more than 1")
        self._latency_ms = (float(low), float(high))
        self._outcomes: list[tuple[str, int | None, float]] = [
            ("hang", None, hang),
            ("drop", None, drop),
            *((f"status:{f.status}", f.status, f.fraction) for f in faults),
        ]
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self) -> Decision:
        # Always two draws, whatever the outcome, so that the sequence depends
        # only on the seed and the number of requests before this one.
        with self._lock:
            delay_ms = self._rng.uniform(*self._latency_ms)
            draw = self._rng.random()
        for name, status, fraction in self._outcomes:
            if draw < fraction:
                return Decision(delay_ms / 1000, name, status)
            draw -= fraction
        return Decision(delay_ms / 1000, None, None)


def hold(sock: socket.socket, stopping: threading.Event, max_s: float = HANG_MAX_S) -> None:
    """A hung request: answer nothing until the client gives up, ``stopping`` or ``max_s``."""
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline and not stopping.wait(_POLL_S):
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                return
        except OSError:
            return


def parse_fault(text: str) -> Fault:
    """``STATUS:FRACTION`` (``500:0.1``; a bare ``STATUS`` means every call)."""
    status, sep, fraction = text.partition(":")
    try:
        return Fault(int(status), float(fraction) if sep else 1.0)
    except ValueError as e:
        raise ValueError(f"expected STATUS:FRACTION like 500:0.1, got {text!r} ({e})") from e


def parse_latency(text: str) -> tuple[float, float]:
    """``MS`` or ``MIN-MAX`` milliseconds, as a (low, high) range."""
    low, sep, high = text.partition("-")
    try:
        lo, hi = float(low), float(high) if sep else float(low)
    except ValueError as e:
        raise ValueError(f"expected MS or MIN-MAX in milliseconds, got {text!r}") from e
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi > MAX_LATENCY_MS:
        raise ValueError(f"expected milliseconds up to {MAX_LATENCY_MS:g}, got {text!r}")
    if lo < 0 or hi < lo:
        raise ValueError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return (lo, hi)


MAX_LATENCY_MS = 600_000.0
