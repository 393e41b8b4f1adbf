"""One deadline for a whole HTTP exchange: connecting, the headers, the body, every redirect.

A socket timeout restarts with every byte received, so a server that trickles its
headers or its body (a byte every 50 ms) would hold a request forever.  A
:class:`Deadline` is entered around an exchange; the connections made or reused on
that thread hand it their sockets (:mod:`callspec.net.wire`), and when it passes, the
sockets are shut down, which ends any connect, handshake, write or read blocked on them
at once.  The caller then sees a connection error and asks :attr:`Deadline.cut`.

One watchdog thread serves every deadline of the process (a timer thread per
request would cost more than the request on a fast API): entering a deadline
pushes it on a heap, leaving marks it done (and takes what ended off the heap);
the watchdog sleeps until the earliest deadline, and is woken only for one that
is due sooner.
"""

from __future__ import annotations

import heapq
import itertools
import math
import socket
import threading
import time

_lock = threading.Lock()  # the heap, and each deadline's sockets and state
_wakeup = threading.Condition(_lock)  # the watchdog waits on it
_heap: list[tuple[float, int, Deadline]] = []
_order = itertools.count()
_watchdog: threading.Thread | None = None
#: When the watchdog wakes next (``inf``: not until told): a deadline due later needs no
#: wake-up, so a run of requests with one timeout wakes it about once per timeout.
_sleeping_until = math.inf
_local = threading.local()  # the Deadline of the exchange this thread is making


class Deadline:
    """``seconds`` from now, for the exchange made on this thread while it is entered."""

    __slots__ = ("_done", "_previous", "_sockets", "at", "cut", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + max(0.0, seconds)
        #: True once the watchdog shut this exchange's sockets down: what was read may be
        #: incomplete, and the error that followed is the deadline's.
        self.cut = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._previous: Deadline | None = None

    def left(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.at - time.monotonic())

    def __enter__(self) -> Deadline:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self
        with _lock:
            heapq.heappush(_heap, (self.at, next(_order), self))
            if self.at < _sleeping_until:  # the watchdog sleeps past it, or is not running
                _wake()
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline, self._previous = self._previous, None
        with _lock:  # after this, the watchdog leaves these sockets alone (they may be reused)
            self._done = True
            self._sockets.clear()
            # Exchanges mostly end in the order they began: what ended leaves the heap now,
            # not when its time would have come (a long run would hold thousands).
            while _heap and _heap[0][2]._done:
                heapq.heappop(_heap)

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it was cut)."""
        with _lock:
            if self.cut:
                _shut(sock)
            elif not self._done:
                self._sockets.append(sock)


def current() -> Deadline | None:
    """The deadline of the exchange this thread is making, if any."""
    return getattr(_local, "deadline", None)


def _wake() -> None:
    """Start the watchdog, or tell it the earliest deadline changed (``_lock`` held)."""
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Thread(target=_watch, name="callspec-deadlines", daemon=True)
        _watchdog.start()
    else:
        _wakeup.notify()


def _watch() -> None:
    global _sleeping_until
    with _wakeup:
        while True:
            while _heap and _heap[0][2]._done:
                heapq.heappop(_heap)
            if not _heap:
                _sleeping_until = math.inf
                _wakeup.wait()
                continue
            at, _, deadline = _heap[0]
            now = time.monotonic()
            if now < at:
                _sleeping_until = at
                _wakeup.wait(at - now)
                continue
            heapq.heappop(_heap)
            deadline.cut = True
            for sock in deadline._sockets:  # under the lock: none is handed back meanwhile
                _shut(sock)
            deadline._sockets.clear()


def _shut(sock: socket.socket) -> None:
    """End every read and write on ``sock`` now (a TLS socket's too: the plain
    ``shutdown`` acts on the descriptor without touching the TLS state)."""
    try:
        if sock.fileno() != -1:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected
