"""What a run produced: one result per call, every attempt, and the run around them.

Plain frozen dataclasses shared by the runner (which fills them), the journal
and the reporters (which read them).  Outcomes form a closed set; the summary
and the exit code are derived from the results, never kept beside them.  When
an escalation step ended its chain, or may still ring, is the escalation
policy's to say (:mod:`callspec.delivery.settled`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from callspec.delivery import settled
from callspec.errors import ExitCode, Problem

if TYPE_CHECKING:  # the check stage's types load with a check, not with every run
    from callspec.check.model import UrlCheck
    from callspec.spec.model import CallPlan, Escalation, Message


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds (every time a run records)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_of(iso: str) -> float:
    """Seconds since the epoch of a time callspec recorded (:func:`now_iso`); now when it
    is no such time."""
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return datetime.now(timezone.utc).timestamp()


Outcome = Literal["fired", "queued", "failed", "unknown", "skipped", "invalid"]
OUTCOMES: tuple[Outcome, ...] = ("fired", "queued", "failed", "unknown", "skipped", "invalid")
Mode = Literal["live", "sandbox", "dry-run"]
ErrorKind = Literal["build", "connect", "tls", "timeout", "connection", "internal"]
StopKind = Literal["interrupt", "journal", "bail"]
#: Why a call was not sent: a dry run; the plan held it back (its person is in quiet
#: hours); the resumed journal shows it placed; the run stopped sending (a Ctrl-C, a
#: journal write, the circuit breaker); its escalation chain was answered before it (in
#: this run or the resumed journal's), or stopped at an earlier step that may still ring;
#: Plivo shows its destination called from its caller ID within its ``cooldown:``.
SkipKind = Literal["dry-run", "held", "resumed", "halt", "answered", "unsettled", "cooldown"]


@dataclass(frozen=True)
class Stopped:
    """Why a run stopped sending before its end: a Ctrl-C, a journal write, the circuit breaker."""

    kind: StopKind
    reason: str
    time: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: what came back, or what went wrong on the wire."""

    started: str
    duration_ms: float
    status: int | None = None
    error: str | None = None
    #: True when the request may have reached the API (so it must not be resent).
    maybe_sent: bool = True
    retry_after: float | None = None
    #: What went wrong, when no HTTP answer came: ``build`` (nothing sent), ``connect``
    #: and ``tls`` (no connection: nothing sent), ``timeout``, ``connection`` (lost
    #: after the request was written) and ``internal`` (may have been sent).
    error_kind: ErrorKind | None = None
    #: For an HTTP answer that is no success: what it said (the API's error, message or
    #: text, and callspec's notes), without the status; outputs put the status before it.
    detail: str | None = None


AnsweredBy = Literal["human", "machine"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one placed call (one destination of it) after it was placed.

    Read back from Plivo's call state (live, queued) and the call's detail
    record by ``run --wait`` and ``escalate:``.  ``answered`` is None when
    nothing certain could be read (every read failed).
    """

    call_uuid: str
    #: The destination this leg rang, when known.
    to: str | None
    answered: bool | None
    #: human or machine, when machine detection was asked for and the call was answered.
    answered_by: AnsweredBy | None = None
    #: The last state seen: queued, ringing, in-progress, completed or unknown.
    state: str = "unknown"
    #: The detail record's call_state (ANSWER, NOANSWER, BUSY...), when one was read.
    call_state: str | None = None
    answer_time: str | None = None
    end_time: str | None = None
    duration: int | None = None
    bill_duration: int | None = None
    hangup_cause: str | None = None
    hangup_cause_code: int | None = None
    hangup_source: str | None = None
    #: True when callspec hung the call up itself (escalation: not answered in time), or
    #: cancelled it while it was queued (then ``cancelled`` too).
    hung_up: bool = False
    cancelled: bool = False
    #: True when callspec tried to hang the call up and Plivo did not accept it: the call
    #: may still ring.
    hangup_failed: bool = False
    #: How many reads of the call's state were made, and how many failed.
    reads: int = 0
    read_errors: int = 0
    #: What a reader should know: the wait ran out, reads failed, the call was hung up.
    note: str | None = None
    #: For a call with ``ack:``, what the answer service recorded of this destination:
    #: the acknowledging key pressed in time (True), not (False), or None when it could not
    #: be read or believed (or no ack was asked); when, a key too late, other keys pressed.
    acknowledged: bool | None = None
    acknowledged_at: str | None = None
    late_key_at: str | None = None
    wrong_keys: int = 0


def answer_text(answer: Answer) -> str:
    """How a followed destination ended, in a few words, for people:
    ``not answered (NOANSWER, No Answer, source Carrier), 0 s``."""
    if answer.answered_by == "machine":
        said = "answered by a machine"
    elif answer.answered is None:
        said = "state unknown"
    else:
        said = "answered" if answer.answered else "not answered"
    source = f"source {answer.hangup_source}" if answer.hangup_source else None
    how = ", ".join(x for x in (answer.call_state, answer.hangup_cause, source) if x)
    text = said + (f" ({how})" if how else "")
    if answer.duration is not None:
        text += f", {answer.duration} s"
    text += _ack_text(answer)
    if answer.note:
        text += f": {answer.note}"
    return text


def _ack_text(answer: Answer) -> str:
    """What the answer service recorded (``ack:``), when it was read and believed."""
    if answer.acknowledged:
        at = answer.acknowledged_at
        return "; acknowledged" + (f" at {at}" if at else "")
    if answer.acknowledged is None:
        return ""  # no ack asked, or not known (the note says why)
    if answer.late_key_at:
        return f"; not acknowledged (the key at {answer.late_key_at}, too late)"
    if answer.wrong_keys:
        return f"; not acknowledged ({answer.wrong_keys} other key(s) pressed)"
    return "; not acknowledged (no key pressed)"


@dataclass(frozen=True, slots=True)
class CallResult:
    """The fate of one call of the plan."""

    key: str
    spec_file: str
    line: int
    name: str
    tags: tuple[str, ...]
    profile_chain: tuple[str, ...]
    body: Mapping[str, Any]
    outcome: Outcome
    attempts: tuple[Attempt, ...] = ()
    status: int | None = None
    request_uuid: str | list[str] | None = None
    api_id: str | None = None
    message: str | None = None
    error: str | None = None
    #: Why a call was skipped (resume, interrupt), in words; ``skip_kind`` says it as a fact.
    reason: str | None = None
    skip_kind: SkipKind | None = None
    #: What became of the call once placed, one per destination (``run --wait``,
    #: ``escalate:``); None when the run did not follow it.
    answers: tuple[Answer, ...] | None = None
    #: Its step of an ``escalate:`` chain, when it is one.
    escalate: Escalation | None = None
    #: ``message:``: what it says and what acknowledges it; the answer service that speaks
    #: it (its base URL) and the registration of the message there (in the answer_url).
    prompt: Message | None = None
    service: str | None = None
    registration: str | None = None
    #: ``cooldown:``: its window (seconds), and why Plivo's lists could not be read when
    #: the call was placed without knowing (a page is never skipped on no evidence).
    cooldown: int | None = None
    cooldown_unchecked: str | None = None

    @property
    def acknowledged(self) -> bool | None:
        """None when no ack was asked (or it could not be told); True when a destination
        acknowledged; False when none did and every one's state is known."""
        if self.prompt is None or self.prompt.ack is None or not self.answers:
            return None
        if any(a.acknowledged for a in self.answers):
            return True
        if all(a.acknowledged is False for a in self.answers):
            return False
        return None

    @property
    def answered(self) -> bool | None:
        """True when every destination answered, False when one did not, None when one could
        not be told (or the call was not followed)."""
        if not self.answers:
            return None
        if all(a.answered for a in self.answers):
            return True
        if any(a.answered is False for a in self.answers):
            return False
        return None

    @property
    def duration_ms(self) -> float:
        return sum(a.duration_ms for a in self.attempts)


@dataclass(frozen=True)
class RunResult:
    """A whole run: when, how, and each call's result in plan order."""

    run_id: str
    mode: Mode
    api_url: str
    started: str
    finished: str
    options: Mapping[str, Any]
    calls: tuple[CallResult, ...]
    stopped: Stopped | None = None
    files: tuple[str, ...] = field(default=())
    #: Why the specs were invalid; such a run sent nothing and has no calls.
    problems: tuple[Problem, ...] = ()
    #: What ``run --check`` found at the calls' URLs; a failure there sent nothing.
    checks: tuple[UrlCheck, ...] = ()
    #: ``--wait-ok no-answer``: a followed call nobody answered does not fail the run.
    no_answer_ok: bool = False

    @property
    def check_failed(self) -> bool:
        """True when a URL check failed (``run --check``): nothing was sent."""
        return any(not c.ok for c in self.checks)

    @property
    def interrupted(self) -> bool:
        """True when a Ctrl-C or SIGTERM stopped the run."""
        return self.stopped is not None and self.stopped.kind == "interrupt"

    def summary(self) -> dict[str, int]:
        """Counts per outcome, with the total; ``invalid`` counts the problems found."""
        counts = Counter(c.outcome for c in self.calls)
        summary: dict[str, int] = {"total": len(self.calls)}
        summary.update((o, counts.get(o, 0)) for o in OUTCOMES)
        summary["invalid"] += len(self.problems)
        return summary

    def exit_code(self) -> ExitCode:
        """3 for invalid specs or a failed URL check, 130 when interrupted, 1 when a call
        failed or is unknown, or when sending stopped early for any other reason (journal,
        circuit breaker), when a followed call was not answered (unless ``no_answer_ok``) or
        its fate could not be read, else 0."""
        if self.problems:
            return ExitCode.INVALID
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.check_failed:
            return ExitCode.INVALID
        if self.stopped is not None:
            return ExitCode.CALL_FAILED
        if any(c.outcome in ("failed", "unknown", "invalid") for c in self.calls):
            return ExitCode.CALL_FAILED
        alone = [c for c in self.calls if c.escalate is None]
        if any(not self._answer_ok(a) for c in alone for a in c.answers or ()):
            return ExitCode.CALL_FAILED
        # A page asked to be acknowledged that was not (or cannot be told to have been).
        if any(c.acknowledged is not True for c in alone if c.answers and _asks_ack(c)):
            return ExitCode.CALL_FAILED
        if settled.any_unsettled(self.calls):
            return ExitCode.CALL_FAILED
        ends = self.chains()
        unanswered = [chain for chain, ended_by in ends.items() if ended_by is None]
        if unanswered and self.mode != "dry-run":
            # --wait-ok no-answer excuses a chain nobody answered, never one not acknowledged.
            firsts = {c.escalate.chain: c.escalate for c in self.calls if c.escalate is not None}
            acks = [chain for chain in unanswered if firsts[chain].until == "acknowledged"]
            if acks or not self.no_answer_ok:
                return ExitCode.CALL_FAILED
        return ExitCode.OK

    def chains(self) -> dict[str, CallResult | None]:
        """Each escalation chain of the run (by its name) and the step that ended it by being
        answered, or None when none was."""
        return settled.chain_ends(self.calls)

    def _answer_ok(self, answer: Answer) -> bool:
        if answer.answered is None:
            return False  # unreadable: nobody can say the page was heard
        return answer.answered or self.no_answer_ok


def _asks_ack(call: CallResult) -> bool:
    return call.prompt is not None and call.prompt.ack is not None


def result_of(
    call: CallPlan,
    outcome: Outcome,
    reason: str | None = None,
    *,
    request_uuid: str | list[str] | None = None,
    error: str | None = None,
    attempts: tuple[Attempt, ...] = (),
    skip_kind: SkipKind | None = None,
) -> CallResult:
    """The result of ``call``, with what the plan knows of it."""
    return CallResult(
        key=call.key,
        spec_file=call.spec_file,
        line=call.line,
        name=call.name,
        tags=call.tags,
        profile_chain=call.profile.chain if call.profile else (),
        body=call.body,
        outcome=outcome,
        attempts=attempts,
        request_uuid=request_uuid,
        error=error,
        reason=reason,
        skip_kind=skip_kind,
        escalate=call.escalate,
        prompt=call.message,
        cooldown=call.cooldown,
    )
