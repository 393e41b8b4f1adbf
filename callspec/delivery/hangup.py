"""Ending a placed call that was not answered in time: Plivo's hangup, or its cancel.

An escalation hangs up a step nobody answered within ``answer_within``, so the
next person is never paged while it still rings.  ``DELETE .../Call/{uuid}/``
hangs up a live call; a queued call is no live call (the hangup finds
nothing), so its request is cancelled (``DELETE .../Request/{uuid}/``).  A
request that got no answer is made again (not when told to wait: a
``Retry-After``); what came of it is a :class:`Hangup` of facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from callspec.delivery.legs import Leg
from callspec.delivery.reads import NOT_FOUND, REFUSED, Reader, Reading

_ACCEPTED = (200, 204)
_TRIES = 3


@dataclass(frozen=True)
class Hangup:
    """What became of hanging up one leg."""

    #: Plivo accepted the hangup (or the cancel): the call rings no more.
    hung_up: bool = False
    #: It was still queued: its request was cancelled instead.
    cancelled: bool = False
    #: Plivo did not accept it (the call may still ring): what it answered.
    failed: str | None = None


def hang_up(reader: Reader, leg: Leg, queued: bool) -> Hangup:
    """Hang ``leg`` up (cancel it when it was last seen ``queued``).  Neither live nor
    queued any more (404): nothing was hung up, and its record will say how it ended."""
    reading = _delete(reader, leg, "Call")
    if reading.status == NOT_FOUND and queued:
        reading = _delete(reader, leg, "Request")
        if reading.status in _ACCEPTED:
            return Hangup(hung_up=True, cancelled=True)
    if reading.status in _ACCEPTED:
        return Hangup(hung_up=True)
    if reading.status == NOT_FOUND:
        return Hangup()
    return Hangup(failed=reading.error or "no answer")


def _delete(reader: Reader, leg: Leg, resource: str) -> Reading:
    reading = Reading(None, error="interrupted")
    for _ in range(_TRIES):
        reading = reader.read(leg, method="DELETE", resource=resource)
        if reading.status in (*_ACCEPTED, NOT_FOUND):
            return reading
        if reader.stop.is_set() or reading.status in REFUSED or reading.retry_after:
            break
    return reading
