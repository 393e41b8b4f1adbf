"""Following placed calls to their end: who answered, for how long, and why it ended.

This module owns reading a call's fate back from Plivo once it was placed
(``run --wait`` and each step of an ``escalate:`` chain).  For an outbound
call the ``request_uuid`` is the call's UUID, so each destination is polled
at a modest interval: live call (``GET .../Call/{uuid}/?status=live``), else
queued call (``?status=queued``), else the detail record
(``GET .../Call/{uuid}/``), until the record is there or the wait runs out.
Every read books a slot of a read rate limiter of its own (never the send
limiter: reading never delays or affects a send).  Reads are read-only, so a
failed read is simply made again at the next poll.  It also owns Plivo's
hangup (``DELETE .../Call/{uuid}/``), which an escalation uses on a call not
answered in time.  See ``docs/plivo-call-state.md`` for what is relied on.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callspec.delivery.credentials import Credentials
from callspec.delivery.rate import RateLimiter
from callspec.delivery.request import USER_AGENT, Timeouts
from callspec.results import Answer, AnsweredBy

if TYPE_CHECKING:
    import requests

DEFAULT_INTERVAL = 2.0  # seconds between two polls of one call
DEFAULT_READ_RATE = 5.0  # state reads per second over the whole run
# A read that gets no answer in this long is made again at the next poll.
READ_TIMEOUTS = Timeouts(connect=5.0, read=10.0)
# Plivo answers "not found" for a call that is not (or no longer) live or queued.
_NOT_FOUND = 404
# Answers no later read can change: reading is refused for these credentials.
_REFUSED = frozenset({401, 403})
_MACHINE = re.compile(r"machine", re.IGNORECASE)


@dataclass(frozen=True)
class WaitOptions:
    """How to follow placed calls: for how long, how often, how fast reads may go."""

    #: Follow each call at most this long after it was placed (seconds).
    seconds: float
    #: Seconds between two polls of one call.
    interval: float = DEFAULT_INTERVAL
    #: Reads per second over the run (Plivo rate-limits its API per account).
    read_rate: float = DEFAULT_READ_RATE
    #: ``--wait-ok no-answer``: a call nobody answered does not fail the run.
    no_answer_ok: bool = False
    timeouts: Timeouts = READ_TIMEOUTS


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
    uuids = [request_uuid] if isinstance(request_uuid, str) else list(request_uuid)
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


@dataclass(frozen=True)
class Reading:
    """One read: the HTTP status and JSON object that came back, or what went wrong."""

    status: int | None
    doc: Mapping[str, Any] | None = None
    error: str | None = None


class _Progress:
    """What is known of one leg so far (mutable; becomes an :class:`Answer`)."""

    def __init__(self, leg: Leg, deadline: float, answer_by: float | None) -> None:
        self.leg = leg
        self.deadline = deadline
        self.answer_by = answer_by
        self.next_poll = 0.0
        self.seen_live = False
        self.state = "unknown"
        self.answered: bool | None = None
        self.record: Mapping[str, Any] | None = None
        self.reads = 0
        self.read_errors = 0
        self.last_error: str | None = None
        self.refused = False
        self.hung_up = False
        self.note: str | None = None

    @property
    def done(self) -> bool:
        return self.record is not None or self.refused


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
    ) -> None:
        self.options = options
        self.environ = environ
        self.redact = redact
        self.stop = stop or threading.Event()
        self.limiter = RateLimiter(options.read_rate)
        self._clock = clock
        self._session: requests.Session | None = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def follow(
        self,
        legs: Sequence[Leg],
        seconds: Sequence[float] | None = None,
        answer_within: float | None = None,
    ) -> list[Answer]:
        """Follow ``legs`` until each ended or its wait ran out; one :class:`Answer` each.

        ``seconds``: each leg's own wait (default the options'); ``answer_within``: hang up
        a leg not answered that soon (escalation), so no two pages ring at once.
        """
        now = self._clock()
        waits = seconds or [self.options.seconds] * len(legs)
        pending = [
            _Progress(
                leg, now + max(0.0, wait), None if answer_within is None else now + answer_within
            )
            for leg, wait in zip(legs, waits, strict=True)
        ]
        todo = list(pending)
        while todo and not self.stop.is_set():
            todo.sort(key=lambda p: p.next_poll)
            p = todo[0]
            now = self._clock()
            due = min(p.next_poll, p.deadline, p.answer_by or p.deadline)
            if due > now and self.stop.wait(due - now):
                break
            now = self._clock()
            if p.answer_by is not None and now >= p.answer_by and not p.answered:
                p.answer_by = None
                self._poll(p)  # a fresh look first: never hang up on someone who just answered
                if not p.answered and not p.done:
                    self._hang_up(p)
                p.next_poll = self._clock()  # read its record: the hangup ends it
                if p.done:
                    todo.remove(p)
                continue
            if now >= p.deadline:
                p.note = self._ran_out(p)
                todo.remove(p)
                continue
            if now >= p.next_poll:
                self._poll(p)
                p.next_poll = self._clock() + self.options.interval
                if p.done:
                    todo.remove(p)
        for p in todo:
            p.note = "the wait was interrupted; " + self._ran_out(p).split("; ", 1)[-1]
        return [self._answer(p) for p in pending]

    # -- reading ---------------------------------------------------------------------------

    def read(self, leg: Leg, query: str = "", method: str = "GET") -> Reading:
        """One request about ``leg`` (``query``: ``?status=live`` / ``?status=queued``)."""
        if not self.limiter.acquire(self.stop):
            return Reading(None, error="interrupted")
        # requests loads with the first read: a dry run never loads the HTTP stack.
        import requests

        from callspec.delivery.http import new_session, proxies_for

        if self._session is None:
            self._session = new_session(self.environ)
        url = state_url(leg.api_url, leg.creds.auth_id, leg.call_uuid) + query
        timeouts = self.options.timeouts
        try:
            response = self._session.request(
                method,
                url,
                auth=(leg.creds.auth_id, leg.creds.auth_token),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=(timeouts.connect, timeouts.read),
                allow_redirects=False,
                proxies=proxies_for(url, self.environ),
            )
        except requests.RequestException as e:
            return Reading(None, error=self.redact(f"{type(e).__name__}: {e}"))
        try:
            doc = json.loads(response.content) if response.content else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = None
        if response.status_code in (200, 204, _NOT_FOUND):
            return Reading(response.status_code, doc)
        said = (doc or {}).get("error") or response.text[:200]
        return Reading(
            response.status_code, doc, self.redact(f"HTTP {response.status_code}: {said}")
        )

    def _get(self, p: _Progress, query: str = "") -> Reading | None:
        """A read that counts; None (and the error noted) when it gave no usable answer."""
        reading = self.read(p.leg, query)
        p.reads += 1
        if reading.status in (200, _NOT_FOUND):
            return reading
        p.read_errors += 1
        p.last_error = reading.error
        if reading.status in _REFUSED:
            p.refused = True
        return None

    def _poll(self, p: _Progress) -> None:
        """live -> queued -> detail record, stopping at the first that knows the call."""
        if not p.seen_live or p.state != "completed":
            live = self._get(p, "?status=live")
            if live is None:
                return
            if live.status == 200:
                p.seen_live = True
                status = str((live.doc or {}).get("call_status") or "in-progress")
                p.state = status
                if status == "in-progress":
                    p.answered = True
                return
            if not p.seen_live:
                queued = self._get(p, "?status=queued")
                if queued is None:
                    return
                if queued.status == 200:
                    p.state = "queued"
                    return
        record = self._get(p, "")
        if record is None:
            return
        if record.status == 200 and record.doc is not None:
            p.record = record.doc
            p.state = "completed"
        elif p.seen_live:
            p.state = "completed"  # ended; its record is not there yet

    def _hang_up(self, p: _Progress) -> None:
        """Plivo's hangup API on a leg not answered in time; made again if it got no answer."""
        for _ in range(3):
            reading = self.read(p.leg, method="DELETE")
            if reading.status in (200, 204, _NOT_FOUND):
                p.hung_up = reading.status != _NOT_FOUND
                return
            if self.stop.is_set() or reading.status in _REFUSED:
                break
        p.last_error = reading.error
        p.note = f"could not hang up: {reading.error}"

    # -- the result -----------------------------------------------------------------------

    def _ran_out(self, p: _Progress) -> str:
        words = {
            "unknown": "its state could not be read",
            "queued": "it was still queued",
            "ringing": "it was still ringing",
            "in-progress": "it was still in progress",
            "completed": "it had ended, but its detail record was not there yet",
        }
        return f"the wait ran out; {words.get(p.state, f'its state was {p.state}')}"

    def _answer(self, p: _Progress) -> Answer:
        leg = p.leg
        answer = Answer(
            call_uuid=leg.call_uuid,
            to=leg.to,
            answered=p.answered,
            state=p.state,
            hung_up=p.hung_up,
            reads=p.reads,
            read_errors=p.read_errors,
            note=p.note,
        )
        if p.record is not None:
            answer = from_record(answer, p.record)
        elif p.answered is None and p.state in ("queued", "ringing", "completed"):
            answer = replace(answer, answered=False)
        if p.refused:
            note = f"reading the call's state was refused: {p.last_error}"
            answer = replace(answer, note=note)
        elif answer.answered is None and p.last_error:
            answer = replace(
                answer, note=f"{answer.note or 'no answer'}; last read: {p.last_error}"
            )
        if p.hung_up:
            note = "not answered in time: hung up with Plivo's hangup API"
            answer = replace(answer, note=note if not answer.note else f"{note}; {answer.note}")
        if leg.machine_detection and answer.answered:
            answer = replace(answer, answered_by=_answered_by(p.record))
        return answer


def from_record(answer: Answer, record: Mapping[str, Any]) -> Answer:
    """``answer`` completed from a detail record (Plivo's ``GET .../Call/{uuid}/``)."""
    call_state = _text(record.get("call_state"))
    answered = bool(record.get("answer_time")) or call_state == "ANSWER"
    return replace(
        answer,
        answered=answered,
        state="completed",
        call_state=call_state,
        answer_time=_text(record.get("answer_time")),
        end_time=_text(record.get("end_time")),
        duration=_number(record.get("call_duration")),
        bill_duration=_number(record.get("bill_duration")),
        hangup_cause=_text(record.get("hangup_cause_name")),
        hangup_cause_code=_number(record.get("hangup_cause_code")),
        hangup_source=_text(record.get("hangup_source")),
    )


def _answered_by(record: Mapping[str, Any] | None) -> AnsweredBy:
    """machine when the record says a machine answered (the hangup cause names one, or a
    ``machine``/``answered_by`` field says so), else human."""
    if record is None:
        return "human"
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
    return None if value is None or value == "" else str(value)


def _number(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None
