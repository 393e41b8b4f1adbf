"""A local Plivo-compatible "Make an outbound call" API, for trials, tests and benchmarks.

This module owns the sandbox server: ``POST /v1/Account/{auth_id}/Call/`` on
127.0.0.1 answered as Plivo does (basic auth checked against the auth ID in the
path, the body checked by :func:`callspec.spec.validate.check_request_body`, 201 "call
fired", "calls fired" for bulk, 200 "call queued" over its CPS, Plivo's
``{"api_id", "error"}`` shape for every error), a record of every call it treats
as placed, and the faults that :mod:`callspec.sandbox.faults` chooses (latency,
statuses, dropped and hung connections).

Each response leaves in one socket write with TCP_NODELAY set: headers and body
written separately stall keep-alive clients by ~40 ms (Nagle meets delayed ACK).

Longer than most: the HTTP handler's connection handling (keep-alive, idle
timeouts, one write per answer, hung and dropped connections) is one piece.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hmac
import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO, cast
from urllib.parse import parse_qs, urlsplit

from callspec.sandbox import DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN
from callspec.sandbox.answers import answer, new_id, phrase
from callspec.sandbox.bodies import MAX_JSON_DEPTH, check
from callspec.sandbox.faults import Fault, FaultPlan, hold
from callspec.sandbox.lifecycle import Simulator
from callspec.sandbox.outcomes import SimulationConfig

__all__ = [
    "DEFAULT_AUTH_ID",
    "DEFAULT_AUTH_TOKEN",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "Fault",
    "Sandbox",
    "SandboxConfig",
    "SimulationConfig",
]

MAX_BODY_BYTES = 1 << 20
_MEMO_MAX_BYTES = 8192  # larger bodies are checked every time, not kept
IDLE_TIMEOUT_S = 120.0  # an idle keep-alive connection is closed after this
_POLL_S = 0.1  # how often the accept loop looks for stop()
_CALL_PATH = re.compile(r"^/v1/Account/([^/]+)/Call/?$")
_ONE_CALL_PATH = re.compile(r"^/v1/Account/([^/]+)/Call/([^/]+)/?$")
_DIGITS = re.compile(r"[0-9]+")  # int() would also take "+1", "1_0", "²"


@dataclass(frozen=True)
class SandboxConfig:
    """Where the sandbox listens, whom it accepts, what it records, which faults it injects."""

    host: str = "127.0.0.1"
    port: int = 0
    auth_id: str = DEFAULT_AUTH_ID
    auth_token: str = field(default=DEFAULT_AUTH_TOKEN, repr=False)
    record: Path | None = None
    cps: int | None = None
    latency_ms: tuple[float, float] = (0.0, 0.0)
    faults: tuple[Fault, ...] = ()
    retry_after: float | None = None
    drop: float = 0.0
    hang: float = 0.0
    seed: int | None = None
    log: TextIO | None = None
    #: Play each placed call as Plivo would (ring, answer, hangup callbacks); None: do not.
    simulate: SimulationConfig | None = None
    #: Where the simulation's step lines go (None: ``log``).
    simulate_log: TextIO | None = None

    def __post_init__(self) -> None:
        if self.cps is not None and self.cps < 1:
            raise ValueError(f"cps must be at least 1, not {self.cps}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# Clients often send one body many times (benchmarks, bulk runs): parse and check it once.
_checked = functools.lru_cache(maxsize=512)(check)


class Sandbox:
    """The server: ``with Sandbox(SandboxConfig()) as box:`` serves on ``box.url``.

    The socket is bound on construction, so ``url`` is known before serving;
    ``stop()`` releases it.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultPlan(
            config.latency_ms, config.hang, config.drop, config.faults, config.seed
        )
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # records, record file, log, CPS counter, connections
        self._records: list[dict[str, Any]] = []
        self._connections: set[socket.socket] = set()
        self._second, self._placed_in_second = 0, 0
        self._thread: threading.Thread | None = None
        self._serving = self._stopped = False
        self._server = _Server(self, (config.host, config.port))
        self.simulator: Simulator | None = None
        if config.simulate is not None:
            self.simulator = Simulator(
                config.simulate,
                config.auth_token,
                self.record,
                config.simulate_log or config.log,
                self._lock,
                self.stopping,
            )
        try:
            self._record_file = config.record.open("a", encoding="utf-8") if config.record else None
        except OSError:
            self._server.server_close()
            raise

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self._server.server_port}"

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Copies of the records so far, oldest first."""
        with self._lock:
            return copy.deepcopy(self._records)

    def start(self) -> Sandbox:
        """Serve in a daemon thread; returns self."""
        self._claim()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL_S,), name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() is called from another thread, or Ctrl-C."""
        self._claim()
        self._server.serve_forever(_POLL_S)

    def wait_for_calls(self, timeout: float) -> bool:
        """With ``simulate``: until every simulated call has ended; True when all have."""
        return self.simulator is None or self.simulator.wait(timeout)

    def stop(self) -> None:
        """Stop serving, release hung and idle connections, close the socket and the record.

        Simulated calls still live are hung up first (their hangup callbacks are sent).
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            connections = list(self._connections)
        self.stopping.set()
        if self.simulator is not None:
            self.simulator.stop()
        if self._serving:
            self._server.shutdown()  # returns within _POLL_S
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        with self._lock:
            if self._record_file is not None:
                self._record_file.close()
                self._record_file = None

    def __enter__(self) -> Sandbox:
        return self if self._serving else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _claim(self) -> None:
        with self._lock:
            if self._stopped or self._serving:
                raise RuntimeError("a sandbox serves once, and not after stop()")
            self._serving = True

    # Called from handler threads.

    def track(self, sock: socket.socket, is_open: bool) -> None:
        with self._lock:
            (self._connections.add if is_open else self._connections.discard)(sock)

    @property
    def open_connections(self) -> int:
        """Client connections being served: 0 once every request that arrived was answered
        (or its client left) and recorded, as after a killed client's calls in flight."""
        with self._lock:
            return len(self._connections)

    def admit(self) -> bool:
        """Count one placed call; True when it is over the CPS of the current second."""
        with self._lock:
            second = int(time.time())
            if second != self._second:
                self._second, self._placed_in_second = second, 0
            self._placed_in_second += 1
            return self.config.cps is not None and self._placed_in_second > self.config.cps

    def record(self, **fields: Any) -> None:
        entry = {"time": _now(), **fields}
        line = json.dumps(entry) + "\n"
        with self._lock:
            self._records.append(entry)
            if self._record_file is not None:
                self._record_file.write(line)
                self._record_file.flush()

    def log(
        self, client: str, method: str, path: str, status: int | None, note: str, ms: float
    ) -> None:
        if self.config.log is None:
            return
        line = f"{_now()} {client} {method} {path} {status or '-'} {note} {ms:.1f}ms"
        if self.config.auth_token:  # in case a client put it where it does not belong
            line = line.replace(self.config.auth_token, "***")
        line = line.replace("\n", " ") + "\n"
        with self._lock:
            self.config.log.write(line)
            self.config.log.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default backlog of 5 drops bursts of new connections

    def __init__(self, sandbox: Sandbox, address: tuple[str, int]) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that went away is not news
            super().handle_error(request, client_address)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "callspec-sandbox"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_S
    _started = 0.0

    @property
    def box(self) -> Sandbox:
        return cast(_Server, self.server).sandbox

    def setup(self) -> None:
        super().setup()
        self.box.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.box.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: each request gets one line from ``Sandbox.log`` instead."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors that http.server finds, answered in Plivo's shape."""
        self._started = time.perf_counter()
        self.close_connection = True
        self._reply(code, {"api_id": new_id(), "error": message or phrase(code).lower()})

    def do_POST(self) -> None:
        self._started = time.perf_counter()
        raw = self._read_body()
        if raw is None:
            return
        parts = urlsplit(self.path)
        one = _ONE_CALL_PATH.match(parts.path)
        if one is not None:
            return self._call_state(one[1], one[2], parts.query)
        match = _CALL_PATH.match(parts.path)
        if match is None:
            return self._error(404, "resource not found")
        if self.command == "GET":
            return self._call_list(match[1], parts.query)
        if self.command != "POST":
            allow = [("Allow", "GET, POST")]
            return self._error(405, f"method {self.command} not allowed; use POST", allow)
        problem = self._auth_problem(match[1])
        if problem:
            return self._error(401, problem)
        body, messages = _checked(raw) if len(raw) <= _MEMO_MAX_BYTES else check(raw)
        if body is None or messages:
            return self._error(400, "; ".join(messages))
        self._answer_call(match[1], dict(body))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_POST

    def _call_state(self, auth_id: str, call_uuid: str, query: str) -> None:
        """``GET`` (live, queued, detail record) and ``DELETE`` (hang up) of one call."""
        if self.command not in ("GET", "DELETE"):
            allow = [("Allow", "GET, DELETE")]
            return self._error(405, f"method {self.command} not allowed here", allow)
        problem = self._auth_problem(auth_id)
        if problem:
            return self._error(401, problem)
        simulator = self.box.simulator
        if simulator is None:
            return self._error(404, "not found (the sandbox serves call state with --simulate)")
        if self.command == "DELETE":
            if not simulator.registry.request_hangup(call_uuid):
                return self._error(404, "not found")
            return self._reply_empty(204)
        statuses = parse_qs(query).get("status")
        status = statuses[0] if statuses else None
        code, payload = simulator.registry.read(auth_id, call_uuid, status)
        self._reply(code, payload)

    def _call_list(self, auth_id: str, query: str) -> None:
        """``GET .../Call/``: Plivo's lists of live and queued calls and detail records."""
        problem = self._auth_problem(auth_id)
        if problem:
            return self._error(401, problem)
        simulator = self.box.simulator
        if simulator is None:
            return self._error(404, "not found (the sandbox lists calls with --simulate)")
        code, payload = simulator.registry.list_calls(auth_id, parse_qs(query))
        self._reply(code, payload)

    def _read_body(self) -> bytes | None:
        """The body by its Content-Length; None when it was refused or the client left."""
        if self.headers.get("Transfer-Encoding"):
            self._refuse(400, "send the body with a Content-Length, not Transfer-Encoding")
            return None
        lengths = {v.strip() for v in self.headers.get_all("Content-Length", [])}
        text = lengths.pop() if len(lengths) == 1 else "0" if not lengths else ""
        if not _DIGITS.fullmatch(text):
            self._refuse(400, "Content-Length must be one number of bytes")
            return None
        length = int(text) if len(text) <= 18 else MAX_BODY_BYTES + 1  # int() refuses 4,301 digits
        if length > MAX_BODY_BYTES:
            self._refuse(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
            return None
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:  # the client went away mid-body
            self.close_connection = True
            return None
        return raw

    def _refuse(self, status: int, text: str) -> None:
        """Answer before reading the body, and close: the rest of the stream is unknown."""
        self.close_connection = True
        self._error(status, text)

    def _auth_problem(self, path_auth_id: str) -> str | None:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return "authentication failed: HTTP basic auth (auth ID, auth token) is required"
        try:  # binascii.Error for bad base64, ValueError for non-ASCII characters
            raw = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            return "authentication failed: the basic auth header is malformed"
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:  # requests (and curl, by locale) send Latin-1
            decoded = raw.decode("latin-1")
        user, _, token = decoded.partition(":")
        config = self.box.config
        user_ok = hmac.compare_digest(user.encode(), config.auth_id.encode())
        if not (hmac.compare_digest(token.encode(), config.auth_token.encode()) and user_ok):
            return "authentication failed: wrong auth ID or auth token"
        if user != path_auth_id:
            return "authentication failed: the auth ID in the URL is not the authenticated one"
        return None

    def _answer_call(self, auth_id: str, body: dict[str, Any]) -> None:
        box = self.box
        decision = box.faults.decide()
        if decision.delay_s > 0 and box.stopping.wait(decision.delay_s):
            self.close_connection = True
            return
        status, payload, headers, outcome = answer(
            decision, body, box.admit, box.config.retry_after
        )
        box.record(auth_id=auth_id, body=body, **outcome)
        uuids = outcome["request_uuid"]
        play = None
        if box.simulator is not None and outcome["placed"] and uuids is not None:
            queued = outcome["message"] == "call queued"
            each = uuids if isinstance(uuids, list) else [uuids]
            play = box.simulator.place(auth_id, body, each, queued)
        if status is not None:
            self._reply(status, payload, headers, decision.fault)
            if play is not None:  # after the answer: playing never delays it
                play()
            return
        if play is not None:
            play()
        self.close_connection = True  # dropped or hung: closed without an answer
        self._note(None, str(decision.fault))
        if decision.fault == "hang":
            hold(self.connection, box.stopping)

    def _error(self, status: int, text: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._reply(status, {"api_id": new_id(), "error": text}, headers)

    def _reply(
        self,
        status: int,
        payload: dict[str, Any],
        headers: Sequence[tuple[str, str]] = (),
        note: str | None = None,
    ) -> None:
        """Status line, headers and body in one write (see the module docstring)."""
        data = json.dumps(payload).encode()
        lines = [
            f"HTTP/1.1 {status} {phrase(status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # Logged before the write, so the line exists once the client has its answer.
        self._note(status, note or str(payload.get("error") or payload.get("message")))
        try:
            self.wfile.write(head if self.command == "HEAD" else head + data)
        except OSError:
            self.close_connection = True

    def _reply_empty(self, status: int) -> None:
        """A status with no body (204), in one write."""
        lines = [
            f"HTTP/1.1 {status} {phrase(status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        self._note(status, "hung up")
        try:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        except OSError:
            self.close_connection = True

    def _note(self, status: int | None, note: str) -> None:
        host, port = self.client_address[:2]
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        path = getattr(self, "path", "-")
        self.box.log(f"{host}:{port}", self.command or "-", path, status, note, elapsed_ms)
