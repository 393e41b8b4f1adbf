"""What an attempt means for the call: the classification that keeps a phone from ringing twice.

An attempt either certainly did not place the call (no byte of the request
was written: connection refused, DNS, TLS handshake; or 429 and 503: safe to
retry), or certainly did (2xx), or certainly failed (4xx), or *may* have
placed it (anything after the first byte was written: a read timeout, a
dropped connection, a TLS error while reading, 500/502/504): ``unknown``,
never resent automatically.  Pure: it reads what :mod:`~callspec.delivery.http`
observed (status, body, headers, the exception and how far the attempt got).
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from callspec.results import Attempt, ErrorKind

Verdict = Literal["fired", "queued", "failed", "unknown", "retry"]


RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class AttemptResult:
    """One attempt and what it means for the call."""

    attempt: Attempt
    verdict: Verdict
    request_uuid: str | list[str] | None = None
    api_id: str | None = None
    message: str | None = None
    error: str | None = None


def same_text(text: str) -> str:
    """No masking: the default ``redact``."""
    return text


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


def transport_failure(
    e: BaseException, stage: str, started: str, elapsed: float, read_timeout: float
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
            text = f"no answer within the read timeout of {read_timeout:g} s"
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
    redact: Callable[[str], str] = same_text,
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
    uuid = _uuid_of(payload.get("request_uuid"))
    retry_after = retry_after_seconds(headers.get("Retry-After")) if headers else None

    def result(
        verdict: Verdict, detail: str | None, maybe_sent: bool, prefixed: bool = True
    ) -> AttemptResult:
        # The call's error names the status, but a 4xx's reads as the API wrote it.
        err = f"HTTP {status}: {detail}" if detail is not None and prefixed else detail
        attempt = Attempt(started, elapsed, status, err, maybe_sent, retry_after, detail=detail)
        return AttemptResult(attempt, verdict, uuid, api_id, message, err)

    if 200 <= status < 300:
        queued = message in ("call queued", "async api spawned")
        return result("queued" if queued else "fired", None, True)
    text = error or message or _snippet(content, redact) or f"HTTP {status}"
    if status in RETRY_STATUSES:
        return result("retry", text, False)
    if status >= 500:
        return result("unknown", f"{text}; the call may have been placed", True)
    if 300 <= status < 400:
        where = headers.get("Location", "?") if headers else "?"
        return result("failed", f"unexpected redirect to {where}", False)
    return result("failed", text, False, prefixed=False)


SNIPPET_CHARS = 200


def _snippet(content: bytes, redact: Callable[[str], str]) -> str:
    """A non-JSON answer in one short line: masked whole first, then shortened."""
    text = " ".join(redact(content.decode("utf-8", "replace")).split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS] + f"… ({len(text):,} characters)"


def _uuid_of(value: Any) -> str | list[str] | None:
    """A 201's request_uuid as text (a string, or a list of them for a bulk call): a
    misbehaving API's number or object is kept as text (never followed: not UUID-shaped)."""
    if value is None or value == "" or isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    return json.dumps(value)
