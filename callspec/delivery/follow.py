"""Following placed calls to their end: the scheduler that polls each leg until it ends.

This module owns when each leg is read and what the reads add up to (``run
--wait`` and each step of an ``escalate:`` chain).  Each leg is polled at a
modest interval: live call (``?status=live``), else queued call
(``?status=queued``), else its detail record, until the record is there or
the wait runs out; the requests themselves are :mod:`~callspec.delivery.reads`'.

Only positive evidence counts.  A call is over when its detail record came
(or Plivo accepted its hangup or cancel); a call that is neither live nor
recorded (one 404 after it was seen live) has not been seen to end: it is read
again, and stays unknown if the wait runs out.  A call is hung up (escalation:
not answered within ``answer_within``) only after a fresh read showed it
ringing or queued, never on a failed read or a guess.  A read whose answer
names another call (:func:`~callspec.delivery.callstate.foreign`), or a record
that says "not answered" of a call seen in progress, makes the leg unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from callspec.delivery.acks import AckWatch
from callspec.delivery.callstate import (
    answered_by,
    clean_text,
    foreign,
    from_record,
    live_status,
    record_answered,
)
from callspec.delivery.hangup import hang_up
from callspec.delivery.legs import Leg, is_call_uuid
from callspec.delivery.rate import RateLimiter
from callspec.delivery.reads import NOT_FOUND, REFUSED, Reader, Reading
from callspec.delivery.wait import WaitOptions
from callspec.results import Answer

#: How a leg's last known state reads when the wait ends before the leg did.
_STATE_WORDS = {
    "unknown": "its state could not be read",
    "queued": "it was still queued",
    "ringing": "it was still ringing",
    "in-progress": "it was still in progress",
}


class _Progress:
    """What is known of one leg so far (mutable; becomes an :class:`Answer`)."""

    def __init__(self, leg: Leg, deadline: float, answer_by: float | None) -> None:
        self.leg = leg
        self.deadline = deadline
        self.answer_by = answer_by
        self.next_poll = 0.0
        self.seen_live = False
        #: The last state a read showed: queued, ringing, in-progress, completed (its record
        #: came) or unknown.
        self.state = "unknown"
        self.answered: bool | None = None
        self.record: Mapping[str, object] | None = None
        self.reads = 0
        self.read_errors = 0
        self.last_error: str | None = None
        self.refused = False
        self.hung_up = False
        self.cancelled = False
        #: Plivo did not accept the hangup: what it said.
        self.hangup_failed: str | None = None
        #: Not before this (a Retry-After): no read of this leg.
        self.not_before = 0.0
        #: Why the leg cannot be read at all (a request_uuid that is no call UUID).
        self.unreadable: str | None = None
        #: Why the API's answers about this leg cannot be believed (they name another call,
        #: or contradict each other): the leg is unknown.
        self.distrust: str | None = None
        #: Seen live, then neither live nor recorded: not seen to end (yet).
        self.gone = False
        #: The last poll gave a fresh state (ringing, queued): the one ground for a hangup.
        self.looked = False
        #: How the wait ended before the leg did: "ran out" or "was interrupted".
        self.cut: str | None = None
        #: A call with ``ack:``: its acknowledgement, read from the answer service.
        self.ack: AckWatch | None = None

    @property
    def done(self) -> bool:
        if self.refused or self.unreadable is not None or self.distrust is not None:
            return True
        if self.record is None:
            return False
        # Ended; an answered call with an ack is done once a read since its end counts.
        return self.ack is None or not record_answered(self.record) or self.ack.settled()


class Follower:
    """Follows legs to their end with polls spaced ``interval`` apart per leg and every read
    booking a slot of one read limiter.  Never raises for what the API answers."""

    def __init__(
        self,
        options: WaitOptions,
        environ: Mapping[str, str],
        redact: Callable[[str], str],
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.options = options
        self.stop = stop or threading.Event()
        # Shared by every follower of a run: all reads together keep to the read rate.
        limiter = limiter or RateLimiter(options.read_rate)
        self.reader = Reader(options, environ, redact, self.stop, limiter)
        self._clock = clock

    def close(self) -> None:
        self.reader.close()

    def follow(
        self,
        legs: Sequence[Leg],
        seconds: Sequence[float] | None = None,
        answer_within: float | None = None,
        acks: Sequence[AckWatch | None] | None = None,
    ) -> list[Answer]:
        """Follow ``legs`` until each ended or its wait ran out; one :class:`Answer` each.

        ``seconds``: each leg's own wait (default the options'); ``answer_within``: hang up
        a leg not answered that soon (escalation), so no two pages ring at once.  A leg is
        hung up only after a fresh read showed it still unanswered: while its state cannot
        be read it is read again (never hung up on a guess) until its wait runs out.
        ``acks``: each leg's acknowledgement to read back (a call with ``ack:``), and hang
        up once answered and not acknowledged in time (``until: acknowledged``): again only
        after fresh reads of the call and of the acknowledgement said so.
        """
        now = self._clock()
        waits = seconds or [self.options.seconds] * len(legs)
        pending = [
            _Progress(
                leg, now + max(0.0, wait), None if answer_within is None else now + answer_within
            )
            for leg, wait in zip(legs, waits, strict=True)
        ]
        for p, ack in zip(pending, acks or (), strict=False):
            p.ack = ack
        for p in pending:
            if not is_call_uuid(p.leg.call_uuid):
                shown = clean_text(repr(p.leg.call_uuid), 60)
                p.unreadable = f"request_uuid {shown} is not a call UUID: its state cannot be read"
        todo = [p for p in pending if not p.done]
        while todo and not self.stop.is_set():
            todo.sort(key=lambda p: max(p.next_poll, p.not_before))
            p = todo[0]
            now = self._clock()
            ack_by = p.ack.by if p.ack is not None and p.record is None else None
            due = min(
                max(p.next_poll, p.not_before),
                p.deadline,
                p.answer_by or p.deadline,
                ack_by or p.deadline,
            )
            if due > now and self.stop.wait(due - now):
                break
            now = self._clock()
            if p.ack is not None and ack_by is not None and now >= ack_by:
                self._ack_due(p)
                if p.done:
                    todo.remove(p)
                continue
            if p.answer_by is not None and now >= p.answer_by and not p.answered:
                if now < p.not_before and now < p.deadline:
                    p.answer_by = p.not_before  # told to wait: look again then
                    continue
                p.answer_by = None
                self._poll(p)  # a fresh look first: never hang up on someone who just answered
                if not p.answered and not p.done and p.looked:
                    self._hang_up(p)
                elif not p.answered and not p.done:
                    # Its state could not be read: look again, never hang up on a guess.
                    p.answer_by = self._clock() + self.options.interval
                p.next_poll = self._clock()  # read its record: the hangup ends it
                if p.done:
                    todo.remove(p)
                continue
            if now >= p.deadline:
                p.cut = "ran out"
                todo.remove(p)
                continue
            if now >= p.next_poll and now >= p.not_before:
                self._poll(p)
                p.next_poll = self._clock() + self.options.interval
                if p.done:
                    todo.remove(p)
        for p in todo:
            p.cut = "was interrupted"
        return [self._answer(p) for p in pending]

    # -- reading ---------------------------------------------------------------------------

    def _get(self, p: _Progress, query: str = "") -> Reading | None:
        """A read that counts; None (and the error noted) when it gave no usable answer."""
        reading = self.reader.read(p.leg, query)
        p.reads += 1
        if reading.status in (200, NOT_FOUND):
            return reading
        if reading.retry_after is not None:
            p.not_before = self._clock() + reading.retry_after
        p.read_errors += 1
        p.last_error = reading.error
        if reading.status in REFUSED:
            p.refused = True
        return None

    def _ack_due(self, p: _Progress) -> None:
        """Answered, and the time to acknowledge is up: hang up, once fresh reads of the
        call (in progress) and of its acknowledgement (none) both say so."""
        assert p.ack is not None
        p.ack.by = None
        self._poll(p)  # reads the acknowledgement too while the call is in progress
        fresh = p.ack.error is None and p.ack.facts is not None and p.looked
        if fresh and not p.ack.acknowledged and p.state == "in-progress" and not p.done:
            p.ack.hung_up = True
            self._hang_up(p)
        elif not p.ack.acknowledged and not p.done and p.record is None:
            p.ack.by = self._clock() + self.options.interval  # could not tell: look again
        p.next_poll = self._clock()  # read its record: the hangup ends it

    def _poll(self, p: _Progress) -> None:
        """live -> queued -> detail record, stopping at the first that knows the call."""
        p.looked = False
        if p.record is not None and p.ack is not None:
            p.ack.look(final=True)  # it ended: only its acknowledgement is still to read
            return
        live = self._get(p, "?status=live")
        if live is None or self._foreign(p, live):
            return
        if live.status == 200:
            status = live_status(live.doc)
            if status is None:
                p.read_errors += 1
                p.last_error = "HTTP 200 that names no call_status"
                return
            p.seen_live, p.gone, p.looked, p.state = True, False, True, status
            if status == "in-progress":
                p.answered = True
                if p.ack is not None:
                    p.ack.answered(self._clock())
                    p.ack.look()
            return
        if not p.seen_live:
            queued = self._get(p, "?status=queued")
            if queued is None or self._foreign(p, queued):
                return
            if queued.status == 200:
                p.state, p.looked = "queued", True
                return
        record = self._get(p, "")
        if record is None or self._foreign(p, record):
            return
        if record.status == 200 and record.doc is not None:
            if p.answered and not record_answered(record.doc):
                p.distrust = (
                    "its detail record says it was not answered, but it was seen in "
                    "progress: its state is unknown"
                )
                return
            p.record = record.doc
            p.state = "completed"
            if p.ack is not None and record_answered(record.doc):
                p.ack.look(final=True)
        elif p.seen_live:
            # Not live, not recorded: no evidence it ended (one 404 proves nothing). Read again.
            p.gone = True
        else:
            p.last_error = record.error  # not found anywhere: what the API said of it

    def _foreign(self, p: _Progress, reading: Reading) -> bool:
        """True (and the leg unknown) when ``reading`` is about another call."""
        if reading.status != 200:
            return False
        p.distrust = foreign(reading.doc, p.leg.call_uuid, p.leg.to)
        return p.distrust is not None

    def _hang_up(self, p: _Progress) -> None:
        """Plivo's hangup (or cancel) of a leg not answered in time."""
        done = hang_up(self.reader, p.leg, queued=p.state == "queued")
        p.hung_up, p.cancelled = done.hung_up, done.cancelled
        if done.failed is not None:
            p.hangup_failed = p.last_error = done.failed

    # -- the result -----------------------------------------------------------------------

    def _answer(self, p: _Progress) -> Answer:
        leg = p.leg
        answer = Answer(
            call_uuid=leg.call_uuid,
            to=leg.to,
            answered=p.answered,
            state=p.state,
            hung_up=p.hung_up,
            cancelled=p.cancelled,
            hangup_failed=p.hangup_failed is not None,
            reads=p.reads,
            read_errors=p.read_errors,
        )
        if p.distrust is not None or p.unreadable is not None:
            answer = replace(answer, answered=None)
        elif p.record is not None:
            answer = from_record(answer, p.record)
        elif p.answered is None and p.state in ("queued", "ringing") and not p.gone:
            answer = replace(answer, answered=False)  # last seen unanswered
        if leg.machine_detection and answer.answered:
            answer = replace(answer, answered_by=answered_by(p.record))
        if p.ack is not None:
            facts = p.ack.facts
            answer = replace(
                answer,
                acknowledged=p.ack.verdict(answer.answered),
                acknowledged_at=facts.acknowledged_at if facts else None,
                late_key_at=facts.late_key_at if facts else None,
                wrong_keys=facts.wrong_keys if facts else 0,
            )
        return replace(answer, note=self._note(p, answer))

    def _note(self, p: _Progress, answer: Answer) -> str | None:
        """What a reader should know of the leg, from the facts gathered."""
        answered = answer.answered
        if p.unreadable is not None:
            return p.unreadable
        if p.distrust is not None:
            return p.distrust
        if p.refused:
            return f"reading the call's state was refused: {p.last_error}"
        parts = []
        if p.cancelled:
            parts.append("still queued: cancelled with Plivo's cancel API")
        elif p.hung_up and p.ack is not None and p.ack.hung_up:
            parts.append("answered, not acknowledged in time: hung up with Plivo's hangup API")
        elif p.hung_up:
            parts.append("not answered in time: hung up with Plivo's hangup API")
        if p.hangup_failed is not None:
            parts.append(f"could not hang up: {p.hangup_failed}")
        if p.cut is not None:
            parts.append(f"the wait {p.cut}; {self._state_words(p)}")
        if answered is None and p.last_error and p.hangup_failed is None:
            parts.append(f"{'' if parts else 'no answer; '}last read: {p.last_error}")
        if p.ack is not None and answer.acknowledged is None and p.ack.error:
            parts.append(f"whether it was acknowledged is unknown: {p.ack.error}")
        return "; ".join(parts) or None

    def _state_words(self, p: _Progress) -> str:
        if p.gone:
            return "it was not live any more, but its detail record was not there yet"
        return _STATE_WORDS.get(p.state, f"its state was {p.state}")
