"""One request about a placed call: a state read, a hangup or a cancel, over HTTP.

This module owns the wire side of following a call: each request books a slot
of the run's one read rate limiter (never the send limiter: reading never
delays or affects a send), honours a ``Retry-After``, and must complete within
its connect and read timeouts together (at most 1 MiB is read: the send path's
bounded read).  A ``request_uuid`` that is not UUID-shaped never goes into a
URL.  What came back is a :class:`Reading` (status, JSON object, error text
masked then cut), never an exception; what it means is the follower's to say
(:mod:`~callspec.delivery.follow`, :mod:`~callspec.delivery.callstate`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callspec.delivery.credentials import Credentials
from callspec.delivery.legs import Leg, is_call_uuid, state_url
from callspec.delivery.rate import RateLimiter
from callspec.delivery.request import USER_AGENT
from callspec.delivery.wait import WaitOptions
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.net.session import Client

# Plivo answers "not found" for a call that is not (or no longer) live or queued.
_NOT_FOUND = 404
NOT_FOUND = _NOT_FOUND
# Answers no later read can change: reading is refused for these credentials.
REFUSED = frozenset({401, 403})


@dataclass(frozen=True)
class Reading:
    """One read: the HTTP status and JSON object that came back, or what went wrong."""

    status: int | None
    doc: Mapping[str, Any] | None = None
    error: str | None = None
    #: Seconds the API asked to wait before the next request (``Retry-After``).
    retry_after: float | None = None


class Reader:
    """Makes requests about placed calls for one follower; never raises for what the API
    answers.  Its HTTP session is opened with the first request and ended by :meth:`close`."""

    def __init__(
        self,
        options: WaitOptions,
        environ: Mapping[str, str],
        redact: Callable[[str], str],
        stop: threading.Event,
        limiter: RateLimiter,
    ) -> None:
        self.options = options
        self.environ = environ
        self.redact = redact
        self.stop = stop
        #: Shared by every follower of a run: all reads together keep to the read rate.
        self.limiter = limiter
        self._session: Client | None = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def read(
        self, leg: Leg, query: str = "", method: str = "GET", resource: str = "Call"
    ) -> Reading:
        """One request about ``leg`` (``query``: ``?status=live`` / ``?status=queued``;
        ``resource``: ``Call``, or ``Request`` for the cancel of a queued call)."""
        if not self.limiter.acquire(self.stop):
            return Reading(None, error="interrupted")
        if not is_call_uuid(leg.call_uuid):
            return Reading(None, error="the request_uuid is not a call UUID")
        url = state_url(leg.api_url, leg.creds.auth_id, leg.call_uuid) + query
        if resource != "Call":
            url = url.replace(f"/Call/{leg.call_uuid}/", f"/{resource}/{leg.call_uuid}/")
        reading = self._request(method, url, leg.creds)
        if reading.status == 200 and reading.doc is None and method == "GET":
            wait = reading.retry_after
            return Reading(None, error="HTTP 200 that is not a call object", retry_after=wait)
        return reading

    def list_calls(self, api_url: str, creds: Credentials, params: Mapping[str, str]) -> Reading:
        """One of Plivo's lists of calls (``GET .../Call/?...``: live or queued calls, or
        detail records) with ``params`` as its filters; a 200 that is no JSON object, or
        any other answer, is a failed read."""
        if not self.limiter.acquire(self.stop):
            return Reading(None, error="interrupted")
        from urllib.parse import urlencode

        url = f"{api_url.rstrip('/')}/v1/Account/{creds.auth_id}/Call/?{urlencode(params)}"
        reading = self._request("GET", url, creds)
        if reading.status != 200 or reading.doc is None:
            error = reading.error or "HTTP 200 that is not a list of calls"
            return Reading(None, error=error, retry_after=reading.retry_after)
        return reading

    def _request(self, method: str, url: str, creds: Credentials) -> Reading:
        """``method`` ``url`` once, with ``creds``: the status and JSON object that came back
        (any other body: no object), or what went wrong, masked then cut."""
        # The network layer loads with the first read: a dry run never loads the HTTP stack.
        from callspec.delivery.classify import retry_after_seconds
        from callspec.net.exchange import exchange
        from callspec.net.session import Client

        if self._session is None:
            self._session = Client(self.environ)
        timeouts = self.options.timeouts
        # One deadline for the whole answer (connect and read timeouts together), 1 MiB
        # at most: a server trickling a byte at a time cannot hold the wait (or Ctrl-C).
        reply = exchange(
            self._session,
            method,
            url,
            timeouts=(timeouts.connect, timeouts.read),
            auth=(creds.auth_id, creds.auth_token),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        if reply.reason is not None:
            return Reading(None, error=outside(reply.reason.words, self.redact))
        content = reply.body
        try:
            doc = json.loads(content) if content else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = None
        status = reply.status
        wait = retry_after_seconds(reply.headers.get("Retry-After"))
        if status == 200 and doc is None:
            return Reading(200, None, retry_after=wait)
        # Masked whole, then cut: a token cut in two would show its first half.
        said = (doc or {}).get("error") or content.decode("utf-8", "replace")
        error = outside(f"HTTP {status}: {said}", self.redact)
        if status in (200, 204, _NOT_FOUND):
            # A 404's words are kept: they may say why (the sandbox needs --simulate).
            return Reading(status, doc, error if status == _NOT_FOUND else None)
        return Reading(status, doc, error, wait)
