"""One check request: a URL requested as Plivo would, within a time and size budget.

Owns the wire: the method (GET puts the parameters in the query string, POST in a
form body), the ``X-Callspec-Check: 1`` header, following at most a few HTTP
redirects (a loop is named), one deadline for connecting, the answer and its body
together, and the size cap.  What comes back is a :class:`Fetched`, never an exception.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from callspec import defaults
from callspec.check.deadline import Deadline

CHECK_HEADER = "X-Callspec-Check"
USER_AGENT = "callspec-check"
DEFAULT_TIMEOUT = defaults.CHECK_TIMEOUT
DEFAULT_MAX_BYTES = 1_048_576
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    """What one check request got: the final answer, or why there was none."""

    url: str
    method: str
    status: int | None = None
    content_type: str | None = None
    body: bytes = b""
    elapsed_ms: float = 0.0
    #: The URLs of the HTTP redirects followed, in order.
    hops: tuple[str, ...] = ()
    #: Why there is no usable answer (unreachable, timeout, redirect loop, too large).
    error: str | None = None


def _reason(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (
        ("Name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("Failed to resolve", "the host name does not resolve"),
        ("No address associated", "the host name does not resolve"),
        ("Connection refused", "connection refused"),
        ("Network is unreachable", "network unreachable"),
        ("No route to host", "no route to host"),
        ("RemoteDisconnected", "the server closed the connection without an answer"),
        ("Connection reset", "the server reset the connection"),
    ):
        if needle in text:
            return reason
    return f"{type(exc).__name__}: {text[:200]}"


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
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    cap_name: str = "the size cap",
) -> Fetched:
    """Request ``url`` with ``method`` and Plivo's ``params``; the whole exchange within
    ``timeout`` seconds (connecting, headers, body and redirects: see
    :mod:`callspec.check.deadline`), the body within ``max_bytes`` (``cap_name`` names
    that cap in the error)."""
    import requests

    started = time.monotonic()
    hops: list[str] = []
    current, verb = url, method.upper()
    late = f"no answer within {timeout:g} s"

    def done(**fields: object) -> Fetched:
        elapsed = (time.monotonic() - started) * 1000
        return Fetched(url, method.upper(), elapsed_ms=elapsed, hops=tuple(hops), **fields)  # type: ignore[arg-type]

    with Deadline(timeout) as deadline:
        http = deadline.session()
        try:
            while True:
                left = deadline.left()
                if left <= 0:
                    return done(error=late)
                headers = {
                    CHECK_HEADER: "1",
                    "User-Agent": USER_AGENT,
                    "Accept-Encoding": "identity",
                }
                try:
                    response = http.request(
                        verb,
                        current,
                        params=dict(params) if verb == "GET" else None,
                        data=dict(params) if verb != "GET" else None,
                        headers=headers,
                        timeout=(left, left),
                        allow_redirects=False,
                        stream=True,
                    )
                except requests.exceptions.RequestException as e:
                    if deadline.expired or isinstance(e, requests.exceptions.Timeout):
                        return done(error=late)
                    if isinstance(e, requests.exceptions.SSLError):
                        return done(error=f"TLS error: {_reason(e)}")
                    if isinstance(e, requests.exceptions.ConnectionError):
                        return done(error=f"unreachable: {_reason(e)}")
                    return done(error=f"cannot request it: {_reason(e)}")
                except ValueError as e:  # a URL urllib3 cannot parse
                    return done(error=f"cannot request it: {_reason(e)}")
                with response:
                    status = response.status_code
                    content_type = response.headers.get("Content-Type")
                    if status in _REDIRECTS and "Location" in response.headers:
                        location = response.headers["Location"]
                        target = redirect_target(current, location)
                        if target is None:
                            return done(
                                status=status,
                                error=f"HTTP redirect to an invalid URL: {location!r}",
                            )
                        if target == url or target in hops:
                            chain = " -> ".join([url, *hops, target])
                            return done(status=status, error=f"HTTP redirect loop: {chain}")
                        if len(hops) >= max_redirects:
                            return done(
                                status=status, error=f"more than {max_redirects} HTTP redirects"
                            )
                        hops.append(target)
                        current = target
                        if status not in (307, 308):
                            verb = "GET"
                        continue
                    got = deadline.read_body(response, max_bytes, 65536)
                    if got.data is not None:
                        return done(status=status, content_type=content_type, body=got.data)
                    if got.failure == "too_big":
                        error = f"the body is over {cap_name} ({max_bytes:,} bytes)"
                    elif got.error is not None:
                        error = f"the body did not arrive: {_reason(got.error)}"
                    else:
                        error = f"the body did not arrive within {timeout:g} s"
                    return done(status=status, content_type=content_type, error=error)
        finally:
            http.close()
