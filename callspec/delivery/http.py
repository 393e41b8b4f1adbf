"""One attempt to place a call: the POST, and what its answer means.

The request goes out through the network layer's API exchange
(:func:`callspec.net.exchange.exchange`: basic auth, explicit connect and read
timeouts and one deadline for the whole answer, no redirects, no hidden retries);
what came back, an HTTP answer or a structured reason, is classified by
:mod:`~callspec.delivery.classify`, which keeps a phone from ringing twice.
"""

from __future__ import annotations

from collections.abc import Callable

from callspec.delivery.classify import AttemptResult, classify, same_text, transport_failure
from callspec.delivery.credentials import Credentials
from callspec.delivery.request import Request, Timeouts
from callspec.net.exchange import exchange
from callspec.net.session import Client
from callspec.results import now_iso

__all__ = ["send_once"]


def send_once(
    client: Client,
    request: Request,
    creds: Credentials,
    timeouts: Timeouts,
    redact: Callable[[str], str] = same_text,
) -> AttemptResult:
    """POST ``request`` once and classify the answer; never raises.

    ``redact`` masks secrets in a server's text before it is shortened for a
    message (a token cut in half by the shortening would leak its first half).
    """
    started = now_iso()
    reply = exchange(
        client,
        "POST",
        request.url,
        timeouts=(timeouts.connect, timeouts.read),
        auth=(creds.auth_id, creds.auth_token),
        headers=request.headers,
        body=request.body_bytes(),
    )
    if reply.reason is not None:
        return transport_failure(reply.reason, started, reply.elapsed_ms, timeouts.read, redact)
    assert reply.status is not None
    return classify(reply.status, reply.body, reply.headers, started, reply.elapsed_ms, redact)
