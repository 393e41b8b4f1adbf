"""Watching the wire: how far an exchange got, and whose deadline each socket is under.

requests' adapter, with urllib3 connections that report two things as they go:

* the **stage** the current thread's exchange reached: ``idle`` until a watched
  connection is used; ``connecting`` while it connects (TCP, a proxy tunnel, the TLS
  handshake and certificate check); ``writing`` from the moment the request's first
  byte is handed to the socket.  An error before ``writing`` surely sent nothing; any
  error after it may follow a request the server received, whatever its type (urllib3
  raises an SSLError as readily for a garbled record after a POST as for a failed
  handshake).  That is the one fact that proves "not sent".
* each **socket** to the thread's :class:`~callspec.net.deadline.Deadline`: the TCP
  socket as soon as it exists (so the handshake is bounded), the TLS socket that
  replaces it, and a kept-alive socket each time it is reused.

Requests go out through the adapter itself (:mod:`callspec.net.exchange`), never the
session's ``send``: nothing follows a redirect or parses its ``Location`` behind the
caller's back (requests would, even with ``allow_redirects=False``, and raise on one
that is not a URL); :mod:`callspec.net.fetch` follows them, an API exchange does not.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Literal

import requests
import urllib3.connection
import urllib3.connectionpool

from callspec.net.deadline import current

Stage = Literal["idle", "connecting", "writing"]


class _Wire(threading.local):
    stage: Stage = "idle"


_wire = _Wire()


def reset() -> None:
    """A new exchange starts on this thread: nothing of it has touched the wire yet."""
    _wire.stage = "idle"


def stage() -> Stage:
    """How far the current thread's exchange got."""
    return _wire.stage


def _watch(sock: socket.socket | None) -> None:
    deadline = current()
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _Plain(urllib3.connection.HTTPConnection):
    """urllib3's connection, watched (and, mixed in first, its TLS connection)."""

    def _new_conn(self) -> socket.socket:
        _wire.stage = "connecting"
        sock = super()._new_conn()
        _watch(sock)  # the TCP socket (for TLS: during the tunnel and the handshake)
        return sock

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        if self.sock is None:  # http.client would connect inside its first send()
            self.connect()
        else:
            _watch(self.sock)  # a kept-alive connection, under this exchange's deadline now
        _wire.stage = "writing"
        super().endheaders(message_body, encode_chunked=encode_chunked)


class _Tls(_Plain, urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)  # the TLS socket that replaced the TCP one


class _PlainPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _Plain


class _TlsPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _Tls


_POOLS = {"http": _PlainPool, "https": _TlsPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that report how far each exchange got and
    put their sockets under its deadline.  urllib3 never retries on its own (a retried
    POST could ring a phone twice)."""

    def __init__(self, pool_maxsize: int = 10) -> None:
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own; unwatched
            manager.pool_classes_by_scheme = _POOLS
        return manager
