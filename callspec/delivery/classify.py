"""What an attempt means for the call: the classification that keeps a phone from ringing twice.

An attempt either certainly did not place the call (no byte of the request
was written: connection refused, DNS, TLS handshake; or 429 and 503: safe to
retry), or certainly did (2xx), or certainly failed (4xx), or *may* have
placed it (anything after the first byte was written: a read timeout, a
dropped connection, a TLS error while reading, 500/502/504): ``unknown``,
never resent automatically.  Pure: it reads what the network layer observed
(:class:`callspec.net.exchange.Reply`: status, body and headers, or a
:class:`~callspec.net.reasons.Reason` with whether any byte may have reached the API).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from callspec.results import Attempt, ErrorKind
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.net.reasons import Reason

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


def transport_failure(
    reason: Reason,
    started: str,
    elapsed: float,
    read_timeout: float,
    redact: Callable[[str], str] = same_text,
) -> AttemptResult:
    """What an attempt that got no (whole) HTTP answer means, from the network's reason.

    Nothing was sent only when the request's first byte was never handed to the socket
    (``reason.maybe_sent`` is False: it failed while being built or while connecting:
    refused, DNS, a proxy, the TLS handshake or certificate check).  Of those, a
    connection that was refused or timed out is retried; a TLS refusal, or a URL or
    proxy that cannot be used, will fail again: not retried.
    """
    words = outside(reason.words, redact)
    kind: ErrorKind
    if reason.kind == "build":
        text = f"the request could not be built, nothing was sent: {words}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="build")
        return AttemptResult(attempt, "failed", error=text)
    if reason.maybe_sent:
        if reason.kind == "deadline":
            kind, text = "timeout", words
        elif reason.kind == "timeout":
            kind, text = "timeout", f"no answer within the read timeout of {read_timeout:g} s"
        elif reason.kind == "tls":
            kind, text = "connection", f"TLS error after the request was sent ({words})"
        elif reason.kind == "internal":  # not the network's: whether it left is unknown
            kind, text = "internal", words
        else:
            kind, text = "connection", f"connection lost after the request was sent ({words})"
        text += "; the call may have been placed"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=True, error_kind=kind)
        return AttemptResult(attempt, "unknown", error=text)
    if reason.kind == "tls":
        # A certificate or handshake refused now will be refused again: not retried.
        text = f"TLS error before the request was sent: {words}"
        attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="tls")
        return AttemptResult(attempt, "failed", error=text)
    text = f"connection failed before the request was sent: {words}"
    attempt = Attempt(started, elapsed, None, text, maybe_sent=False, error_kind="connect")
    if reason.kind in ("invalid", "internal"):
        # A proxy URL that cannot be parsed, SOCKS support missing: retrying will not help.
        return AttemptResult(attempt, "failed", error=text)
    return AttemptResult(attempt, "retry", error=text)


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
    said = payload.get("message")
    message = None if said is None else outside(said, redact)
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
        queued = said in ("call queued", "async api spawned")
        return result("queued" if queued else "fired", None, True)
    # The API's own words, masked whole, then cut, then escaped (a token cut in two by
    # the shortening would show its first half).
    said_text = error or said or content.decode("utf-8", "replace").strip()
    text = outside(said_text, redact) if said_text else f"HTTP {status}"
    if status in RETRY_STATUSES:
        return result("retry", text, False)
    if status >= 500:
        return result("unknown", f"{text}; the call may have been placed", True)
    if 300 <= status < 400:
        where = outside(headers.get("Location", "?"), redact) if headers else "?"
        return result("failed", f"unexpected redirect to {where}", False)
    return result("failed", text, False, prefixed=False)


def _uuid_of(value: Any) -> str | list[str] | None:
    """A 201's request_uuid as text (a string, or a list of them for a bulk call): a
    misbehaving API's number or object is kept as text (never followed: not UUID-shaped)."""
    if value is None or value == "" or isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    return json.dumps(value)
