"""Requesting a URL as Plivo would: ``callspec check`` and the sandbox's simulated callbacks.

One :func:`fetch` sends Plivo's parameters (in the query string for ``GET``, a form
body otherwise) with the caller's headers and, when given the auth token, Plivo's
signature headers (:mod:`callspec.net.signature`, computed for each URL requested);
follows at most ``max_redirects`` HTTP redirects (``301``/``302``/``303`` become a
``GET``; a loop, or a ``Location`` that is no http(s) URL, is named); keeps the whole
exchange, every redirect included, within one deadline; and reads at most
``max_bytes`` of the body.  What comes back is a :class:`Fetched`, never an exception;
its ``error`` carries raw outside text (a ``Location``, an exception's words): the
consumer masks, cuts and escapes it (:func:`callspec.text.outside`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from callspec.net.deadline import Deadline
from callspec.net.exchange import send_prepared
from callspec.net.reasons import Reason, deadline_passed
from callspec.net.session import Client
from callspec.net.signature import signature_headers

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Fetched:
    """What requesting a URL got: the final answer, or why there was none."""

    #: The URL requested (without its fragment, which is never sent).
    url: str
    method: str
    status: int | None = None
    content_type: str | None = None
    body: bytes = b""
    elapsed_ms: float = 0.0
    #: The URLs of the HTTP redirects followed, in order.
    hops: tuple[str, ...] = ()
    #: The method of the last request (a 301, 302 or 303 turns a POST into a GET).
    final_method: str = ""
    #: Why there is no usable answer (unreachable, timeout, redirect loop, too large);
    #: raw text from outside.  None when an answer came whole, whatever its status.
    error: str | None = None
    #: The network's reason, when the error is one (None for a redirect or size error).
    reason: Reason | None = None

    @property
    def final_url(self) -> str:
        """The URL whose answer this is (the last redirect's target)."""
        return self.hops[-1] if self.hops else self.url

    @property
    def ok(self) -> bool:
        """An answer came whole, with a 2xx status."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def problem(self) -> str | None:
        """Why this is no success: the error, or the status that is not 2xx."""
        if self.error is not None or self.ok:
            return self.error
        return f"HTTP {self.status}"


def redirect_target(current: str, location: str) -> str | None:
    """Where a redirect from ``current`` with this ``Location`` goes: an absolute http(s)
    URL, or None when ``location`` is not one (``http://[::1/x``, ``ftp://...``)."""
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return target


def fetch(
    url: str,
    method: str,
    params: Mapping[str, str],
    *,
    environ: Mapping[str, str],
    timeout: float,
    connect_timeout: float | None = None,
    max_bytes: int,
    max_redirects: int,
    headers: Mapping[str, str],
    sign_with: str | None = None,
    cap_name: str = "the size cap",
) -> Fetched:
    """Request ``url`` with ``method`` and Plivo's ``params``: the whole exchange within
    ``timeout`` seconds (each connect within ``connect_timeout`` too), the body within
    ``max_bytes`` (``cap_name`` names that cap in the error); signed with the auth token
    ``sign_with`` when given.  ``environ`` gives the proxy and CA settings (never
    credentials: :mod:`callspec.net.session`)."""
    t0 = time.perf_counter()
    asked = method.upper()
    start = current = urlunsplit(urlsplit(url)._replace(fragment=""))  # never sent; not signed
    verb = asked
    hops: list[str] = []

    def done(
        status: int | None = None,
        content_type: str | None = None,
        body: bytes = b"",
        error: str | None = None,
        reason: Reason | None = None,
    ) -> Fetched:
        elapsed = (time.perf_counter() - t0) * 1000
        return Fetched(
            start, asked, status, content_type, body, elapsed, tuple(hops), verb, error, reason
        )

    with Client(environ, pool_size=1) as client, Deadline(timeout) as deadline:
        while True:
            left = deadline.left()
            if left <= 0:  # the redirects took it all
                reason = deadline_passed(timeout, maybe_sent=True)
                return done(error=f"no answer within {timeout:g} s", reason=reason)
            sent = dict(headers)
            if sign_with is not None:
                sent.update(signature_headers(current, verb, params, sign_with))
            try:
                prepared = client.session.prepare_request(
                    requests.Request(
                        verb,
                        current,
                        params=dict(params) if verb == "GET" else None,
                        data=dict(params) if verb != "GET" else None,
                        headers=sent,
                    )
                )
            except Exception as e:  # a URL requests cannot build a request for
                reason = Reason("build", f"{type(e).__name__}: {e}", maybe_sent=False)
                return done(error=f"cannot request it: {reason.words}", reason=reason)
            connect = min(left, connect_timeout) if connect_timeout else left
            proxies = client.proxies(current)
            timeouts = (connect, left)
            reply = send_prepared(client, prepared, proxies, deadline, timeouts, max_bytes, t0)
            status = reply.status
            content_type = reply.headers.get("Content-Type") if status is not None else None
            if reply.reason is not None:
                short_connect = connect < left and not reply.reason.maybe_sent
                error = _describe(reply.reason, status is not None, timeout, short_connect)
                return done(
                    status=status, content_type=content_type, error=error, reason=reply.reason
                )
            assert status is not None
            location = reply.headers.get("Location")
            if status in _REDIRECTS and location is not None:
                target = redirect_target(current, location)
                if target is None:
                    return done(
                        status=status, error=f"HTTP redirect to an invalid URL: {location!r}"
                    )
                if target == start or target in hops:
                    chain = " -> ".join([start, *hops, target])
                    return done(status=status, error=f"HTTP redirect loop: {chain}")
                if len(hops) >= max_redirects:
                    return done(status=status, error=f"more than {max_redirects} HTTP redirects")
                hops.append(target)
                current = target
                # Each hop on a connection of its own: a server that closes after its answer
                # (without saying so) would reset a kept-alive one under the next request.
                client.close()
                if status not in (307, 308):
                    verb = "GET"
                continue
            if reply.over:
                error = f"the body is over {cap_name} ({max_bytes:,} bytes)"
                return done(status=status, content_type=content_type, error=error)
            return done(status=status, content_type=content_type, body=reply.body)


def _describe(reason: Reason, answered: bool, timeout: float, short_connect: bool) -> str:
    """The error of a fetch that got no whole answer (``answered``: its head came;
    ``short_connect``: connecting had less time than the whole exchange)."""
    if reason.kind == "timeout" and short_connect:
        return f"unreachable: {reason.words}"
    if reason.kind in ("deadline", "timeout"):
        return (
            f"the body did not arrive within {timeout:g} s"
            if answered
            else f"no answer within {timeout:g} s"
        )
    if answered:
        return f"the body did not arrive: {reason.words}"
    if reason.kind == "tls":
        return f"TLS error: {reason.words}"
    if reason.kind == "connect":
        return f"unreachable: {reason.words}"
    if reason.kind == "connection":
        return f"no valid answer: {reason.words}"
    return f"cannot request it: {reason.words}"
