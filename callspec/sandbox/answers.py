"""Plivo's answers to a Make-a-call request: the shapes of 201, 200 queued and the errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, NamedTuple

from callspec.sandbox.faults import NOT_PLACED, Decision

# Injected answers that prove no call was placed: every 4xx (the API refused the
# request), and 503.  500, 502, 504 may follow a placed call.


def new_id() -> str:
    return str(uuid.uuid4())


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected Fault"


class Answer(NamedTuple):
    """What to send (status None: nothing, the connection is closed) and what to record."""

    status: int | None
    payload: dict[str, Any]
    headers: list[tuple[str, str]]
    record: dict[str, Any]  # request_uuid, api_id, status, message, fault, placed


def answer(
    decision: Decision,
    body: Mapping[str, Any],
    admit: Callable[[], bool],
    retry_after: float | None,
) -> Answer:
    """Plivo's answer to a valid call request, or the fault's; ``admit()`` counts a placed call."""
    to = body.get("to")
    count = len(to) if isinstance(to, list) else str(to).count("<") + 1
    uuids = [new_id() for _ in range(count)]
    request_uuid: str | list[str] | None = uuids if count > 1 else uuids[0]
    api_id = new_id()
    status, fault = decision.status, decision.fault
    placed = status not in NOT_PLACED
    queued = placed and admit()
    headers: list[tuple[str, str]] = []
    payload: dict[str, Any] = {}
    if status is not None:
        payload = {"api_id": api_id, "error": phrase(status).lower()}
        if not placed:
            request_uuid = None
            if retry_after is not None and status in (429, 503):
                seconds = int(retry_after) if retry_after == int(retry_after) else retry_after
                headers.append(("Retry-After", str(seconds)))
    elif fault is None and body.get("callback_url"):
        status, payload = 201, {"message": "async api spawned", "api_id": api_id}
    elif fault is None:
        message = "call queued" if queued else "calls fired" if count > 1 else "call fired"
        status = 200 if queued else 201
        payload = {"message": message, "request_uuid": request_uuid, "api_id": api_id}
    record = {
        "request_uuid": request_uuid,
        "api_id": api_id,
        "status": status,
        "message": payload.get("error", payload.get("message")),
        "fault": fault,
        "placed": placed,
    }
    return Answer(status, payload, headers, record)
