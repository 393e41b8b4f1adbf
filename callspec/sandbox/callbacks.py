"""Requests to a team's handlers, as Plivo makes them: ring, answer, hangup, redirects.

This module owns what the sandbox sends for each event: the parameters Plivo sends
(:func:`call_params`) and one callback request (:func:`fetch`): Plivo's method rule
(anything but ``GET`` is a ``POST``), the URL without its fragment (Plivo's ``#ct=...``
settings), and Plivo's signature headers computed with the auth token, so a handler's
signature check can be tested.  The request itself is the network layer's
(:func:`callspec.net.fetch.fetch`: one deadline for the whole exchange, redirects
followed and named, a capped body, no credential from the environment); its error,
text a handler's server wrote, is masked (the auth token), cut and escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from callspec.check.answer import MAX_XML_BYTES
from callspec.check.params import Event
from callspec.check.params import call_params as plivo_params
from callspec.redact import Redactor
from callspec.sandbox.calls import SimCall, callback_time, session_time
from callspec.sandbox.outcomes import SimulationConfig
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.net.fetch import Fetched

USER_AGENT = "callspec-sandbox (simulating Plivo)"


def fetch(
    url: str,
    method: str,
    params: Mapping[str, str],
    auth_token: str,
    config: SimulationConfig,
) -> Fetched:
    """Request ``url`` as Plivo would; bounded in time, redirects and size."""
    from callspec.net.fetch import fetch as fetch_url  # the HTTP stack loads with a first call

    method = method.upper() if method.upper() in ("GET", "POST") else "POST"
    got = fetch_url(
        url,
        method,
        params,
        environ=config.environ,
        timeout=config.connect_timeout_s + config.read_timeout_s,
        connect_timeout=config.connect_timeout_s,
        max_bytes=config.max_body_bytes,
        max_redirects=config.max_redirects,
        headers={"User-Agent": USER_AGENT},
        sign_with=auth_token,
        cap_name="Plivo's limit for an XML document"
        if config.max_body_bytes == MAX_XML_BYTES
        else "the size cap",
    )
    if got.error is None:
        return got
    return replace(got, error=outside(got.error, Redactor([auth_token]).text))


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
