"""Reading a page's acknowledgement back from the answer service, and whether to believe it.

A call with ``ack:`` is acknowledged when its callee pressed the key within
``ack.within`` seconds of answering; callspec's answer service
(:mod:`callspec.serve`) records the key, and the follower reads it back here
(:class:`AckReader`: one signed request for every destination of the call).

The service's answer is untrusted input, as the API's is.  It is believed only
when it is about this registration, this key and this window, names only calls
this run placed, and gives times that fit (the key after the answer and within
the window, and neither long before the call was placed nor in the future):
otherwise every destination's acknowledgement is *unknown* (never "not
acknowledged"), and an escalation stops there.  A destination the service never
saw answered was not acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from callspec.text import outside

if TYPE_CHECKING:
    from callspec.serve.client import ServiceClient
    from callspec.serve.status import Status
    from callspec.spec.model import Ack

#: Seconds two clocks may differ (the signed channel's own window: docs/serve.md).
SKEW_S = 300.0
#: Failed reads of a finished call's acknowledgement before it is given up as unknown.
FINAL_TRIES = 3


@dataclass(frozen=True)
class Acked:
    """What the service says of one destination, believed."""

    acknowledged: bool
    #: When the service saw the call answered (seconds since the epoch), if it did.
    answered_at: float | None = None
    acknowledged_at: str | None = None
    late_key_at: str | None = None
    wrong_keys: int = 0


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")


def believed(
    status: Status,
    registration: str,
    ack: Ack,
    uuids: Sequence[str],
    placed_at: float,
    now: float,
) -> dict[str, Acked] | str:
    """Each of ``uuids`` (the call's destinations) as ``status`` says; why it cannot be
    believed instead (the whole answer is then unknown)."""
    if status.id != registration:
        return "the answer service answered about another registration"
    if status.digit != ack.digit or status.within_s != ack.within:
        return "the answer service holds another key or window than this page asked for"
    ours = {uuid.lower(): uuid for uuid in uuids}
    found: dict[str, Acked] = {}
    for call in status.calls:
        uuid = ours.get(call.call_uuid.lower())
        if uuid is None:
            shown = outside(call.call_uuid, str, 60)
            return f"the answer service names a call this run did not place ({shown})"
        answered = call.answered_at.timestamp() if call.answered_at else None
        at = call.acknowledged_at.timestamp() if call.acknowledged_at else None
        if at is not None:
            fits = (
                answered is not None
                and answered <= at <= answered + ack.within + 1
                and placed_at - SKEW_S <= at <= now + SKEW_S
            )
            if not fits:
                return "the answer service's time of the acknowledgement does not fit the call"
        found[uuid] = Acked(
            at is not None,
            answered,
            _iso(call.acknowledged_at),
            _iso(call.late_key_at),
            call.wrong_keys,
        )
    return {uuid: found.get(uuid, Acked(False)) for uuid in uuids}


class AckReader:
    """The answer service's word on one call's destinations; never raises."""

    def __init__(
        self,
        client: ServiceClient,
        registration: str,
        ack: Ack,
        uuids: Sequence[str],
        placed_at: float,
        redact: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.registration = registration
        self.ack = ack
        self.uuids = tuple(uuids)
        self.placed_at = placed_at
        self.redact = redact
        self._clock = clock

    def read(self) -> dict[str, Acked] | str:
        """Every destination's acknowledgement, or why none could be read or believed."""
        from callspec.serve.client import ServiceError

        try:
            status = self.client.status(self.registration)
        except ServiceError as e:
            return outside(e, self.redact)
        except Exception as e:  # a bug must not end the follow: the ack is unknown
            return outside(f"internal error: {type(e).__name__}: {e}", self.redact)
        return believed(
            status, self.registration, self.ack, self.uuids, self.placed_at, self._clock()
        )


class AckWatch:
    """One destination's acknowledgement as the follower learns it (mutable)."""

    def __init__(self, reader: AckReader, call_uuid: str, within: float | None) -> None:
        self.reader = reader
        self.call_uuid = call_uuid
        #: Seconds the callee has, once answered, before the call is hung up (an escalation
        #: ``until: acknowledged``); None: never hung up for it.
        self.within = within
        #: When (the follower's clock) to hang up if not acknowledged by then.
        self.by: float | None = None
        self.facts: Acked | None = None
        self.error: str | None = None
        #: A read made once the call ended was believed; reads of it that failed.
        self.final = False
        self.final_failures = 0
        #: The call was hung up because it was answered and not acknowledged in time.
        self.hung_up = False

    @property
    def acknowledged(self) -> bool:
        return self.facts is not None and self.facts.acknowledged

    def verdict(self, answered: bool | None) -> bool | None:
        """The destination's acknowledgement once following ends: True once believed; False
        when it was never answered, or a read after its end said so; else None (unknown)."""
        if self.acknowledged:
            return True
        if answered is False:
            return False  # nobody answered: nobody could press the key
        return False if self.final else None

    def answered(self, now: float) -> None:
        """The call was seen answered at ``now``: its window starts (once)."""
        if self.by is None and self.within is not None and not self.hung_up:
            self.by = now + self.within

    def look(self, final: bool = False) -> Acked | None:
        """Read it now (``final``: the call has ended); the facts, or None (and why kept in
        ``error``: the acknowledgement is then unknown until a read is believed)."""
        said = self.reader.read()
        if isinstance(said, str):
            self.error = said  # what was believed before stays (an acknowledgement is kept)
            self.final_failures += final
            return None
        self.facts, self.error = said[self.call_uuid], None
        self.final = self.final or final
        if self.facts.acknowledged:
            self.by = None  # acknowledged: nothing to hang up for
        return self.facts

    def settled(self) -> bool:
        """Once the call ended: a read made since was believed, or none can be."""
        return self.final or self.final_failures >= FINAL_TRIES
