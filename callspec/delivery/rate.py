"""The run-wide rate limit and the backoff between retries.

Every attempt of every worker books a slot of one :class:`RateLimiter`, so
``--rate`` holds over the whole run however many workers there are; retries
of attempts that surely placed no call wait an exponential backoff with
jitter, never shorter than ``Retry-After`` (honoured up to a minute).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Evenly spaced start times across all workers: ``rate`` per second, no bursts.

    :meth:`acquire` books each attempt a slot; between the slot and the send
    comes the journal's fsync, whose time varies, so :meth:`pace`, called right
    before the request goes out, keeps every two sends at least one interval
    apart as they really begin (a late fsync would otherwise bunch two sends
    and an account's CPS limit would queue one).
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock  # passed in, so tests can pin time
        self._sleep = sleep
        self._next = 0.0
        self._last = -float("inf")
        self._lock = threading.Lock()

    def pace(self, stop: threading.Event) -> None:
        """Wait until one interval after the previous send began (at most that send's delay
        past its slot).  Not cut short by ``stop``: a call whose started line is durable is
        committed, and goes out rather than be journaled as started and never sent."""
        with self._lock:
            begin = max(self._clock(), self._last + self.interval)
            self._last = begin
        delay = begin - self._clock()
        if delay > 0 and not stop.is_set():
            self._sleep(delay)

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for the next slot; False when ``stop`` was set meanwhile."""
        with self._lock:
            slot = max(self._clock(), self._next)
            self._next = slot + self.interval
        delay = slot - self._clock()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()


MAX_RETRY_AFTER = 60.0


def backoff(
    number: int, retry_after: float | None, base: float, cap: float, rng: random.Random
) -> float:
    """The wait before retry ``number + 1``: exponential with full jitter, capped at ``cap``,
    never shorter than ``Retry-After`` (itself honoured up to :data:`MAX_RETRY_AFTER`)."""
    delay: float = min(cap, base * (2**number))
    delay *= 0.5 + rng.random() / 2
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
