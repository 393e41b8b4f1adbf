"""Why an exchange got no (whole) answer, as facts: the one map from an exception to a reason.

Every failure of a request is described by a :class:`Reason`: its ``kind`` (a closed
set consumers decide on), its ``words`` (for people: raw text, from outside callspec;
the consumer passes them through :func:`callspec.text.outside` with its redactor), and
whether any byte of the request may have reached the server (``maybe_sent``, from how
far the exchange got on the wire: :mod:`callspec.net.wire`).  The kind and the words are
chosen by the exception's type and errno, never by reading its message.
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import requests
import urllib3.exceptions

from callspec.net.wire import Stage

ReasonKind = Literal[
    "build", "invalid", "connect", "timeout", "deadline", "tls", "connection", "internal"
]
"""``build``: the request could not be built (nothing sent); ``invalid``: it cannot be made
as given (a URL or proxy URL that is not one, SOCKS support missing); ``connect``: no
connection was made (DNS, refused, unreachable); ``timeout``: connecting, or a read, took
longer than its timeout; ``deadline``: the exchange's whole deadline passed; ``tls``: the
TLS handshake or certificate failed, or TLS broke later; ``connection``: the connection
broke after it was made; ``internal``: not the network's error (a bug)."""


@dataclass(frozen=True)
class Reason:
    """Why an exchange got no whole answer."""

    kind: ReasonKind
    #: What went wrong, in words (raw: mask, cut and escape them before any output).
    words: str
    #: Could any byte of the request have reached the server?  False only when it
    #: surely did not (the failure came before the request's first byte was written).
    maybe_sent: bool


#: Words for the errors a person meets most, by errno (not by the platform's message).
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "no route to host",
    errno.ECONNRESET: "the server reset the connection",
    errno.EPIPE: "the server closed the connection",
}
_INVALID = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidProxyURL,
    requests.exceptions.InvalidHeader,
    urllib3.exceptions.LocationValueError,
)
_TIMEOUTS = (
    requests.exceptions.Timeout,
    urllib3.exceptions.TimeoutError,
    socket.timeout,
)
_TLS = (requests.exceptions.SSLError, urllib3.exceptions.SSLError)
#: Errors that prove no connection was made, on a connection callspec could not watch.
_NO_CONNECTION = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.NameResolutionError,
    requests.exceptions.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)


def reason_of(error: BaseException, stage: Stage, cut_after: float | None = None) -> Reason:
    """The reason for ``error``, raised by an exchange that reached ``stage``.

    ``cut_after``: the exchange's deadline cut it, after so many seconds (whatever error
    that made the request raise).  On a connection callspec could not watch (``idle``:
    a SOCKS proxy) only an error that proves no connection was made counts as unsent.
    """
    chain = list(_chain(error))
    maybe_sent = stage == "writing" or (
        stage == "idle" and not any(isinstance(e, _NO_CONNECTION) for e in chain)
    )
    if cut_after is not None:
        return deadline_passed(cut_after, maybe_sent)
    if isinstance(error, _INVALID):
        return Reason("invalid", _short(error), maybe_sent)
    if any(_timed_out(e) for e in chain):
        return Reason("timeout", _short(error), maybe_sent)
    if any(isinstance(e, _TLS) for e in chain):
        return Reason("tls", _short(error), maybe_sent)
    if isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError | OSError):
        kind: ReasonKind = "connection" if maybe_sent else "connect"
        return Reason(kind, _words(chain) or _short(error), maybe_sent)
    return Reason("internal", f"{type(error).__name__}: {error}", maybe_sent)


def deadline_passed(seconds: float, maybe_sent: bool) -> Reason:
    """The exchange's deadline of ``seconds`` cut it short."""
    return Reason("deadline", f"the answer did not complete within {seconds:g} s", maybe_sent)


def _timed_out(error: BaseException) -> bool:
    # urllib3's NewConnectionError (a refused connection, a name that does not resolve)
    # subclasses its ConnectTimeoutError: no timeout.
    return isinstance(error, _TIMEOUTS) and not isinstance(
        error, urllib3.exceptions.NewConnectionError
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every error it wraps (urllib3's ``reason``, exception arguments,
    ``__cause__`` and ``__context__``), each once."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        if isinstance(err, urllib3.exceptions.MaxRetryError):
            stack.append(err.reason)
        stack.extend(a for a in err.args if isinstance(a, BaseException))
        stack.extend((err.__cause__, err.__context__))


def _words(chain: list[BaseException]) -> str | None:
    """Plain words for the error, when its type or errno is one a person meets often."""
    for err in chain:
        if isinstance(err, urllib3.exceptions.NameResolutionError | socket.gaierror):
            return "the host name does not resolve"
        if isinstance(err, http.client.RemoteDisconnected):
            return "the server closed the connection without an answer"
        if isinstance(err, OSError) and err.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[err.errno]
    return None


def _short(error: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 error, without object addresses."""
    reason: BaseException = error
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
