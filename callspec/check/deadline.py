"""One deadline for a whole HTTP exchange: connecting, the headers, the body, each redirect.

A socket timeout restarts with every byte received, so a server that trickles its
headers or its body (a byte every 50 ms) would keep a request going forever.  A
:class:`Deadline` hands out a ``requests`` session whose connections register their
sockets with it; when the deadline passes, a timer shuts those sockets down, which
ends any read blocked on them at once (the caller sees a connection error and asks
:attr:`Deadline.expired`).  ``callspec check`` and the sandbox's simulated callbacks
use it, so neither can be held past its budget by a slow server.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import requests

_local = threading.local()  # the Deadline of the exchange this thread is making


@dataclass(frozen=True)
class Body:
    """A response body read within a deadline and a size cap: ``data`` when it came
    whole, else why not (``failure``; ``error`` when the connection broke)."""

    data: bytes | None
    failure: Literal["too_big", "late", "broken"] | None = None
    error: Exception | None = None


def _register(sock: socket.socket) -> None:
    deadline: Deadline | None = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class Deadline:
    """``seconds`` from now, for every request made through :meth:`session`.

    Use as a context manager: the timer runs inside it and is cancelled on exit.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = threading.Event()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed (the exchange was cut short, or would be)."""
        return self._expired.is_set() or time.monotonic() >= self.at

    def left(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.at - time.monotonic())

    def __enter__(self) -> Deadline:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _local.deadline = self._previous
        with self._lock:
            self._sockets.clear()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        with self._lock:
            if not self._expired.is_set():
                self._sockets.append(sock)
                return
        _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired.set()
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def read_body(self, response: requests.Response, max_bytes: int, chunk: int) -> Body:
        """``response``'s body (made with ``stream=True``), at most ``max_bytes`` of it,
        before the deadline: a trickling or endless body is cut off, not waited for."""
        import requests

        body = bytearray()
        try:
            for piece in response.iter_content(chunk_size=chunk):
                body += piece
                if len(body) > max_bytes:
                    return Body(None, "too_big")
                if self.expired:
                    break
        except requests.exceptions.RequestException as e:
            if not self.expired:
                return Body(None, "broken", e)
        if self.expired:
            return Body(None, "late")
        return Body(bytes(body))

    def session(self) -> requests.Session:
        """A session whose HTTP(S) connections this deadline ends (requests made on the
        thread that entered it).  It never follows a redirect, nor looks at one's
        ``Location`` (requests would, even with ``allow_redirects=False``, and raise on
        one that is not a URL): the caller follows redirects, each within the deadline."""
        http: requests.Session = _session_class()()
        adapter = _adapter()
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        return http


def _shut(sock: socket.socket) -> None:
    """End every read and write on ``sock`` now (a TLS socket's too: the plain
    ``shutdown`` acts on the descriptor without touching the TLS state)."""
    try:
        if sock.fileno() != -1:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


def _adapter() -> Any:
    """An HTTPAdapter whose pools make connections that register their sockets."""
    return _adapter_class()()


@functools.cache
def _session_class() -> Any:
    """A ``requests.Session`` that leaves redirects to its caller."""
    import requests

    class _Session(requests.Session):
        def resolve_redirects(self, *args: Any, **kwargs: Any) -> Any:
            return iter(())

    return _Session


@functools.cache
def _adapter_class() -> Any:
    """The adapter class, built once (it subclasses requests' and urllib3's classes,
    which are imported only when a request is made)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _register(sock)
            return sock

    class _Tls(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _register(sock)  # the TCP socket, during the handshake
            return sock

        def connect(self) -> None:
            super().connect()
            if self.sock is not None:
                _register(self.sock)  # the TLS socket that replaced it

    class _PlainPool(HTTPConnectionPool):
        ConnectionCls = _Plain

    class _TlsPool(HTTPSConnectionPool):
        ConnectionCls = _Tls

    pools = {"http": _PlainPool, "https": _TlsPool}

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = pools
            return manager

    return _Adapter
