"""Running a plan: the workers and their retries, around the journal and the rate limit.

Before anything is sent a :class:`Runner` checks the guards (credentials for
a live run, ``max_calls``) and asks :mod:`~callspec.delivery.resume` which
calls a journal says must not go out again.  Then ``concurrency`` workers
take calls in order; every attempt waits for a slot of the run-wide rate
limiter; an attempt that certainly did not reach the API (connection refused,
429, 503) is retried with exponential backoff, jitter and ``Retry-After``; any
answer that may mean the call was placed ends the call, never to be resent
automatically.  A stop event (Ctrl-C, SIGTERM) stops new sends and lets the
requests in flight finish.

It is longer than most modules because one call's attempts, its journal lines and
the stop checks between them must read as one sequence: split, the order that
keeps a phone from ringing twice would be spread over files.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callspec import defaults
from callspec.delivery.credentials import Credentials, basic_auth_value
from callspec.delivery.entries import JournalEntry, Target, normal_url
from callspec.delivery.guards import check_credentials, check_max_calls, profile_limit
from callspec.delivery.journal import Journal, lock
from callspec.delivery.ledger import UuidLedger
from callspec.delivery.rate import RateLimiter, backoff
from callspec.delivery.request import Timeouts, api_url_for, build_request
from callspec.delivery.stops import INTERRUPTED, CircuitBreaker, Halt, RetryBudget
from callspec.delivery.wait import WaitOptions
from callspec.paths import same_file
from callspec.redact import Redactor
from callspec.results import (
    Attempt,
    CallResult,
    Mode,
    Outcome,
    RunResult,
    SkipKind,
    Stopped,
    epoch_of,
    now_iso,
    result_of,
)
from callspec.spec.plan import CallPlan, Plan

# Escalation, --wait, --resume and acknowledged pages (the answer service) load only for
# a run that uses them: they are most of the send stage's modules, and a plain page is
# sent before they would be needed.
if TYPE_CHECKING:
    from callspec.delivery.acks import AckWatch
    from callspec.delivery.classify import AttemptResult
    from callspec.delivery.legs import Leg
    from callspec.delivery.resume import Decision
    from callspec.delivery.service import Registration, Services
    from callspec.net.session import Client

DEFAULT_RATE = defaults.RATE  # Plivo's default calls-per-second limit for an account
DEFAULT_BAIL = defaults.BAIL
DEFAULT_MAX_RETRY_WAIT = defaults.MAX_RETRY_WAIT
DEFAULT_FOLLOW = defaults.FOLLOW  # seconds an escalation step is followed, without --wait


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; the CLI fills it from its options."""

    mode: Mode = "live"
    api_url: str | None = None
    credentials: Credentials | None = None  # given (sandbox), else from profiles/env
    rate: float | None = None
    concurrency: int = 4
    timeouts: Timeouts = field(default_factory=Timeouts)
    retries: int = 3
    backoff: float = 0.5
    backoff_cap: float = 20.0
    max_calls: int | None = None
    journal: Path | None = None
    resume: Path | None = None
    retry_unknown: bool = False
    resume_anyway: bool = False
    #: Stop after this many consecutive calls with no certain answer (0: never).
    bail: int = DEFAULT_BAIL
    #: Seconds of retry waiting the whole run may spend (every call's waits added up).
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    #: ``--wait``: follow each placed call until it ends or the wait runs out.
    wait: WaitOptions | None = None
    #: How escalation steps are followed when ``--wait`` does not say (poll interval, read
    #: rate, how long at most).
    follow: WaitOptions = field(default_factory=lambda: WaitOptions(DEFAULT_FOLLOW))
    #: ``--service``: the answer service of the calls with ``message:`` (else each call's
    #: profile's ``service:``).
    service: str | None = None


class Runner:
    """Runs one plan once; build it, then call :meth:`run`.

    Everything that can refuse the run (credentials, a journal that does not
    fit, ``max_calls``) is decided when it is built, before :meth:`run` sends
    anything.  The runner itself only drives the workers and their retries.
    """

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        environ: Mapping[str, str],
        redactor: Redactor,
        on_result: Callable[[CallResult], None] | None = None,
        stop: threading.Event | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.on_note = on_note  # a line for people: how an escalation step ended
        self.options = options
        self.redactor = redactor
        self.on_result = on_result
        self.stop = stop or threading.Event()
        self.run_id = uuid.uuid4().hex[:12]
        self.environ = environ
        self.creds = check_credentials(plan, options.mode, options.credentials, environ)
        #: The answer services of the calls with ``message:`` (None: the plan has none).
        self.services: Services | None = None
        if options.mode != "dry-run" and any(c.message is not None for c in plan.calls):
            from callspec.delivery.service import Services, refuse_without_service

            refuse_without_service(plan, options.service)
            self.services = Services(
                options.service, options.timeouts, environ, redactor, self.stop
            )
        accounts = set(self.creds)
        redactor.add(c.auth_token for c in accounts)
        redactor.add(basic_auth_value(c) for c in accounts)
        redactor.add(plan.secret_values)
        # Empty for a dry run (no credentials, nothing sent, no journal).
        calls_creds = zip(plan.calls, self.creds, strict=False)
        shared: dict[Target, Target] = {}  # one object per target, not one per call
        self.targets = [
            shared.setdefault(target, target)
            for target in (self._target(call, creds) for call, creds in calls_creds)
        ]
        self.journal: Journal | None = None
        self._held: list[int] = []
        self._early: dict[int, tuple[CallResult, Decision | None]] = {}
        self._results: list[CallResult | None] = [None] * len(plan.calls)
        self.resume_matched: int | None = None
        #: By chain key: why the resumed journal shows it over, and the steps it placed that
        #: the plan no longer holds.
        self._chains_over: Mapping[str, str] = {}
        self._orphans: Mapping[str, tuple[JournalEntry, ...]] = {}
        #: Every request_uuid seen (the resumed journal's too): a repeat is not believed.
        self.ledger = UuidLedger(redactor.text)
        self.halt: Halt | None = None
        self._halt_lock = threading.Lock()
        self.breaker = CircuitBreaker(options.bail)
        self.budget = RetryBudget(options.max_retry_wait)
        try:
            self._prepare()
        except BaseException:
            self.close()
            raise
        rate = profile_limit(plan.calls, options.rate, "rate") or DEFAULT_RATE
        self.rate = float(rate)
        self.limiter = RateLimiter(self.rate)
        # One read limiter for the whole run: every chain's follow and --wait's together
        # keep to --read-rate.
        self.read_limiter = RateLimiter((options.wait or options.follow).read_rate)
        self._random = random.Random()

    def _target(self, call: CallPlan, creds: Credentials) -> Target:
        mode = self.options.mode
        api_url = api_url_for(call, self.options.api_url) if mode == "live" else None
        return Target(mode, creds.auth_id, normal_url(api_url) if api_url else None)

    def _prepare(self) -> None:
        """Read the resumed journal, decide what not to send, check max_calls, open the journal."""
        options = self.options
        calls = self.plan.calls
        if options.mode == "dry-run":
            for index, call in enumerate(calls):
                kind: SkipKind = "held" if call.held else "dry-run"
                reason = call.held or "dry run: not sent"
                self._early[index] = (result_of(call, "skipped", reason, skip_kind=kind), None)
            check_max_calls(self.plan, [], options.max_calls)
            return
        resume, journal = options.resume, options.journal
        if resume is not None and journal is not None and same_file(resume, journal):
            # Locked before it is read: a second run resuming it now is refused,
            # instead of both sending what it lists as pending.
            self.journal = Journal(journal, self.run_id, self.redactor)
        elif resume is not None:
            fd = os.open(resume, os.O_RDONLY)
            self._held.append(fd)
            lock(resume, fd)
        if options.resume is not None:
            from callspec.delivery.resume import plan_resume

            resumed = plan_resume(
                options.resume,
                calls,
                self.targets,
                options.retry_unknown,
                options.resume_anyway,
            )
            self.resume_matched = resumed.matched
            self._chains_over = resumed.chains_over
            self._orphans = resumed.orphans
            self.ledger = UuidLedger(self.redactor.text, resumed.uuids)
            for index, d in resumed.decisions.items():
                resumed_kind: SkipKind | None = "resumed" if d.outcome == "skipped" else None
                result = result_of(
                    calls[index],
                    d.outcome,
                    d.reason,
                    request_uuid=d.request_uuid,
                    skip_kind=resumed_kind,
                )
                if d.registration:  # where its acknowledgement is read on resume
                    from callspec.delivery.service import service_of

                    service = service_of(calls[index], options.service)
                    result = replace(result, service=service, registration=d.registration)
                self._early[index] = (result, d)
        for index, call in enumerate(calls):
            if call.held is not None and index not in self._early:
                # Held back by the plan (a person in quiet hours): recorded, never sent; a
                # chain moves on to its next step.
                held = result_of(call, "skipped", call.held, skip_kind="held")
                self._early[index] = (held, None)
        sending = [call for index, call in enumerate(calls) if index not in self._early]
        check_max_calls(self.plan, sending, options.max_calls)
        if self.journal is None and options.journal is not None:
            self.journal = Journal(options.journal, self.run_id, self.redactor)

    def api_url(self) -> str:
        return api_url_for(self.plan.calls[0], self.options.api_url)

    def run(self) -> RunResult:
        """Send every call that should be sent; return every call's result."""
        started = now_iso()
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        chains: list[list[int]] = []
        if self.options.mode != "dry-run" and any(c.escalate is not None for c in self.plan.calls):
            from callspec.delivery.chains import chains_of

            chains = chains_of(self.plan)
        chained = {index for chain in chains for index in chain}
        for index in range(len(self.plan.calls)):
            early = self._early.get(index)
            if index in chained:
                continue  # its chain places it, in turn
            if early is not None:
                self._finish(index, early[0], early[1])
            else:
                todo.put(index)
        workers = [
            threading.Thread(
                target=self._work, args=(todo,), name=f"callspec-worker-{n}", daemon=True
            )
            for n in range(max(1, self.options.concurrency))
            if not todo.empty()  # nothing to send (a dry run): no worker, no HTTP stack
        ]
        escalations = [
            threading.Thread(
                target=self._escalate, args=(chain,), name=f"callspec-chain-{n}", daemon=True
            )
            for n, chain in enumerate(chains)
        ]
        for worker in [*workers, *escalations]:
            worker.start()
        for worker in workers:
            worker.join()
        # Plain calls are followed while the chains still run (their wait counts from
        # their send, not from when the last chain ended).
        if not self.stop.is_set():
            self._follow(self.options.wait, chained)
        for worker in escalations:
            worker.join()
        if self.stop.is_set() and self.halt is None:
            self._halt(Halt.interrupt())
        for index, call in enumerate(self.plan.calls):
            if self._results[index] is not None:
                continue
            early = self._early.get(index)
            if early is not None:  # a resumed chain's step the journal shows placed
                self._finish(index, early[0], early[1])
                continue
            unsent = self.halt.unsent if self.halt else INTERRUPTED
            self._finish(index, result_of(call, "skipped", unsent, skip_kind="halt"))
        self.close()
        halt = self.halt
        return RunResult(
            run_id=self.run_id,
            mode=self.options.mode,
            api_url=self.api_url(),
            started=started,
            finished=now_iso(),
            options=self._shaping_options(),
            calls=tuple(r for r in self._results if r is not None),
            stopped=Stopped(halt.kind, halt.reason, halt.time) if halt else None,
            files=self.plan.files,
            no_answer_ok=self.options.follow.no_answer_ok,
        )

    def _escalate(self, chain: list[int]) -> None:
        """One escalation chain, a step at a time (see :mod:`~callspec.delivery.chains`)."""
        from callspec.delivery.chains import ChainRun

        ChainRun(self, chain).run()

    def _follow(self, wait: WaitOptions | None, chained: set[int]) -> None:
        """Follow every call this run placed until it ends or ``--wait`` runs out (counted from
        when its send ended), and every call with ``ack:`` until its acknowledgement is known
        (``--wait`` or not); record each destination's :class:`Answer` on its result.
        ``chained``: escalation steps, followed by their chain in turn."""
        from callspec.delivery.acks import AckWatch
        from callspec.delivery.follow import Follower
        from callspec.delivery.legs import legs_of

        legs: list[Leg] = []
        owners: list[int] = []
        waits: list[float] = []
        acks: list[AckWatch | None] = []
        now = time.time()
        for index, result in enumerate(self._results):
            if index in chained:
                continue  # an escalation step: followed in its turn
            if result is None or result.outcome not in ("fired", "queued") or not result.attempts:
                continue  # not placed by this run (a resumed call is not followed again)
            call = self.plan.calls[index]
            asks = call.message is not None and call.message.ack is not None
            if wait is None and not asks:
                continue  # neither --wait nor an acknowledgement to read back
            api_url = api_url_for(call, self.options.api_url)
            found = legs_of(result.request_uuid, result.body, api_url, self.creds[index])
            reader = None
            if asks and self.services is not None:
                started = epoch_of(result.attempts[0].started)
                uuids = [leg.call_uuid for leg in found]
                reader = self.services.reader(result, self.creds[index], uuids, started)
            if wait is None and reader is None:
                continue
            last = result.attempts[-1]
            seconds = (wait or self.options.follow).seconds
            left = seconds - max(0.0, now - epoch_of(last.started) - last.duration_ms / 1000)
            if reader is not None:  # rung, answered, then the window for the key
                ring = float(call.body.get("ring_timeout") or 120)
                left = max(left, ring + reader.ack.within + 30)
            legs += found
            owners += [index] * len(found)
            waits += [left] * len(found)
            acks += [
                None if reader is None else AckWatch(reader, leg.call_uuid, None) for leg in found
            ]
        if not legs:
            return
        options = wait or self.options.follow
        follower = Follower(
            options, self.environ, self.redactor.text, self.stop, limiter=self.read_limiter
        )
        try:
            answers = follower.follow(legs, waits, acks=acks)
        finally:
            follower.close()
        for index in dict.fromkeys(owners):
            mine = tuple(a for a, owner in zip(answers, owners, strict=True) if owner == index)
            result = self._results[index]
            assert result is not None
            self._results[index] = replace(result, answers=mine)

    def note(self, text: str) -> None:
        """A line for people (how an escalation step ended); never fails the run."""
        if self.on_note is None:
            return
        try:
            self.on_note(text)
        except Exception:  # progress output (a closed pipe) must not lose calls
            self.on_note = None

    def close(self) -> None:
        """Sync and unlock the journal (and the resumed one)."""
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError as e:
                self._halt(Halt.journal(self.options.journal, e))
        while self._held:
            os.close(self._held.pop())

    def _shaping_options(self) -> dict[str, object]:
        o = self.options
        # Only a run that follows its calls names how (the reports of others stay as they were).
        waiting: dict[str, object] = {}
        if o.wait is not None:
            waiting = {"wait": o.wait.seconds, "wait_ok": ["no-answer"] * o.wait.no_answer_ok}
        return {
            **waiting,
            "rate": self.rate,
            "concurrency": o.concurrency,
            "connect_timeout": o.timeouts.connect,
            "read_timeout": o.timeouts.read,
            "retries": o.retries,
            "max_calls": profile_limit(self.plan.calls, o.max_calls, "max_calls"),
            "journal": str(o.journal) if o.journal else None,
            "resume": str(o.resume) if o.resume else None,
            "retry_unknown": o.retry_unknown,
            "resume_anyway": o.resume_anyway,
            "resume_matched": self.resume_matched,
            "bail": o.bail,
            "max_retry_wait": o.max_retry_wait,
        }

    def _finish(self, index: int, result: CallResult, carried: Decision | None = None) -> None:
        """Record ``result``; ``carried``: what the resumed journal said of a call not sent,
        which a later resume must still see (its state, the run that placed it, where)."""
        self._results[index] = result  # first: whatever fails below, the call is reported
        if self.journal is not None:
            call = self.plan.calls[index]
            try:
                if carried is None:
                    target = self.targets[index] if self.targets else None
                    self.journal.finished(result, call, target=target)
                else:
                    self.journal.finished(
                        result, call, carried.state, carried.target, carried.run_id
                    )
            except OSError as e:
                self._halt(Halt.journal(self.options.journal, e))
        if self.breaker.record(result):
            self._halt(Halt.bail(self.options.bail))
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # progress output (a closed pipe) must not lose calls
                self.on_result = None

    def _halt(self, halt: Halt) -> Halt:
        """Stop sending: calls in flight finish, the rest are skipped with ``halt.unsent``.

        The first halt is the one recorded; returns ``halt`` (its words for a call).
        """
        with self._halt_lock:
            if self.halt is None:
                self.halt = halt
        self.stop.set()
        return halt

    def _work(self, todo: queue.SimpleQueue[int]) -> None:
        # requests loads here, after the plan is built: its modules then reuse the memory
        # the spec's document left, instead of adding to the peak (and a dry run never
        # loads it).
        from callspec.net.session import Client

        session: Client | None = None
        try:
            while not self.stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                if session is None:  # a worker that finds no call opens nothing
                    session = Client(self.environ)
                call = self.plan.calls[index]
                try:
                    result = self._send(session, index)
                except Exception as e:  # a bug: the call may or may not have left
                    error = (
                        f"internal error: {type(e).__name__}: {e}; the call may have been placed"
                    )
                    result = result_of(call, "unknown", error=error)
                self._finish(index, result)
        finally:
            if session is not None:
                session.close()

    def _send(self, session: Client, index: int) -> CallResult:
        """One call: its cooldown asked first (when it has one), then placed."""
        call = self.plan.calls[index]
        if call.cooldown is None:
            return self._place(session, index)
        recent, unread = self._cooldown(call, self.creds[index])
        if recent is not None:
            return recent
        result = self._place(session, index)
        return replace(result, cooldown_unchecked=unread) if unread else result

    def _place(self, session: Client, index: int) -> CallResult:
        """One call: its attempts, retried only while each surely placed nothing."""
        from callspec.delivery.http import send_once

        call, creds = self.plan.calls[index], self.creds[index]
        request = build_request(call, api_url_for(call, self.options.api_url), creds.auth_id)
        page: Registration | None = None
        if call.message is not None and self.services is not None:
            page = self.services.new(call, creds)  # journaled before it is registered
            request = replace(request, body={**request.body, "answer_url": page.answer_url})
        attempts: list[Attempt] = []
        last: AttemptResult | None = None
        gave_up = ""
        for number in range(self.options.retries + 1):
            if not self.limiter.acquire(self.stop):
                break
            if number == 0:
                early = self._before_send(call, index, request.body, page)
                if early is not None:
                    return early
            self.limiter.pace(self.stop)
            last = send_once(session, request, creds, self.options.timeouts, self.redactor.text)
            attempts.append(last.attempt)
            if last.verdict != "retry" or number == self.options.retries:
                break
            o = self.options
            delay = backoff(
                number, last.attempt.retry_after, o.backoff, o.backoff_cap, self._random
            )
            if not self.budget.take(delay):
                gave_up = (
                    f"the run's retry waiting would pass --max-retry-wait {o.max_retry_wait:g} s; "
                )
                break
            if self.stop.wait(delay):
                break
        if last is None or (last.verdict == "retry" and self.stop.is_set() and not gave_up):
            if self.halt is not None:
                reason = self.halt.unsent
            else:
                reason = INTERRUPTED if last is None else "interrupted before a retry"
            return result_of(call, "skipped", reason, attempts=tuple(attempts), skip_kind="halt")
        outcome: Outcome = "failed" if last.verdict == "retry" else last.verdict
        error = last.error
        if last.verdict == "retry":
            tries = f"{len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
            error = f"gave up after {tries}: {gave_up}{last.error}"
        if last.request_uuid and outcome in ("fired", "queued"):
            # Answers from the API are untrusted: a request_uuid seen before is another call's.
            untrusted = self.ledger.claim(last.request_uuid, call.name)
            if untrusted is not None:
                outcome, error = "unknown", untrusted
        return replace(
            _paged(result_of(call, outcome, attempts=tuple(attempts), error=error), page),
            body=request.body,
            status=last.attempt.status,
            request_uuid=last.request_uuid,
            api_id=last.api_id,
            message=last.message,
        )

    def _cooldown(self, call: CallPlan, creds: Credentials) -> tuple[CallResult | None, str | None]:
        """``cooldown:``: the call's result when Plivo shows its destination called from its
        caller ID within the window by another run (skipped, never placed), else None; and
        why the lists could not be read, when they could not (the call is placed)."""
        from datetime import datetime, timezone

        from callspec.delivery.cooldown import Cooldown
        from callspec.delivery.reads import Reader

        assert call.cooldown is not None
        options = self.options.wait or self.options.follow
        reader = Reader(options, self.environ, self.redactor.text, self.stop, self.read_limiter)
        try:
            api_url = api_url_for(call, self.options.api_url)
            now = datetime.now(timezone.utc)
            why, note = Cooldown(reader, self.ledger.seen).check(
                api_url, creds, call.body, call.cooldown, now
            )
        finally:
            reader.close()
        if note is not None:
            self.note(f"callspec: {call.spec_file}:{call.name}: {note}")
        if why is None:
            return None, note
        return result_of(call, "skipped", why, skip_kind="cooldown"), None

    def _before_send(
        self,
        call: CallPlan,
        index: int,
        body: Mapping[str, Any],
        page: Registration | None,
    ) -> CallResult | None:
        """Before the first byte: the journal's durable started line (with the registration
        of a message, and the body as sent), then the message registered with its answer
        service.  A result when the call must not go out: the journal failed (skipped, the
        run stops), or the service did not take the message (failed: surely not placed)."""
        if self.journal is not None:
            try:
                registration = page.id if page is not None else None
                self.journal.started(call, self.targets[index], registration, body)
            except OSError as e:
                halt = self._halt(Halt.journal(self.options.journal, e))
                return result_of(call, "skipped", halt.unsent, skip_kind="halt")
        if page is None or self.services is None:
            return None
        refused = self.services.register(call, self.creds[index], page, self.options.retries + 1)
        if refused is None:
            return None
        return replace(_paged(result_of(call, "failed", error=refused), page), body=body)


def _paged(result: CallResult, page: Registration | None) -> CallResult:
    """``result`` of a call with ``message:``, with the service and registration it used."""
    if page is None:
        return result
    return replace(result, service=page.service, registration=page.id)


def run_plan(
    plan: Plan,
    options: RunOptions,
    environ: Mapping[str, str],
    redactor: Redactor | None = None,
    on_result: Callable[[CallResult], None] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Library entry point: check guards, send, and return the run's result."""
    runner = Runner(plan, options, environ, redactor or Redactor(), on_result, stop)
    return runner.run()
