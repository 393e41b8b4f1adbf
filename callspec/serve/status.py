"""What the runner reads back: a registration's calls and whether one was acknowledged.

One definition for both sides: the service builds a :class:`Status` from its
store (:func:`from_record`) and sends :func:`to_json`; the client reads it with
:func:`from_json`, which checks the shape (the answer is signed, but a reader
still never trusts a shape it did not check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the client reads statuses without loading the store
    from callspec.serve.store import Leg, Record


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def iso(epoch: float | None) -> str | None:
    """A Unix time as the service's JSON spells times (ISO 8601, UTC, milliseconds)."""
    return _iso(_time(epoch))


@dataclass(frozen=True)
class CallState:
    """One call Plivo made for the registration (its ``CallUUID``)."""

    call_uuid: str
    answered_at: datetime | None
    ended_at: datetime | None
    acknowledged_at: datetime | None  # the acknowledging key, within time
    late_key_at: datetime | None  # the acknowledging key, too late to count
    wrong_keys: int
    last_digits: str | None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class Status:
    """A registration as the service knows it."""

    id: str
    digit: str
    within_s: int
    registered_at: datetime
    expires_at: datetime
    calls: tuple[CallState, ...]

    @property
    def acknowledged(self) -> bool:
        return any(call.acknowledged for call in self.calls)

    @property
    def first_acknowledgement(self) -> CallState | None:
        """The call acknowledged first, if any."""
        acked = [call for call in self.calls if call.acknowledged_at is not None]
        return min(acked, key=_ack_time) if acked else None


def _ack_time(call: CallState) -> datetime:
    assert call.acknowledged_at is not None
    return call.acknowledged_at


def _state(leg: Leg) -> CallState:
    return CallState(
        leg.call_uuid,
        _time(leg.answered),
        _time(leg.ended),
        _time(leg.ack_at),
        _time(leg.late_at),
        leg.wrong_keys,
        leg.last_digits,
    )


def from_record(record: Record) -> Status:
    created, expires = _time(record.created), _time(record.expires)
    assert created is not None and expires is not None
    calls = tuple(_state(leg) for leg in record.legs)
    return Status(record.id, record.digit, record.within_s, created, expires, calls)


def to_json(status: Status) -> dict[str, Any]:
    first = status.first_acknowledgement
    return {
        "id": status.id,
        "digit": status.digit,
        "within_s": status.within_s,
        "registered_at": _iso(status.registered_at),
        "expires_at": _iso(status.expires_at),
        "acknowledged": status.acknowledged,
        "acknowledged_at": _iso(first.acknowledged_at) if first else None,
        "acknowledged_by": first.call_uuid if first else None,
        "calls": [
            {
                "call_uuid": call.call_uuid,
                "answered_at": _iso(call.answered_at),
                "ended_at": _iso(call.ended_at),
                "acknowledged": call.acknowledged,
                "acknowledged_at": _iso(call.acknowledged_at),
                "late_key_at": _iso(call.late_key_at),
                "wrong_keys": call.wrong_keys,
                "last_digits": call.last_digits,
            }
            for call in status.calls
        ],
    }


def _parse_time(value: object, name: str, optional: bool = True) -> datetime | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{name}: a time without its zone")
    return moment


def _required_time(value: object, name: str) -> datetime:
    moment = _parse_time(value, name, optional=False)
    assert moment is not None
    return moment


def _text(value: object, name: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{name}: not a short text")
    return value


def _count(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{name}: not a count")
    return value


def from_json(value: object) -> Status:
    """The status a service's answer holds; ValueError (saying where) when it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("calls"), list):
        raise ValueError("not a status object")
    calls = []
    for i, call in enumerate(value["calls"]):
        if not isinstance(call, dict):
            raise ValueError(f"calls[{i}]: not an object")
        calls.append(
            CallState(
                str(_text(call.get("call_uuid"), f"calls[{i}].call_uuid")),
                _parse_time(call.get("answered_at"), f"calls[{i}].answered_at"),
                _parse_time(call.get("ended_at"), f"calls[{i}].ended_at"),
                _parse_time(call.get("acknowledged_at"), f"calls[{i}].acknowledged_at"),
                _parse_time(call.get("late_key_at"), f"calls[{i}].late_key_at"),
                _count(call.get("wrong_keys"), f"calls[{i}].wrong_keys"),
                _text(call.get("last_digits"), f"calls[{i}].last_digits", optional=True),
            )
        )
    return Status(
        str(_text(value.get("id"), "id")),
        str(_text(value.get("digit"), "digit")),
        _count(value.get("within_s"), "within_s"),
        _required_time(value.get("registered_at"), "registered_at"),
        _required_time(value.get("expires_at"), "expires_at"),
        tuple(calls),
    )
