"""Requests to a team's handlers, as Plivo makes them: ring, answer, hangup, redirects.

This module owns one callback request: the parameters Plivo sends for each
event (:func:`call_params`), in the query string
(GET) or a form body (POST); the request carries Plivo's signature headers
(``X-Plivo-Signature-V2``/``-V3`` with their nonces, and the ``-Ma-`` copies,
computed with the auth token as Plivo documents, so a handler's signature check
can be tested); it has one deadline for the whole exchange (connect, headers,
body, redirects), follows at most a few HTTP redirects (one to a broken
``Location`` is an error), and reads at most a capped body.  Nothing here raises: every failure is a
:class:`Fetched` with an ``error``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from callspec.check.deadline import Deadline
from callspec.check.fetch import redirect_target
from callspec.check.params import Event
from callspec.check.params import call_params as plivo_params
from callspec.net.signature import signature_headers
from callspec.sandbox.calls import SimCall, callback_time, session_time
from callspec.sandbox.outcomes import SimulationConfig

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Fetched:
    """What one callback request got: the final URL, its status and body, or why not."""

    url: str
    method: str
    status: int | None
    body: bytes
    error: str | None
    ms: float
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def fetch(
    url: str,
    method: str,
    params: Mapping[str, str],
    auth_token: str,
    config: SimulationConfig,
) -> Fetched:
    """Request ``url`` as Plivo would; bounded in time, redirects and size."""
    import requests  # loaded only when a call is simulated

    started = time.perf_counter()
    method = method.upper() if method.upper() in ("GET", "POST") else "POST"
    url = urlunsplit(urlsplit(url)._replace(fragment=""))  # Plivo's #ct=... settings
    current, current_method = url, method
    late = "the answer took too long"

    def done(status: int | None, body: bytes, error: str | None, kind: str = "") -> Fetched:
        ms = (time.perf_counter() - started) * 1000
        return Fetched(current, current_method, status, body, error, ms, kind)

    # One deadline for the whole exchange (see callspec.check.deadline): a handler that
    # trickles its headers or its body cannot keep the call, or the sandbox's stop, waiting.
    with Deadline(config.connect_timeout_s + config.read_timeout_s) as deadline:
        http = deadline.session()
        try:
            for _ in range(config.max_redirects + 1):
                left = deadline.left()
                if left <= 0:
                    return done(None, b"", late)
                headers = {
                    "User-Agent": "callspec-sandbox (simulating Plivo)",
                    **signature_headers(current, current_method, params, auth_token),
                }
                try:
                    response = http.request(
                        current_method,
                        current,
                        params=dict(params) if current_method == "GET" else None,
                        data=dict(params) if current_method == "POST" else None,
                        headers=headers,
                        timeout=(
                            min(left, config.connect_timeout_s),
                            min(left, config.read_timeout_s),
                        ),
                        allow_redirects=False,
                        stream=True,
                    )
                except requests.exceptions.RequestException as e:
                    return done(None, b"", late if deadline.expired else _describe(e))
                except ValueError:  # a URL urllib3 cannot parse
                    return done(None, b"", "invalid URL")
                with response:
                    status = response.status_code
                    kind = response.headers.get("Content-Type", "")
                    location = response.headers.get("Location")
                    if status in _REDIRECTS and location:
                        target = redirect_target(current, location)
                        if target is None:
                            invalid = f"HTTP redirect to an invalid URL: {location!r}"
                            return done(status, b"", invalid, kind)
                        current = target
                        if status in (301, 302, 303):
                            current_method = "GET"
                        continue
                    got = deadline.read_body(response, config.max_body_bytes, 8192)
                    if got.failure == "too_big":
                        too_big = f"the body is larger than {config.max_body_bytes} bytes"
                        return done(status, b"", too_big, kind)
                    if got.error is not None:
                        return done(status, b"", _describe(got.error), kind)
                    if got.data is None:
                        return done(status, b"", late, kind)
                    error = None if 200 <= status < 300 else f"HTTP {status}"
                    return done(status, got.data, error, kind)
            return done(None, b"", f"more than {config.max_redirects} HTTP redirects")
        finally:
            http.close()


def _describe(error: Exception) -> str:
    import requests

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "connection failed"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL"
    return type(error).__name__


#: The sandbox's event names and the check's (:mod:`callspec.check.params`).
_EVENTS: dict[str, Event] = {
    "Ring": "ring",
    "StartApp": "answer",
    "Redirect": "redirect",
    "MachineDetection": "machine_detection",
    "Hangup": "hangup",
}


def call_params(call: SimCall, event: str) -> dict[str, str]:
    """The parameters Plivo sends with ``event`` (Ring, StartApp, Redirect,
    MachineDetection, Hangup) for this call: the check's builder (one definition of
    what Plivo sends), with this call's own UUID, destination, times and hangup cause."""
    start = call.ringing or call.initiated
    params = plivo_params(call.body, _EVENTS[event], uuid=call.call_uuid, to=call.to, now=start)
    params["SessionStart"] = session_time(start)
    if event == "Hangup":
        cause = call.cause
        assert cause is not None
        duration = str(call.duration)
        params.update(
            CallStatus=cause.call_status,
            StartTime=callback_time(start),
            AnswerTime=callback_time(call.answered),
            EndTime=callback_time(call.ended),
            Duration=duration,
            BillDuration=duration,
            HangupCause=cause.telephony,
            HangupCauseName=cause.name,
            HangupCauseCode=str(cause.code),
            HangupSource=cause.source,
            TotalCost="0.00000",
        )
    return params
