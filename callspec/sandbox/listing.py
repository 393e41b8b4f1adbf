"""Plivo's list endpoints over the simulated calls: live calls, queued calls, detail records.

``GET /v1/Account/{auth_id}/Call/`` answers, as Plivo documents it and the official
SDK calls it:

- ``?status=live`` (SDK ``LiveCalls.list_ids``): ``{"api_id", "calls": [call_uuid, ...]}``
  of the calls ringing or in progress, filtered by ``call_direction``,
  ``from_number`` and ``to_number``;
- ``?status=queued`` (SDK ``QueuedCalls.list_ids``): the same shape, for queued calls;
- no ``status`` ("Retrieve all calls"): the detail records of completed calls,
  newest first, ``{"api_id", "meta": {count, limit, offset, next, previous},
  "objects": [...]}``, filtered by ``call_direction``, ``from_number``,
  ``to_number`` (each number "the exact number or the prefix"), ``end_time`` and
  ``bill_duration`` (each also with ``__gt``, ``__gte``, ``__lt``, ``__lte``; times in
  UTC as ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``), ``hangup_cause_code``,
  ``hangup_source`` and ``parent_call_uuid``.

Every list takes ``limit`` (1 to 20, default 20) and ``offset``.  A malformed
filter is a 400 in Plivo's error shape; a parameter Plivo does not document is
ignored.  The caller holds the registry's lock (:meth:`CallRegistry.list_calls`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from callspec.sandbox.answers import new_id

if TYPE_CHECKING:
    from callspec.sandbox.calls import SimCall

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "": lambda a, b: a == b,
    "__gt": lambda a, b: a > b,
    "__gte": lambda a, b: a >= b,
    "__lt": lambda a, b: a < b,
    "__lte": lambda a, b: a <= b,
}
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


class BadFilter(ValueError):
    """A filter's value that Plivo would refuse: the 400's text."""


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _int(text: str, name: str, low: int, high: int | None = None) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise BadFilter(f"{name} must be a whole number")
    value = int(text)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise BadFilter(f"{name} must be {bounds}")
    return value


def _time(text: str, name: str) -> datetime:
    for shape in _TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), shape).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise BadFilter(f"{name} must be a UTC time as YYYY-MM-DD HH:MM[:ss[.uuuuuu]]")


def _number(text: str) -> str:
    return text.strip().lstrip("+")


def _matches_number(value: str, wanted: str | None) -> bool:
    """Plivo: "the exact number or the prefix"."""
    return wanted is None or _number(value).startswith(_number(wanted))


def _direction(query: Mapping[str, Sequence[str]]) -> str | None:
    direction = _one(query, "call_direction")
    if direction is not None and direction not in ("inbound", "outbound"):
        raise BadFilter("call_direction must be inbound or outbound")
    return direction


def _page(query: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    limit, offset = _one(query, "limit"), _one(query, "offset")
    return (
        _int(limit, "limit", 1, 20) if limit is not None else 20,
        _int(offset, "offset", 0) if offset is not None else 0,
    )


def _compared(
    query: Mapping[str, Sequence[str]], name: str, parse: Callable[[str, str], Any]
) -> list[tuple[Callable[[Any, Any], bool], Any]]:
    """The ``name``, ``name__gt`` ... filters given: (comparison, value) pairs."""
    found = []
    for suffix, op in _OPS.items():
        text = _one(query, name + suffix)
        if text is not None:
            found.append((op, parse(text, name + suffix)))
    return found


def answer_list(
    calls: Iterable[SimCall], query: Mapping[str, Sequence[str]], auth_id: str
) -> tuple[int, dict[str, Any]]:
    """``GET .../Call/``: (HTTP status, body) over ``calls`` (one account's)."""
    try:
        status = _one(query, "status")
        limit, offset = _page(query)
        direction = _direction(query)
        if status in ("live", "queued"):
            return 200, _ids(calls, status, query, direction, limit, offset)
        if status is not None:
            raise BadFilter("status must be live or queued")
        return 200, _records(calls, query, direction, limit, offset, auth_id)
    except BadFilter as e:
        return 400, {"api_id": new_id(), "error": str(e)}


def _ids(
    calls: Iterable[SimCall],
    status: str,
    query: Mapping[str, Sequence[str]],
    direction: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    states = ("ringing", "in-progress") if status == "live" else ("queued",)
    from_number, to_number = _one(query, "from_number"), _one(query, "to_number")
    chosen = [
        call.call_uuid
        for call in sorted(calls, key=lambda c: c.initiated, reverse=True)
        if call.state in states
        and direction in (None, "outbound")
        and _matches_number(str(call.body.get("from", "")), from_number)
        and _matches_number(call.to, to_number)
    ]
    return {"api_id": new_id(), "calls": chosen[offset : offset + limit]}


def _records(
    calls: Iterable[SimCall],
    query: Mapping[str, Sequence[str]],
    direction: str | None,
    limit: int,
    offset: int,
    auth_id: str,
) -> dict[str, Any]:
    from callspec.sandbox.calls import detail_record

    ends = _compared(query, "end_time", _time)
    durations = _compared(query, "bill_duration", lambda text, name: _int(text, name, 0))
    code = _one(query, "hangup_cause_code")
    source, parent = _one(query, "hangup_source"), _one(query, "parent_call_uuid")
    from_number, to_number = _one(query, "from_number"), _one(query, "to_number")
    chosen = []
    for call in sorted(calls, key=lambda c: c.ended or c.initiated, reverse=True):
        if call.state != "completed" or call.cause is None or call.ended is None:
            continue
        kept = (
            direction in (None, "outbound")
            and _matches_number(str(call.body.get("from", "")), from_number)
            and _matches_number(call.to, to_number)
            and all(op(call.ended, value) for op, value in ends)
            and all(op(call.duration, value) for op, value in durations)
            and (code is None or code.strip() == str(call.cause.code))
            and (source is None or source == call.cause.source)
            and parent is None  # a simulated call has no parent leg
        )
        if kept:
            chosen.append(call)
    page = chosen[offset : offset + limit]
    base = f"/v1/Account/{auth_id}/Call/"
    rest = {k: v[-1] for k, v in query.items() if k not in ("limit", "offset") and v}

    def link(at: int) -> str:
        return f"{base}?{urlencode({**rest, 'limit': limit, 'offset': at})}"

    return {
        "api_id": new_id(),
        "meta": {
            "count": len(chosen),
            "limit": limit,
            "offset": offset,
            "next": link(offset + limit) if offset + limit < len(chosen) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
        },
        "objects": [detail_record(call) for call in page],
    }
