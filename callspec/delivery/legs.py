"""What is followed once a call is placed: its legs, one per destination and request_uuid.

For an outbound call Plivo's ``request_uuid`` is the call's UUID; a bulk call
(``to: a<b<c``) answers one per destination, in order.  Only a UUID-shaped
value is ever followed (it goes into a URL); anything else an API or a
journal holds stays text, and its leg is reported unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callspec.delivery.credentials import Credentials

#: The shape of a call UUID: nothing else goes into a state, hangup or cancel URL.
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def is_call_uuid(value: object) -> bool:
    """True for a UUID-shaped string (what Plivo's request_uuid is)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


@dataclass(frozen=True)
class Leg:
    """One destination of a placed call, to be followed."""

    call_uuid: str
    to: str | None
    api_url: str
    creds: Credentials
    #: The call asked for machine detection: say whether a human or a machine answered.
    machine_detection: bool = False


def legs_of(
    request_uuid: str | list[str] | None,
    body: Mapping[str, Any],
    api_url: str,
    creds: Credentials,
) -> list[Leg]:
    """The legs of a placed call: one per request_uuid, paired with the destinations of ``to``
    in order (a bulk call's ``a<b<c``) when their numbers agree."""
    if not request_uuid:
        return []
    # str() each: a journal's or a misbehaving API's number is text, then never followed
    # (not UUID-shaped: see the follower).
    uuids = (
        [str(u) for u in request_uuid] if isinstance(request_uuid, list) else [str(request_uuid)]
    )
    to = body.get("to")
    destinations = str(to).split("<") if isinstance(to, str) else []
    if len(destinations) != len(uuids):
        destinations = [str(to)] * len(uuids) if len(uuids) == 1 and to else []
    machine = bool(body.get("machine_detection"))
    return [
        Leg(uuid, destinations[i] if destinations else None, api_url, creds, machine)
        for i, uuid in enumerate(uuids)
    ]


def state_url(api_url: str, auth_id: str, call_uuid: str) -> str:
    """``{api_url}/v1/Account/{auth_id}/Call/{call_uuid}/``: detail record, live, queued, hangup."""
    return f"{api_url.rstrip('/')}/v1/Account/{auth_id}/Call/{call_uuid}/"
