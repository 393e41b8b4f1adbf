"""One HTTP exchange: a request, its answer's status, headers and bounded body, or a reason.

:func:`exchange` is the single request to the API that sending (``POST``), ``--wait``
reads (``GET``) and hangups or cancels (``DELETE``) make: basic auth, explicit
connect and read timeouts, the whole exchange within their sum (one
:class:`~callspec.net.deadline.Deadline`: a server trickling its headers or body cannot
hold it), at most :data:`MAX_ANSWER_BYTES` of the body read, no redirect followed and
no hidden retry.  :func:`send_prepared` is the step :mod:`callspec.net.fetch` repeats
for each redirect under one deadline.  Nothing here raises: a failure is a
:class:`Reply` with a :class:`~callspec.net.reasons.Reason`.  Texts are raw: what the
server said, and the exception's words, unmasked and uncut (the consumer applies
:func:`callspec.text.outside` with its redactor).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import requests
from requests.cookies import extract_cookies_to_jar

from callspec.net import wire
from callspec.net.deadline import Deadline
from callspec.net.session import Client

if TYPE_CHECKING:  # loaded when a request fails: the happy path never needs it
    from callspec.net.reasons import Reason

#: The most of an answer's body that is read (the rest is not waited for).
MAX_ANSWER_BYTES = 1 << 20
_CHUNK = 65536
#: Prepared requests a client keeps (sends use one per account; reads one per call, so
#: the oldest are dropped).
MAX_TEMPLATES = 16
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class Reply(NamedTuple):
    """What one exchange got: an HTTP answer, or why there was none (``reason``).

    ``status`` is set once the answer's head arrived, even when its body then did not
    (``reason`` says why): "no answer" and "no whole body" read differently.  A named
    tuple, immutable as a frozen dataclass is: this module loads on the way to a call's
    POST, where making a frozen dataclass's class alone costs most of a millisecond.
    """

    elapsed_ms: float
    status: int | None = None
    headers: Mapping[str, str] = _NO_HEADERS
    body: bytes = b""
    #: The body was longer than the cap: ``body`` holds its first bytes only.
    over: bool = False
    reason: Reason | None = None


def exchange(
    client: Client,
    method: str,
    url: str,
    *,
    timeouts: tuple[float, float],
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
    total: float | None = None,
) -> Reply:
    """``method`` ``url`` once, within ``timeouts`` (connect, read) and ``total`` seconds
    for the whole exchange (default: their sum); never raises."""
    t0 = time.perf_counter()
    try:
        # Built apart from sending: whatever fails here (a malformed URL, credentials
        # that basic auth cannot carry) surely sent nothing.
        prepared, proxies = _prepare(client, method, url, auth, headers or {}, body)
    except Exception as e:
        from callspec.net.reasons import Reason

        reason = Reason("build", f"{type(e).__name__}: {e}", maybe_sent=False)
        return Reply((time.perf_counter() - t0) * 1000, reason=reason)
    with Deadline(timeouts[0] + timeouts[1] if total is None else total) as deadline:
        return send_prepared(client, prepared, proxies, deadline, timeouts, max_bytes, t0)


def send_prepared(
    client: Client,
    prepared: requests.PreparedRequest,
    proxies: dict[str, str],
    deadline: Deadline,
    timeouts: tuple[float, float],
    max_bytes: int,
    t0: float,
) -> Reply:
    """Send ``prepared`` under ``deadline`` (entered by the caller) and read its answer."""
    wire.reset()
    response = None
    answered = False
    try:
        session = client.session
        # The adapter's send, not the session's: the session would only add redirects
        # (never followed here), hooks (none), and a cookie jar update that parses every
        # answer's headers for a cookie (a twentieth of the client's time per call).
        response = session.get_adapter(prepared.url or "").send(
            prepared,
            stream=True,
            timeout=timeouts,
            verify=client.verify,
            cert=session.cert,
            proxies=proxies,
        )
        if "Set-Cookie" in response.raw.headers:  # kept as requests' session keeps it
            extract_cookies_to_jar(session.cookies, prepared, response.raw)  # type: ignore[no-untyped-call]
        # Cut while the head was read, http.client takes the end of input for the end of
        # the headers: no answer came, whatever status it parsed.
        answered = not deadline.cut
        with response:
            data, over = read_body(response, max_bytes)
    except Exception as e:
        from callspec.net.reasons import reason_of

        cut = deadline.seconds if deadline.cut else None
        elapsed = (time.perf_counter() - t0) * 1000
        reason = reason_of(e, wire.stage(), cut)
        if response is None or not answered:
            return Reply(elapsed, reason=reason)
        return Reply(elapsed, response.status_code, response.headers, reason=reason)
    elapsed = (time.perf_counter() - t0) * 1000
    if deadline.cut:  # the socket was shut under the answer: what came may be cut short
        from callspec.net.reasons import deadline_passed

        reason = deadline_passed(deadline.seconds, maybe_sent=True)
        if not answered:
            return Reply(elapsed, reason=reason)
        return Reply(elapsed, response.status_code, response.headers, reason=reason)
    return Reply(elapsed, response.status_code, response.headers, data, over)


def read_body(response: requests.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The body of ``response`` (made with ``stream=True``): at most ``max_bytes`` of it,
    and whether there was more.  The deadline ends a body that trickles or never ends."""
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read  # read1: what has arrived, one recv
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = read(_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True


def _prepare(
    client: Client,
    method: str,
    url: str,
    auth: tuple[str, str] | None,
    headers: Mapping[str, str],
    body: bytes | None,
) -> tuple[requests.PreparedRequest, dict[str, str]]:
    """``session.prepare_request`` for the request, and its proxies: their work done once
    per client.

    What requests prepares (the URL parsed and quoted, the session's headers merged
    with the request's, basic auth encoded, hooks) is the same for every request to one
    endpoint with one account: it is prepared once and copied, and only the body and
    its length are set per request (a fifth of the client's time per call before).
    While the session holds cookies a server set, every request is prepared in full,
    so they go out as requests would send them.
    """
    session = client.session
    key = (method, url, auth, tuple(headers.items()), body is None)
    kept: Any = client.prepared.get(key)
    if kept is None:
        empty = None if body is None else b""
        template = session.prepare_request(_request(method, url, auth, headers, empty))
        if len(client.prepared) >= MAX_TEMPLATES:
            del client.prepared[next(iter(client.prepared))]
        kept = client.prepared[key] = (template, client.proxies(url))
    template, proxies = kept
    if session.cookies:
        return session.prepare_request(_request(method, url, auth, headers, body)), proxies
    prepared: requests.PreparedRequest = template.copy()
    if body is not None:
        prepared.body = body
        prepared.headers["Content-Length"] = str(len(body))
    return prepared, proxies


def _request(
    method: str,
    url: str,
    auth: tuple[str, str] | None,
    headers: Mapping[str, str],
    body: bytes | None,
) -> requests.Request:
    return requests.Request(method, url, data=body, headers=dict(headers), auth=auth)
