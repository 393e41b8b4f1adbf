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
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import requests
import urllib3.exceptions

from callspec.request import Credentials, Request
from callspec.results import Attempt

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
    adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@functools.lru_cache(maxsize=64)
def _proxies(url: str) -> dict[str, str]:
    """Proxies from the environment for ``url`` (honouring no_proxy), looked up once."""
    return dict(requests.utils.get_environ_proxies(url))


def send_once(
    session: requests.Session, request: Request, creds: Credentials, timeouts: Timeouts
) -> AttemptResult:
    """POST ``request`` once and classify the answer; never raises."""
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
        attempt = Attempt(started, 0.0, None, text, maybe_sent=False)
        return AttemptResult(attempt, "failed", error=text)
    # requests' read timeout bounds each read, not the answer: a server trickling
    # a byte a second would hold the call forever.  The whole answer must come
    # within the connect and read timeouts together.
    deadline = t0 + timeouts.connect + timeouts.read
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
        return AttemptResult(Attempt(started, elapsed, None, text, True), "unknown", error=text)
    except requests.RequestException as e:
        elapsed = (time.perf_counter() - t0) * 1000
        return _transport_failure(e, started, elapsed, timeouts)
    except Exception as e:  # not requests' own: whether it left is unknown
        elapsed = (time.perf_counter() - t0) * 1000
        text = f"{type(e).__name__}: {e}; the call may have been placed"
        return AttemptResult(Attempt(started, elapsed, None, text, True), "unknown", error=text)
    elapsed = (time.perf_counter() - t0) * 1000
    return classify(response.status_code, content, response.headers, started, elapsed)


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


def _transport_failure(
    e: requests.RequestException, started: str, elapsed: float, timeouts: Timeouts
) -> AttemptResult:
    if _not_sent(e):
        text = f"connection failed before the request was sent: {_short(e)}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False)
        return AttemptResult(attempt, "retry", error=text)
    if isinstance(e, requests.exceptions.SSLError):
        text = f"TLS error before the request was sent: {_short(e)}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False)
        return AttemptResult(attempt, "failed", error=text)
    if isinstance(e, requests.exceptions.ReadTimeout):
        text = f"no answer within the read timeout of {timeouts.read:g} s"
    else:
        text = f"connection lost after the request was sent ({_short(e)})"
    text += "; the call may have been placed"
    return AttemptResult(
        Attempt(started, elapsed, None, text, maybe_sent=True), "unknown", error=text
    )


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
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify(
    status: int, content: bytes, headers: Any, started: str, elapsed: float
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
    text = error or message or _snippet(content) or f"HTTP {status}"
    if status in RETRY_STATUSES:
        return result("retry", f"HTTP {status}: {text}", False)
    if status >= 500:
        note = "; the call may have been placed"
        return result("unknown", f"HTTP {status}: {text}{note}", True)
    if 300 <= status < 400:
        where = headers.get("Location", "?") if headers else "?"
        return result("failed", f"HTTP {status}: unexpected redirect to {where}", False)
    return result("failed", text, False)


def _snippet(content: bytes) -> str:
    text = content[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split())
