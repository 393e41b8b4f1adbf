"""Sending one request and deciding what its answer means.

This module is the only one that touches the network.  It owns one HTTP
attempt (a ``requests.Session`` per worker, basic auth, explicit connect and
read timeouts, no redirects, no hidden retries) and the classification that
keeps a phone from ringing twice: an attempt either certainly did not place
the call (connection refused, 429, 503: safe to retry), or certainly did
(2xx), or certainly failed (4xx), or *may* have placed it (a read timeout, a
connection dropped after the request was written, 500/502/504): ``unknown``,
never resent automatically.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from callspec.delivery.request import Credentials, Request
from callspec.results import Attempt, ErrorKind

Verdict = Literal["fired", "queued", "failed", "unknown", "retry"]
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Timeouts:
    """Connect and read timeouts in seconds (requests' tuple form)."""

    connect: float = 5.0
    read: float = 10.0


@dataclass(frozen=True)
class AttemptResult:
    """One attempt and what it means for the call."""

    attempt: Attempt
    verdict: Verdict
    request_uuid: str | list[str] | None = None
    api_id: str | None = None
    message: str | None = None
    error: str | None = None


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session(environ: Mapping[str, str] | None = None) -> requests.Session:
    """A keep-alive session that never retries on its own.

    The environment's proxy and CA-bundle settings are read once here, as
    requests would read them on every request (a scan of the whole
    environment per call, a third of the client's time at high rates).
    """
    env = os.environ if environ is None else environ
    session = requests.Session()
    session.trust_env = False
    session.verify = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    # urllib3 must not retry on its own: a retried POST could ring a phone twice.
    adapter = _WatchedAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Wire(threading.local):
    """How far the current thread's attempt got: the one fact that proves "not sent".

    ``idle`` until a watched connection is used; ``connecting`` while it
    connects (TCP, a proxy tunnel, the TLS handshake and certificate check);
    ``writing`` from the moment the request's first byte is handed to the
    socket.  An error before ``writing`` surely sent nothing; any error after
    it may follow a placed call, whatever its type (urllib3 raises an SSLError
    as readily for a garbled record after the POST as for a failed handshake).
    """

    stage: Literal["idle", "connecting", "writing"] = "idle"


_wire = _Wire()


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        _wire.stage = "connecting"
        super().connect()

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        if self.sock is None:  # http.client would connect inside its first send()
            self.connect()
        _wire.stage = "writing"
        super().endheaders(message_body, encode_chunked=encode_chunked)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        _wire.stage = "connecting"
        super().connect()

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        if self.sock is None:
            self.connect()
        _wire.stage = "writing"
        super().endheaders(message_body, encode_chunked=encode_chunked)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that report how far each attempt got."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own; unwatched
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


@functools.lru_cache(maxsize=64)
def _proxies(url: str) -> dict[str, str]:
    """Proxies from the environment for ``url`` (honouring no_proxy), looked up once."""
    return dict(requests.utils.get_environ_proxies(url))


def _same(text: str) -> str:
    return text


def send_once(
    session: requests.Session,
    request: Request,
    creds: Credentials,
    timeouts: Timeouts,
    redact: Callable[[str], str] = _same,
) -> AttemptResult:
    """POST ``request`` once and classify the answer; never raises.

    ``redact`` masks secrets in a server's text before it is shortened for a
    message (a token cut in half by the shortening would leak its first half).
    """
    started = now_iso()
    t0 = time.perf_counter()
    try:
        # Built apart from sending: whatever fails here (a malformed URL, credentials
        # that basic auth cannot carry) surely sent nothing.
        prepared = session.prepare_request(
            requests.Request(
                "POST",
                request.url,
                data=request.body_bytes(),
                headers=request.headers,
                auth=(creds.auth_id, creds.auth_token),
            )
        )
    except Exception as e:
        text = f"the request could not be built, nothing was sent: {type(e).__name__}: {e}"
        attempt = Attempt(started, 0.0, None, text, maybe_sent=False, error_kind="build")
        return AttemptResult(attempt, "failed", error=text)
    # requests' read timeout bounds each read, not the answer: a server trickling
    # a byte a second would hold the call forever.  The whole answer must come
    # within the connect and read timeouts together.
    deadline = t0 + timeouts.connect + timeouts.read
    _wire.stage = "idle"
    try:
        response = session.send(
            prepared,
            proxies=_proxies(request.url),
            timeout=(timeouts.connect, timeouts.read),
            allow_redirects=False,
            stream=True,
        )
        with response:
            content = _read_within(response, deadline)
    except _TooSlow:
        elapsed = (time.perf_counter() - t0) * 1000
        text = (
            f"the answer did not complete within {timeouts.connect + timeouts.read:g} s; "
            "the call may have been placed"
        )
        attempt = Attempt(started, elapsed, None, text, True, error_kind="timeout")
        return AttemptResult(attempt, "unknown", error=text)
    except Exception as e:
        elapsed = (time.perf_counter() - t0) * 1000
        return _transport_failure(e, _wire.stage, started, elapsed, timeouts)
    elapsed = (time.perf_counter() - t0) * 1000
    return classify(response.status_code, content, response.headers, started, elapsed, redact)


class _TooSlow(Exception):
    """The answer did not complete before the attempt's deadline."""


MAX_ANSWER_BYTES = 1 << 20


def _read_within(response: requests.Response, deadline: float) -> bytes:
    """The answer's body, read before ``deadline`` (and at most 1 MiB of it).

    ``read1`` returns what has arrived (one recv), so the deadline is checked
    between reads even when a server sends a byte at a time.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # pragma: no cover - urllib3 < 2
        chunks = list(response.iter_content(chunk_size=1024))
    else:
        chunks = []
        size = 0
        while size <= MAX_ANSWER_BYTES:
            if time.perf_counter() > deadline:
                raise _TooSlow
            chunk = read1(16384, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if time.perf_counter() > deadline:
        raise _TooSlow
    return b"".join(chunks)


def _not_sent(e: BaseException) -> bool:
    """True when the error proves the request never left: no connection was made."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [e]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(
            err,
            urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.ConnectTimeoutError
            | urllib3.exceptions.NameResolutionError
            | requests.exceptions.ConnectTimeout
            | requests.exceptions.InvalidURL
            | requests.exceptions.InvalidSchema
            | requests.exceptions.MissingSchema,
        ):
            return True
        if isinstance(err, urllib3.exceptions.MaxRetryError):
            stack.append(err.reason)
        stack.extend(a for a in err.args if isinstance(a, BaseException))
        stack.extend((err.__cause__, err.__context__))
    return False


_CONFIGURATION_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidProxyURL,
)


def _transport_failure(
    e: BaseException, stage: str, started: str, elapsed: float, timeouts: Timeouts
) -> AttemptResult:
    """What an attempt that got no HTTP answer means, from how far it got on the wire.

    Nothing was sent only when the request's first byte was never handed to the
    socket: the error came while connecting (refused, DNS, a proxy, the TLS
    handshake or certificate check).  On a connection callspec could not watch
    (``idle``: a SOCKS proxy), only errors that prove no connection was made count.
    """
    sure = stage == "connecting" or (stage == "idle" and _not_sent(e))
    if not sure:
        if isinstance(e, requests.exceptions.ReadTimeout):
            kind: ErrorKind = "timeout"
            text = f"no answer within the read timeout of {timeouts.read:g} s"
        elif isinstance(e, requests.exceptions.SSLError):
            kind, text = "connection", f"TLS error after the request was sent ({_short(e)})"
        elif isinstance(e, requests.RequestException):
            kind, text = "connection", f"connection lost after the request was sent ({_short(e)})"
        else:  # not requests' own: whether it left is unknown
            kind, text = "internal", f"{type(e).__name__}: {e}"
        text += "; the call may have been placed"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=True, error_kind=kind)
        return AttemptResult(attempt, "unknown", error=text)
    if isinstance(e, requests.exceptions.SSLError):
        # A certificate or handshake refused now will be refused again: not retried.
        text = f"TLS error before the request was sent: {_short(e)}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="tls")
        return AttemptResult(attempt, "failed", error=text)
    if isinstance(e, _CONFIGURATION_ERRORS) or not isinstance(e, requests.RequestException):
        # A proxy URL that cannot be parsed, SOCKS support missing: retrying will not help.
        text = f"connection failed before the request was sent: {type(e).__name__}: {e}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="connect")
        return AttemptResult(attempt, "failed", error=text)
    text = f"connection failed before the request was sent: {_short(e)}"
    attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="connect")
    return AttemptResult(attempt, "retry", error=text)


def _short(e: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 error, without object addresses."""
    reason: BaseException = e
    while True:
        inner = next((a for a in reason.args if isinstance(a, BaseException)), None)
        if isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
            inner = reason.reason
        if inner is None:
            break
        reason = inner
    # urllib3's connect timeout is (connection, message): its str() shows the tuple,
    # with the connection's repr and address; the message alone says it all.
    texts = [a for a in reason.args if isinstance(a, str)]
    text = " ".join(texts) if texts and len(texts) < len(reason.args) else str(reason)
    text = _OBJECT_REPR.sub("", text).strip()
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


# "<urllib3.connection.HTTPConnection object at 0x7f...>: " (urllib3 1.x), "<X(...) at 0x...>"
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>(?::\s*|,\s*)?")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "1e999" and "nan" are no waits: the report must stay strict JSON
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify(
    status: int,
    content: bytes,
    headers: Any,
    started: str,
    elapsed: float,
    redact: Callable[[str], str] = _same,
) -> AttemptResult:
    """What an HTTP answer means for the call."""
    try:
        payload = json.loads(content) if content else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    message = payload.get("message")
    api_id = payload.get("api_id")
    error = payload.get("error")
    if error is not None and not isinstance(error, str):
        error = json.dumps(error)
    uuid = payload.get("request_uuid")
    retry_after = retry_after_seconds(headers.get("Retry-After")) if headers else None

    def result(verdict: Verdict, err: str | None, maybe_sent: bool) -> AttemptResult:
        attempt = Attempt(started, elapsed, status, err, maybe_sent, retry_after)
        return AttemptResult(attempt, verdict, uuid, api_id, message, err)

    if 200 <= status < 300:
        queued = message in ("call queued", "async api spawned")
        return result("queued" if queued else "fired", None, True)
    text = error or message or _snippet(content, redact) or f"HTTP {status}"
    if status in RETRY_STATUSES:
        return result("retry", f"HTTP {status}: {text}", False)
    if status >= 500:
        note = "; the call may have been placed"
        return result("unknown", f"HTTP {status}: {text}{note}", True)
    if 300 <= status < 400:
        where = headers.get("Location", "?") if headers else "?"
        return result("failed", f"HTTP {status}: unexpected redirect to {where}", False)
    return result("failed", text, False)


SNIPPET_CHARS = 200


def _snippet(content: bytes, redact: Callable[[str], str]) -> str:
    """A non-JSON answer in one short line: masked whole first, then shortened."""
    text = " ".join(redact(content.decode("utf-8", "replace")).split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS] + f"… ({len(text):,} characters)"
