"""Following placed calls to their end: who answered, for how long, and why it ended.

This module owns reading a call's fate back from Plivo once it was placed
(``run --wait`` and each step of an ``escalate:`` chain).  For an outbound
call the ``request_uuid`` is the call's UUID, so each destination is polled
at a modest interval: live call (``GET .../Call/{uuid}/?status=live``), else
queued call (``?status=queued``), else the detail record
(``GET .../Call/{uuid}/``), until the record is there or the wait runs out.
Every read books a slot of one read rate limiter shared by the whole run
(never the send limiter: reading never delays or affects a send), honours a
``Retry-After``, and must complete within its connect and read timeouts
together (at most 1 MiB is read: the send path's bounded read).  Reads are
read-only, so a failed read is simply made again at the next poll; a 200
that is not a call object counts as a failed read, never as an answer.  A
``request_uuid`` that is not UUID-shaped never goes into a URL.  It also owns
Plivo's hangup (``DELETE .../Call/{uuid}/``) and cancel of a queued request
(``DELETE .../Request/{uuid}/``), which an escalation uses on a call not
answered in time.  Text from the API is cleaned of control characters and
capped before it reaches a note.  See ``docs/plivo-call-state.md``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callspec import defaults
from callspec.delivery.credentials import Credentials
from callspec.delivery.rate import RateLimiter
from callspec.delivery.request import USER_AGENT, Timeouts
from callspec.results import Answer, AnsweredBy
from callspec.text import DEFAULT_CAP, outside

if TYPE_CHECKING:
    import requests

DEFAULT_INTERVAL = defaults.POLL_INTERVAL  # seconds between two polls of one call
DEFAULT_READ_RATE = defaults.READ_RATE  # state reads per second over the whole run
# A read that gets no answer in this long is made again at the next poll.
READ_TIMEOUTS = Timeouts(connect=5.0, read=10.0)
# Plivo answers "not found" for a call that is not (or no longer) live or queued.
_NOT_FOUND = 404
# Answers no later read can change: reading is refused for these credentials.
_REFUSED = frozenset({401, 403})
_MACHINE = re.compile(r"machine", re.IGNORECASE)
#: The shape of a call UUID: nothing else goes into a state, hangup or cancel URL.
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: Characters of the API's text kept in a note or field (as the send path caps them).
MAX_TEXT = DEFAULT_CAP


def clean_text(value: object, cap: int = MAX_TEXT) -> str:
    """Text from the API as it may be printed, for text holding no secret (a state, a
    cause name): :func:`callspec.text.outside` with nothing to mask."""
    return outside(value, str, cap)


def is_call_uuid(value: object) -> bool:
    """True for a UUID-shaped string (what Plivo's request_uuid is)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


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
    # str() each: a journal's or a misbehaving API's number is text, then never followed
    # (not UUID-shaped: see Follower).
    uuids = (
        [str(u) for u in request_uuid] if isinstance(request_uuid, list) else [str(request_uuid)]
    )
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
    #: Seconds the API asked to wait before the next request (``Retry-After``).
    retry_after: float | None = None


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
        #: Not before this (a Retry-After): no read of this leg.
        self.not_before = 0.0
        #: Why the leg cannot be read at all (a request_uuid that is no call UUID).
        self.unreadable: str | None = None
        #: The last poll gave a known state (a fresh look before hanging up must).
        self.looked = False

    @property
    def done(self) -> bool:
        return self.record is not None or self.refused or self.unreadable is not None


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
        self.environ = environ
        self.redact = redact
        self.stop = stop or threading.Event()
        #: Shared by every follower of a run: all reads together keep to the read rate.
        self.limiter = limiter or RateLimiter(options.read_rate)
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
        a leg not answered that soon (escalation), so no two pages ring at once.  A leg is
        hung up only after a fresh read showed it still unanswered: while its state cannot
        be read it is read again (never hung up on a guess) until its wait runs out.
        """
        now = self._clock()
        waits = seconds or [self.options.seconds] * len(legs)
        pending = [
            _Progress(
                leg, now + max(0.0, wait), None if answer_within is None else now + answer_within
            )
            for leg, wait in zip(legs, waits, strict=True)
        ]
        for p in pending:
            if not is_call_uuid(p.leg.call_uuid):
                shown = clean_text(repr(p.leg.call_uuid), 60)
                p.unreadable = f"request_uuid {shown} is not a call UUID: its state cannot be read"
        todo = [p for p in pending if not p.done]
        while todo and not self.stop.is_set():
            todo.sort(key=lambda p: max(p.next_poll, p.not_before))
            p = todo[0]
            now = self._clock()
            due = min(max(p.next_poll, p.not_before), p.deadline, p.answer_by or p.deadline)
            if due > now and self.stop.wait(due - now):
                break
            now = self._clock()
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
                ran_out = self._ran_out(p)
                p.note = f"{p.note}; {ran_out}" if p.note else ran_out
                todo.remove(p)
                continue
            if now >= p.next_poll and now >= p.not_before:
                self._poll(p)
                p.next_poll = self._clock() + self.options.interval
                if p.done:
                    todo.remove(p)
        for p in todo:
            cut = "the wait was interrupted; " + self._ran_out(p).split("; ", 1)[-1]
            p.note = f"{p.note}; {cut}" if p.note else cut
        return [self._answer(p) for p in pending]

    # -- reading ---------------------------------------------------------------------------

    def read(
        self, leg: Leg, query: str = "", method: str = "GET", resource: str = "Call"
    ) -> Reading:
        """One request about ``leg`` (``query``: ``?status=live`` / ``?status=queued``;
        ``resource``: ``Call``, or ``Request`` for the cancel of a queued call)."""
        if not self.limiter.acquire(self.stop):
            return Reading(None, error="interrupted")
        if not is_call_uuid(leg.call_uuid):
            return Reading(None, error="the request_uuid is not a call UUID")
        # requests loads with the first read: a dry run never loads the HTTP stack.
        import requests

        from callspec.delivery.classify import retry_after_seconds
        from callspec.delivery.http import TooSlow, new_session, proxies_for, read_within

        if self._session is None:
            self._session = new_session(self.environ)
        url = state_url(leg.api_url, leg.creds.auth_id, leg.call_uuid) + query
        if resource != "Call":
            url = url.replace(f"/Call/{leg.call_uuid}/", f"/{resource}/{leg.call_uuid}/")
        timeouts = self.options.timeouts
        # requests' read timeout bounds each recv, not the answer: a server trickling a
        # byte at a time would hold the wait (and Ctrl-C) forever.  The whole answer must
        # come within the connect and read timeouts together, 1 MiB at most.
        deadline = time.perf_counter() + timeouts.connect + timeouts.read
        try:
            response = self._session.request(
                method,
                url,
                auth=(leg.creds.auth_id, leg.creds.auth_token),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=(timeouts.connect, timeouts.read),
                allow_redirects=False,
                proxies=proxies_for(url, self.environ),
                stream=True,
            )
            with response:
                content = read_within(response, deadline)
        except TooSlow:
            total = timeouts.connect + timeouts.read
            return Reading(None, error=f"the answer did not complete within {total:g} s")
        except requests.RequestException as e:
            return Reading(None, error=outside(f"{type(e).__name__}: {e}", self.redact))
        try:
            doc = json.loads(content) if content else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = None
        status = response.status_code
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 200 and doc is None and method == "GET":
            return Reading(None, error="HTTP 200 that is not a call object", retry_after=wait)
        # Masked whole, then cut: a token cut in two would show its first half.
        said = (doc or {}).get("error") or content.decode("utf-8", "replace")
        error = outside(f"HTTP {status}: {said}", self.redact)
        if status in (200, 204, _NOT_FOUND):
            # A 404's words are kept: they may say why (the sandbox needs --simulate).
            return Reading(status, doc, error if status == _NOT_FOUND else None)
        return Reading(status, doc, error, wait)

    def _get(self, p: _Progress, query: str = "") -> Reading | None:
        """A read that counts; None (and the error noted) when it gave no usable answer."""
        reading = self.read(p.leg, query)
        p.reads += 1
        if reading.status in (200, _NOT_FOUND):
            return reading
        p.looked = False
        if reading.retry_after is not None:
            p.not_before = self._clock() + reading.retry_after
        p.read_errors += 1
        p.last_error = reading.error
        if reading.status in _REFUSED:
            p.refused = True
        return None

    def _poll(self, p: _Progress) -> None:
        """live -> queued -> detail record, stopping at the first that knows the call."""
        p.looked = False
        if not p.seen_live or p.state != "completed":
            live = self._get(p, "?status=live")
            if live is None:
                return
            if live.status == 200:
                said = (live.doc or {}).get("call_status")
                if not isinstance(said, str) or not said:
                    p.read_errors += 1
                    p.last_error = "HTTP 200 that names no call_status"
                    return
                p.seen_live = True
                p.looked = True
                status = clean_text(said, 40)
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
                    p.looked = True
                    return
        record = self._get(p, "")
        if record is None:
            return
        p.looked = True
        if record.status == 200 and record.doc is not None:
            p.record = record.doc
            p.state = "completed"
        elif p.seen_live:
            p.state = "completed"  # ended; its record is not there yet
        else:
            p.last_error = record.error  # not found anywhere: what the API said of it

    def _hang_up(self, p: _Progress) -> None:
        """Plivo's hangup API on a leg not answered in time; made again if it got no answer
        (not when told to wait: a Retry-After).  A queued call is no live call (the hangup
        finds nothing): its request is cancelled with Plivo's cancel API instead."""
        reading = self._delete(p, "Call")
        if reading.status == _NOT_FOUND and p.state == "queued":
            reading = self._delete(p, "Request")
            if reading.status in (200, 204):
                p.hung_up = True
                p.note = "still queued: cancelled with Plivo's cancel API"
                return
            if reading.status == _NOT_FOUND:
                return  # neither live nor queued any more: its record will say
        if reading.status in (200, 204, _NOT_FOUND):
            p.hung_up = reading.status != _NOT_FOUND
            return
        p.last_error = reading.error
        p.note = f"could not hang up: {reading.error}"

    def _delete(self, p: _Progress, resource: str) -> Reading:
        reading = Reading(None, error="interrupted")
        for _ in range(3):
            reading = self.read(p.leg, method="DELETE", resource=resource)
            if reading.status in (200, 204, _NOT_FOUND):
                return reading
            if self.stop.is_set() or reading.status in _REFUSED or reading.retry_after:
                break
        return reading

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
        if p.unreadable is not None:
            answer = replace(answer, note=p.unreadable)
        elif p.refused:
            note = f"reading the call's state was refused: {p.last_error}"
            answer = replace(answer, note=note)
        elif answer.answered is None and p.last_error:
            answer = replace(
                answer, note=f"{answer.note or 'no answer'}; last read: {p.last_error}"
            )
        if p.hung_up and not (p.note or "").startswith("still queued"):
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


def _answered_by(record: Mapping[str, Any] | None) -> AnsweredBy | None:
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
