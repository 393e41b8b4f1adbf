"""The parameters Plivo sends with each request of a call, for a call of the plan.

From ``shared/reference/plivo-callbacks.md`` (Plivo's Make-a-call reference and the
official SDK): the answer parameters for ``answer_url`` and ``fallback_url``, and the
ring, hangup, machine-detection and API-callback sets.  Identifiers are placeholders
(one fixed UUID, so a handler can recognise a check); SIP headers become ``X-PH-``
parameters as on Plivo.  The sandbox's simulated calls may share these builders.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal

#: The RequestUUID and CallUUID of every check request: a UUID no Plivo call has.
PLACEHOLDER_UUID = "00000000-0000-4000-8000-00000000c4ec"

Event = Literal["answer", "redirect", "ring", "hangup", "machine_detection", "callback"]


def _session_start(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond:06d}"[:5]


def sip_header_params(value: Any) -> dict[str, str]:
    """``sip_headers`` (``k=v,k2=v2`` or a mapping) as Plivo's ``X-PH-k`` parameters."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, str) and value:
        for item in value.split(","):
            key, _, val = item.partition("=")
            if key.strip():
                pairs.append((key.strip(), val.strip()))
    return {f"X-PH-{key}": val for key, val in pairs}


def first_destination(body: Mapping[str, Any]) -> str:
    """The first destination of a call's ``to`` (a bulk call's are joined with ``<``)."""
    to = body.get("to", "")
    if isinstance(to, list | tuple):
        return str(to[0]) if to else ""
    return str(to).split("<")[0]


def call_params(
    body: Mapping[str, Any],
    event: Event,
    *,
    uuid: str = PLACEHOLDER_UUID,
    to: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """What Plivo sends for ``event`` of the call whose request body is ``body``."""
    now = now or datetime.now(timezone.utc)
    params: dict[str, str] = {
        "From": str(body.get("from", "")),
        "To": to if to is not None else first_destination(body),
        "RequestUUID": uuid,
        "ALegRequestUUID": uuid,
        "CallUUID": uuid,
        "Direction": "outbound",
    }
    stir = {"STIRAttestation": "Not Applicable"}
    if event in ("answer", "redirect"):  # a <Redirect> target gets the same, Event=Redirect
        started = "StartApp" if event == "answer" else "Redirect"
        params |= {"ALegUUID": uuid, "Event": started, "CallStatus": "in-progress"}
        params |= {"SessionStart": _session_start(now), **stir}
        params["stir_verification"] = "Not Applicable"
    elif event == "ring":
        params |= {"Event": "Ring", "CallStatus": "ringing", "SessionStart": _session_start(now)}
        params |= stir
    elif event == "hangup":
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        params |= {"ALegUUID": uuid, "Event": "Hangup", "CallStatus": "completed"}
        params |= {"StartTime": stamp, "AnswerTime": stamp, "EndTime": stamp}
        params |= {"SessionStart": _session_start(now), **stir}
        params |= {"stir_verification": "Not Applicable", "Duration": "0", "BillDuration": "0"}
        params |= {"HangupCause": "NORMAL_CLEARING", "HangupCauseName": "Normal Hangup"}
        params |= {"HangupCauseCode": "4000", "HangupSource": "Callee"}
    elif event == "machine_detection":
        params |= {"ALegUUID": uuid, "Machine": "false", "Event": "MachineDetection"}
        params |= {"CallStatus": "in-progress"}
        params["IfMachine"] = str(body.get("machine_detection", "continue"))
    params |= sip_header_params(body.get("sip_headers"))
    return params
