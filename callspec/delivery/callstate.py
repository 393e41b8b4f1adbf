"""What Plivo's answers about a placed call say, and whether they are about that call at all.

Answers from the API are untrusted input.  A live call, queued call or detail
record whose ``call_uuid`` or destination names another call than the one
asked about is no answer about this call (:func:`foreign`): the follower then
reports the call unknown instead of settling it on another call's word.  A
detail record (``GET .../Call/{uuid}/``) completes an :class:`Answer`
(:func:`from_record`); who answered (a human or a machine) is read from it.
Text from the API is escaped and capped before it reaches a field or a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from callspec.results import Answer, AnsweredBy
from callspec.spec.validate import destination_key
from callspec.text import DEFAULT_CAP, outside

_MACHINE = re.compile(r"machine", re.IGNORECASE)
#: Characters of the API's text kept in a note or field (as the send path caps them).
MAX_TEXT = DEFAULT_CAP


def clean_text(value: object, cap: int = MAX_TEXT) -> str:
    """Text from the API as it may be printed, for text holding no secret (a state, a
    cause name): :func:`callspec.text.outside` with nothing to mask."""
    return outside(value, str, cap)


def live_status(doc: Mapping[str, Any] | None) -> str | None:
    """A live call's ``call_status`` (ringing, in-progress...), cleaned; None when it names
    none (a 200 that is no live call)."""
    said = (doc or {}).get("call_status")
    return clean_text(said, 40) if isinstance(said, str) and said else None


def foreign(doc: Mapping[str, Any] | None, call_uuid: str, to: str | None) -> str | None:
    """Why ``doc`` (a live call, queued call or detail record) is not about the call
    ``call_uuid`` to ``to``; None when nothing in it says otherwise."""
    said_uuid = (doc or {}).get("call_uuid")
    if isinstance(said_uuid, str) and said_uuid.lower() != call_uuid.lower():
        shown = clean_text(said_uuid, 60)
        return f"the API answered about another call (call_uuid {shown}): its state is unknown"
    said_to = next(((doc or {}).get(k) for k in ("to_number", "to") if (doc or {}).get(k)), None)
    if to and isinstance(said_to, str) and destination_key(said_to) != destination_key(to):
        shown = clean_text(said_to, 40)
        return f"the API answered about a call to another number ({shown}): its state is unknown"
    return None


def record_answered(record: Mapping[str, Any]) -> bool:
    """The detail record says the call was answered."""
    return bool(record.get("answer_time")) or _text(record.get("call_state")) == "ANSWER"


def from_record(answer: Answer, record: Mapping[str, Any]) -> Answer:
    """``answer`` completed from a detail record (Plivo's ``GET .../Call/{uuid}/``)."""
    return replace(
        answer,
        answered=record_answered(record),
        state="completed",
        call_state=_text(record.get("call_state")),
        answer_time=_text(record.get("answer_time")),
        end_time=_text(record.get("end_time")),
        duration=_number(record.get("call_duration")),
        bill_duration=_number(record.get("bill_duration")),
        hangup_cause=_text(record.get("hangup_cause_name")),
        hangup_cause_code=_number(record.get("hangup_cause_code")),
        hangup_source=_text(record.get("hangup_source")),
    )


def answered_by(record: Mapping[str, Any] | None) -> AnsweredBy | None:
    """machine when the record says a machine answered (the hangup cause names one, or a
    ``machine``/``answered_by`` field says so), else human; None when no record came
    (nothing says who: a voicemail is as likely as a person)."""
    if record is None:
        return None
    said = str(record.get("answered_by") or "").lower()
    if said in ("human", "machine"):
        return "machine" if said == "machine" else "human"
    machine = record.get("machine")
    if machine is True or str(machine).lower() == "true":
        return "machine"
    if _MACHINE.search(str(record.get("hangup_cause_name") or "")):
        return "machine"
    return "human"


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else clean_text(value)


def _number(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None
