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

import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Literal

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from callspec.delivery.classify import AttemptResult, classify, same_text, transport_failure
from callspec.delivery.credentials import Credentials
from callspec.delivery.request import Request, Timeouts
from callspec.results import Attempt, now_iso

__all__ = ["Timeouts", "new_session", "proxies_for", "send_once"]


def new_session(environ: Mapping[str, str]) -> requests.Session:
    """A keep-alive session that never retries on its own.

    The environment's proxy and CA-bundle settings are read once here, as
    requests would read them on every request (a scan of the whole
    environment per call, a third of the client's time at high rates).
    """
    env = environ
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


def proxies_for(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy for ``url`` from ``environ`` as curl and requests pick it: ``https_proxy``
    (or ``http_proxy``, by scheme), else ``all_proxy``; none for a host ``no_proxy``
    names (``*``, a host, or a domain and its subdomains; CIDR ranges are not matched).

    Read from the environment passed in: requests would scan ``os.environ`` itself on
    every request (a third of the client's time at high rates), and its ``no_proxy``
    check rewrites ``os.environ`` while other workers read it.
    """
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()

    def get(name: str) -> str:
        return environ.get(name) or environ.get(name.upper()) or ""

    for entry in get("no_proxy").replace(" ", ",").split(","):
        entry = entry.strip().lower().lstrip(".")
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return {}
    proxy = get(f"{parts.scheme}_proxy") or get("all_proxy")
    return {parts.scheme: proxy} if proxy else {}


def send_once(
    session: requests.Session,
    request: Request,
    creds: Credentials,
    timeouts: Timeouts,
    redact: Callable[[str], str] = same_text,
    proxies: Mapping[str, str] | None = None,
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
        prepared = _prepare(session, request, creds)
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
            proxies=dict(proxies or {}),
            timeout=(timeouts.connect, timeouts.read),
            allow_redirects=False,
            stream=True,
        )
        with response:
            content = read_within(response, deadline)
    except TooSlow:
        elapsed = (time.perf_counter() - t0) * 1000
        text = (
            f"the answer did not complete within {timeouts.connect + timeouts.read:g} s; "
            "the call may have been placed"
        )
        attempt = Attempt(started, elapsed, None, text, True, error_kind="timeout")
        return AttemptResult(attempt, "unknown", error=text)
    except Exception as e:
        elapsed = (time.perf_counter() - t0) * 1000
        return transport_failure(e, _wire.stage, started, elapsed, timeouts.read)
    elapsed = (time.perf_counter() - t0) * 1000
    return classify(response.status_code, content, response.headers, started, elapsed, redact)


#: Per session: the request prepared once per (URL, credentials), with an empty body.
_TEMPLATES: weakref.WeakKeyDictionary[requests.Session, dict[tuple[str, str, str], Any]] = (
    weakref.WeakKeyDictionary()
)


def _prepare(
    session: requests.Session, request: Request, creds: Credentials
) -> requests.PreparedRequest:
    """``session.prepare_request`` for ``request``, its work done once per session.

    What requests prepares (the URL parsed and quoted, the session's headers merged
    with the request's, basic auth encoded, hooks) is the same for every call to one
    endpoint with one account: it is prepared once and copied, and only the body and
    its length are set per call (a fifth of the client's time per call before).  While
    the session holds cookies a server set, every request is prepared in full, so they
    go out as requests would send them.
    """
    body = request.body_bytes()
    if session.cookies:
        return session.prepare_request(_plain_request(request, creds, body))
    templates = _TEMPLATES.setdefault(session, {})
    key = (request.url, creds.auth_id, creds.auth_token)
    template = templates.get(key)
    if template is None:
        template = session.prepare_request(_plain_request(request, creds, b""))
        templates[key] = template
    prepared: requests.PreparedRequest = template.copy()
    prepared.body = body
    prepared.headers["Content-Length"] = str(len(body))
    return prepared


def _plain_request(request: Request, creds: Credentials, body: bytes) -> requests.Request:
    return requests.Request(
        "POST",
        request.url,
        data=body,
        headers=request.headers,
        auth=(creds.auth_id, creds.auth_token),
    )


class TooSlow(Exception):
    """The answer did not complete before the attempt's deadline."""


MAX_ANSWER_BYTES = 1 << 20


def read_within(response: requests.Response, deadline: float) -> bytes:
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
                raise TooSlow
            chunk = read1(16384, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if time.perf_counter() > deadline:
        raise TooSlow
    return b"".join(chunks)
