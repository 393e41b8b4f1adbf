"""The state of every simulated call, and Plivo's shapes for reading it back.

This module owns what the sandbox knows about a call once ``--simulate`` plays
it: where it is (queued, ringing, in-progress, completed), when it was
initiated, answered and ended, and why it ended (Plivo's hangup cause name,
code and source).  It answers the call-state endpoints in Plivo's shapes: the
live call (``?status=live``), the queued call (``?status=queued``), the call
detail record of a finished call, the lists of each (:mod:`callspec.sandbox.listing`),
and the hangup API (``DELETE``), which asks a
call's player (:mod:`callspec.sandbox.lifecycle`) to end it.

Shapes follow Plivo's API reference ("Retrieve a call", "Retrieve a live call",
"Retrieve a queued call") and the official SDKs' fixtures; the causes follow
Plivo's "Hangup causes" table (see docs/sandbox.md, "Simulated calls").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from callspec.sandbox.answers import new_id

State = Literal["queued", "ringing", "in-progress", "completed"]


@dataclass(frozen=True)
class Cause:
    """Why a call ended: Plivo's hangup cause name and code, its source, and the
    CallStatus / call_state / telephony cause that go with it."""

    name: str
    code: int
    source: str
    call_status: str  # CallStatus sent to hangup_url
    call_state: str  # call_state of the detail record
    telephony: str  # HangupCause sent to hangup_url


def _cause(name: str, code: int, source: str, status: str, state: str, tel: str) -> Cause:
    return Cause(name, code, source, status, state, tel)


# Plivo's hangup causes table (docs: voice/troubleshooting/hangup-causes).
END_OF_XML = _cause(
    "End Of XML Instructions", 4010, "Plivo", "completed", "ANSWER", "NORMAL_CLEARING"
)
NORMAL_XML = _cause("Normal Hangup", 4000, "Answer XML", "completed", "ANSWER", "NORMAL_CLEARING")
NORMAL_API = _cause("Normal Hangup", 4000, "API Request", "completed", "ANSWER", "NORMAL_CLEARING")
CANCELED = _cause("Canceled", 1000, "API Request", "cancel", "CANCEL", "ORIGINATOR_CANCEL")
NO_ANSWER = _cause("No Answer", 3000, "Carrier", "no-answer", "NOANSWER", "NO_ANSWER")
BUSY = _cause("Busy Line", 3010, "Callee", "busy", "BUSY", "USER_BUSY")
REJECTED = _cause("Rejected", 3020, "Callee", "busy", "BUSY", "CALL_REJECTED")
XML_BUSY = _cause("Busy Line", 3010, "Answer XML", "busy", "BUSY", "USER_BUSY")
XML_REJECTED = _cause("Rejected", 3020, "Answer XML", "busy", "BUSY", "CALL_REJECTED")
TIME_LIMIT = _cause("Scheduled Hangup", 6000, "Plivo", "completed", "ANSWER", "ALLOTTED_TIMEOUT")
ANSWER_URL_ERROR = _cause(
    "Error Reaching Answer URL", 7011, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
ACTION_URL_ERROR = _cause(
    "Error Reaching Action URL", 7012, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
INVALID_ACTION_XML = _cause(
    "Invalid Action XML", 8012, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
REDIRECT_URL_ERROR = _cause(
    "Error Reaching Redirect URL", 7014, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
INVALID_ANSWER_XML = _cause(
    "Invalid Answer XML", 8011, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
INVALID_REDIRECT_XML = _cause(
    "Invalid Redirect XML", 8014, "Error", "failed", "ANSWER", "NORMAL_TEMPORARY_FAILURE"
)
MACHINE = _cause("Machine Detected", 9100, "Plivo", "completed", "ANSWER", "NORMAL_CLEARING")
SANDBOX_STOPPED = _cause("Normal Hangup", 4000, "Plivo", "completed", "ANSWER", "NORMAL_CLEARING")


def plivo_time(moment: datetime | None) -> str | None:
    """``2022-10-12 21:57:47+00:00``: the detail record's times (UTC here)."""
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def callback_time(moment: datetime | None) -> str:
    """``2022-10-12 21:57:47``: StartTime/AnswerTime/EndTime of a callback."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def session_time(moment: datetime) -> str:
    """``2022-10-12 21:57:47.123456``: SessionStart (UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SimCall:
    """One simulated call (one destination).  Changed only under its registry's lock."""

    call_uuid: str
    auth_id: str
    to: str
    body: dict[str, Any]
    state: State
    initiated: datetime = field(default_factory=_now)
    ringing: datetime | None = None
    answered: datetime | None = None
    ended: datetime | None = None
    cause: Cause | None = None
    machine: bool | None = None
    hangup: threading.Event = field(default_factory=threading.Event)
    played: bool = False  # its last callback (hangup_url) has been sent

    @property
    def duration(self) -> int:
        """Whole seconds from answer to end, rounded (an answered call lasts at least 1)."""
        if self.answered is None or self.ended is None:
            return 0
        return max(1, int((self.ended - self.answered).total_seconds() + 0.5))


class CallRegistry:
    """Every simulated call by its UUID (the request_uuid the API answered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, SimCall] = {}
        self._changed = threading.Condition(self._lock)

    def add(self, call: SimCall) -> None:
        with self._lock:
            self._calls[call.call_uuid] = call
            self._changed.notify_all()

    def move(self, call: SimCall, state: State) -> None:
        """The call rings or is answered (its time is stamped now)."""
        with self._lock:
            if call.state == "completed":
                return
            call.state = state
            if state == "ringing":
                call.ringing = _now()
            elif state == "in-progress":
                call.answered = _now()
            self._changed.notify_all()

    def end(self, call: SimCall, cause: Cause, machine: bool | None = None) -> bool:
        """The call ends with ``cause``; False if it had already ended."""
        with self._lock:
            if call.state == "completed":
                return False
            call.state, call.ended, call.cause = "completed", _now(), cause
            if machine is not None:
                call.machine = machine
            self._changed.notify_all()
            return True

    def played(self, call: SimCall) -> None:
        """The call's last step is done (its hangup callback answered or failed)."""
        with self._lock:
            call.played = True
            self._changed.notify_all()

    def request_hangup(self, call_uuid: str) -> bool:
        """The hangup API: True when the call was live (its player ends it)."""
        with self._lock:
            call = self._calls.get(call_uuid)
            if call is None or call.state == "completed":
                return False
            call.hangup.set()
            return True

    def hang_up_all(self) -> None:
        with self._lock:
            for call in self._calls.values():
                call.hangup.set()

    def get(self, call_uuid: str) -> SimCall | None:
        with self._lock:
            return self._calls.get(call_uuid)

    def wait_all_ended(self, timeout: float) -> bool:
        """Until every call has been played to its end, hangup callback included (or
        ``timeout`` seconds); True when all have."""
        with self._changed:
            return self._changed.wait_for(
                lambda: all(c.played for c in self._calls.values()), timeout
            )

    # Plivo's shapes, for the server.

    def read(self, auth_id: str, call_uuid: str, status: str | None) -> tuple[int, dict[str, Any]]:
        """``GET .../Call/{uuid}/[?status=live|queued]``: (HTTP status, body)."""
        with self._lock:
            call = self._calls.get(call_uuid)
            if call is None or call.auth_id != auth_id:
                return 404, {"api_id": new_id(), "error": "not found"}
            if status == "live" and call.state in ("ringing", "in-progress"):
                return 200, _live(call)
            if status == "queued" and call.state == "queued":
                return 200, _queued(call)
            if status is None and call.state == "completed":
                return 200, detail_record(call)
        return 404, {"api_id": new_id(), "error": "not found"}

    def list_calls(
        self, auth_id: str, query: Mapping[str, Sequence[str]]
    ) -> tuple[int, dict[str, Any]]:
        """``GET .../Call/`` (live calls, queued calls, or detail records, filtered as Plivo
        documents it: :mod:`callspec.sandbox.listing`): (HTTP status, body)."""
        from callspec.sandbox.listing import answer_list

        with self._lock:
            mine = [call for call in self._calls.values() if call.auth_id == auth_id]
            return answer_list(mine, query, auth_id)


def _live(call: SimCall) -> dict[str, Any]:
    return {
        "api_id": new_id(),
        "call_status": call.state,
        "call_uuid": call.call_uuid,
        "caller_name": str(call.body.get("caller_name") or ""),
        "direction": "outbound",
        "from": str(call.body.get("from", "")),
        "request_uuid": call.call_uuid,
        "session_start": session_time(call.ringing or call.initiated),
        "to": call.to,
        "stir_verification": "Not Applicable",
        "stir_attestation": "",
    }


def _queued(call: SimCall) -> dict[str, Any]:
    return {
        "api_id": new_id(),
        "call_status": "queued",
        "call_uuid": call.call_uuid,
        "caller_name": str(call.body.get("caller_name") or ""),
        "direction": "outbound",
        "from": str(call.body.get("from", "")),
        "to": call.to,
    }


def detail_record(call: SimCall) -> dict[str, Any]:
    """The call detail record of a finished call."""
    assert call.cause is not None
    duration = call.duration
    return {
        "answer_time": plivo_time(call.answered),
        "api_id": new_id(),
        "bill_duration": duration,
        "billed_duration": 60 * math.ceil(duration / 60),
        "call_direction": "outbound",
        "call_duration": duration,
        "call_state": call.cause.call_state,
        "call_uuid": call.call_uuid,
        "conference_uuid": None,
        "end_time": plivo_time(call.ended),
        "from_number": str(call.body.get("from", "")),
        "hangup_cause_code": call.cause.code,
        "hangup_cause_name": call.cause.name,
        "hangup_source": call.cause.source,
        "initiation_time": plivo_time(call.initiated),
        "parent_call_uuid": None,
        "resource_uri": f"/v1/Account/{call.auth_id}/Call/{call.call_uuid}/",
        "source_ip": "127.0.0.1",
        "stir_verification": "Not Applicable",
        "to_number": call.to,
        "total_amount": "0.00000",
        "total_rate": "0.00000",
        "voice_network_group": "",
    }
