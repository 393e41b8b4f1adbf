"""Running the service: waitress serving :class:`~callspec.serve.app.App`, and stopping it well.

waitress (a maintained, pure-Python production WSGI server) parses HTTP, bounds
headers and bodies, and runs the application on a pool of threads.  This module
builds it (:class:`Service`), runs its event loop, and stops it gracefully: on
:meth:`Service.request_stop` (SIGTERM or SIGINT under :func:`run`) the service
stops accepting connections, lets every request already received finish and its
answer leave (for at most ``grace_s`` seconds), closes the rest, and closes the
store last.  waitress's own warnings go to the same JSON log.

:class:`Service` also runs in a thread of another process (``start()``/``stop()``),
as the sandbox does, for tests and for the runner's in-process use.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO, cast

from waitress import wasyncore
from waitress.server import TcpWSGIServer, create_server

from callspec.redact import Redactor, basic_auth
from callspec.serve.app import MAX_BODY_BYTES, App
from callspec.serve.auth import PublicUrl
from callspec.serve.channel import channel_key
from callspec.serve.logs import Log
from callspec.serve.store import DEFAULT_MAX_REGISTRATIONS, DEFAULT_RETENTION_S, Store

#: How often the event loop looks for a stop request when nothing wakes it.
_TICK_S = 0.5
#: The headers waitress takes from a trusted proxy (X-Forwarded-For only names the client).
_FORWARDED = {"x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-for"}


@dataclass(frozen=True)
class ServeConfig:
    """Where the service listens, what it stores, whom it believes."""

    store: Path
    auth_token: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8556
    public_url: str | None = None
    trusted_proxy: str | None = None  # an address, or "*" (any peer: only behind a firewall)
    threads: int = 8
    retention_s: float = DEFAULT_RETENTION_S
    max_registrations: int = DEFAULT_MAX_REGISTRATIONS
    grace_s: float = 10.0
    log: TextIO | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if not self.auth_token:
            raise ValueError("the service needs the account's auth token")
        if not 1 <= self.threads <= 64:
            raise ValueError(f"threads must be 1 to 64, not {self.threads}")
        if not 3600 <= self.retention_s <= 90 * 24 * 3600:
            raise ValueError("retention must be 1 hour to 90 days")
        if self.max_registrations < 1:
            raise ValueError("max_registrations must be at least 1")
        PublicUrl(self.public_url)  # raises on a bad URL


class _ToLog(logging.Handler):
    """waitress's log records, as lines of the service's log."""

    def __init__(self, log: Log) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        self._log.write("server", level=record.levelname.lower(), message=record.getMessage())


_capturing: list[_ToLog] = []  # the services running in this process, whose logs take waitress's
_capturing_lock = threading.Lock()


def _capture_waitress(handler: _ToLog, on: bool) -> None:
    """waitress's warnings go to each running service's log, and not (as plain text) to
    stderr while any service runs: its logger is the process's, services may be several."""
    waitress_log = logging.getLogger("waitress")
    with _capturing_lock:
        if on:
            _capturing.append(handler)
            waitress_log.addHandler(handler)
        else:
            _capturing.remove(handler)
            waitress_log.removeHandler(handler)
        waitress_log.propagate = not _capturing


class HostError(ValueError):
    """The host to listen on is no address: not an IP address, nor a name that resolves."""


class Service:
    """The answer service: bound on construction (``url`` is known), served by ``start()``
    (a thread) or ``serve_forever()`` (this thread), stopped by ``stop()``."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        token = config.auth_token
        redactor = Redactor([token, channel_key(token).hex(), basic_auth("", token)])
        self.log = Log(config.log, redactor, config.clock)
        self.store = Store(config.store, config.clock, config.retention_s, config.max_registrations)
        public = PublicUrl(config.public_url)
        self.app = App(self.store, token, public, self.log, config.clock)
        self._map: dict[int, Any] = {}
        proxy: dict[str, Any] = {}
        if config.trusted_proxy:
            proxy = {
                "trusted_proxy": config.trusted_proxy,
                "trusted_proxy_headers": _FORWARDED,
                "clear_untrusted_proxy_headers": True,
            }
        try:
            self._server = create_server(
                self.app,
                map=self._map,
                host=config.host,
                port=config.port,
                threads=config.threads,
                connection_limit=1000,
                backlog=1024,
                channel_timeout=60,
                max_request_header_size=32 * 1024,
                max_request_body_size=MAX_BODY_BYTES,
                expose_tracebacks=False,
                ident="callspec-serve",
                asyncore_use_poll=True,
                **proxy,
            )
        except ValueError as e:  # waitress's words when getaddrinfo refuses the host
            self.store.close()
            raise HostError(
                f"{config.host!r} is no address to listen on: an IP address "
                "(127.0.0.1, 0.0.0.0, ::) or a host name that resolves"
            ) from e
        except BaseException:
            self.store.close()
            raise
        self._listeners = [d for d in self._map.values() if isinstance(d, TcpWSGIServer)]
        self._stop = threading.Event()
        self._stopped = threading.Event()
        #: Held while the trigger is pulled or closed: a wake-up from another thread must
        #: not write to the trigger's pipe after the loop has closed it (EBADF).
        self._trigger_lock = threading.Lock()
        self._trigger_closed = False
        self._thread: threading.Thread | None = None
        self._handler = _ToLog(self.log)

    @property
    def url(self) -> str:
        """``http://host:port`` of the first socket it listens on."""
        first: Any = self._listeners[0]  # the stubs lack a TCP server's effective address
        host = str(first.effective_host)
        return (
            f"http://[{host}]:{first.effective_port}"
            if ":" in host
            else (f"http://{host}:{first.effective_port}")
        )

    def start(self) -> Service:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`request_stop`; then stop gracefully."""
        _capture_waitress(self._handler, True)
        self.log.write("listening", url=self.url, store=str(self.config.store))
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=_TICK_S, map=self._map, use_poll=True, count=1)
            self._drain()
        finally:
            _capture_waitress(self._handler, False)
            self.store.close()
            self.log.write("stopped")
            self._stopped.set()

    def request_stop(self, wake: bool = True) -> None:
        """Ask the loop to stop.  From another thread ``wake`` pulls waitress's trigger, so the
        loop sees it at once; a signal handler must not (it runs on the loop's own thread,
        which may hold the trigger's lock), and the loop sees it within a tick."""
        self._stop.set()
        if wake:
            with self._trigger_lock:
                if not self._trigger_closed:  # else the loop has ended: nothing to wake
                    for listener in self._listeners:
                        listener.pull_trigger()

    def stop(self) -> None:
        """Stop and wait until stopped (a service never started just closes)."""
        if self._thread is None:
            self._close_unserved()
            return
        self.request_stop()
        self._stopped.wait()
        self._thread.join()

    def __enter__(self) -> Service:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _close_all(self) -> None:
        with self._trigger_lock:
            self._trigger_closed = True
            wasyncore.close_all(self._map)

    def _close_unserved(self) -> None:
        self._close_all()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        self.store.close()

    def _drain(self) -> None:
        """No new connection; requests received finish and their answers leave (within the
        grace period); then every connection closes and the worker threads end."""
        for listener in self._listeners:
            listener.accepting = False
            wasyncore.dispatcher.close(listener)  # out of the map, its socket closed
        deadline = time.monotonic() + self.config.grace_s
        while time.monotonic() < deadline and self._busy():
            wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        self._close_all()
        left = max(1, math.ceil(deadline - time.monotonic()))
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=left)

    def _busy(self) -> bool:
        """A request is being handled, or an answer has bytes left to send."""
        return any(
            channel.requests or channel.total_outbufs_len
            for listener in self._listeners
            # waitress's stubs type the dict as one channel: it maps fds to channels.
            for channel in list(cast(dict[int, Any], listener.active_channels).values())
        )


def run(config: ServeConfig, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (the ``callspec serve`` command)."""
    service = Service(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        service.request_stop(wake=False)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        announce(
            f"callspec serve: listening on {service.url} (store {config.store}); "
            "SIGTERM or Ctrl-C stops"
        )
        service.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    announce("callspec serve: stopped")
