"""Running a plan: guards, workers, the shared rate limit, safe retries, journal, interrupts.

This module owns the send stage as a whole.  Before anything is sent it checks
the guards (credentials for a live run, ``max_calls``) and, on ``--resume``,
which calls a journal says must not go out again.  Then ``concurrency`` workers
take calls in order; every attempt waits for a slot of the run-wide rate
limiter; an attempt that certainly did not reach the API (connection refused,
429, 503) is retried with exponential backoff, jitter and ``Retry-After``; any
answer that may mean the call was placed ends the call, never to be resent
automatically.  A stop event (Ctrl-C, SIGTERM) stops new sends and lets the
requests in flight finish.
"""

from __future__ import annotations

import errno
import os
import queue
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests

from callspec.delivery.classify import AttemptResult
from callspec.delivery.guards import check_credentials, check_max_calls, profile_limit
from callspec.delivery.http import Timeouts, new_session, send_once
from callspec.delivery.journal import (
    Journal,
    JournalWriteError,
    Target,
    lock,
    normal_url,
    read_journal,
)
from callspec.delivery.rate import RateLimiter, backoff
from callspec.delivery.request import (
    Credentials,
    api_url_for,
    basic_auth_value,
    build_request,
)
from callspec.delivery.resume import Decision, ResumeIndex, check_fit, decide
from callspec.redact import Redactor
from callspec.results import (
    Attempt,
    CallResult,
    Mode,
    Outcome,
    RunResult,
    StopKind,
    Stopped,
    now_iso,
)
from callspec.spec.plan import CallPlan, Plan

DEFAULT_RATE = 2.0  # Plivo's default calls-per-second limit for an account
DEFAULT_BAIL = 5
DEFAULT_MAX_RETRY_WAIT = 300.0


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


@dataclass(frozen=True)
class Halt:
    """Why a run stopped sending before its end (a Ctrl-C is not a failure; the others are)."""

    kind: StopKind
    reason: str
    #: What each call left unsent is told.
    unsent: str
    time: str


class Runner:
    """Runs one plan once; build it, then call :meth:`run`.

    Everything that can refuse the run (credentials, a journal that does not
    fit, ``max_calls``) is decided here, before :meth:`run` sends anything.
    """

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        environ: Mapping[str, str],
        redactor: Redactor,
        on_result: Callable[[CallResult], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.plan = plan
        self.options = options
        self.redactor = redactor
        self.on_result = on_result
        self.stop = stop or threading.Event()
        self.run_id = uuid.uuid4().hex[:12]
        self.environ = environ
        self.creds = check_credentials(plan, options.mode, options.credentials, environ)
        redactor.add(c.auth_token for c in self.creds)
        redactor.add(basic_auth_value(c) for c in self.creds)
        redactor.add(s for c in plan.calls for s in c.secret_values)
        # Empty for a dry run (no credentials, nothing sent, no journal).
        calls_creds = zip(plan.calls, self.creds, strict=False)
        self.targets = [self._target(call, creds) for call, creds in calls_creds]
        self.journal: Journal | None = None
        self._held: list[int] = []
        self._early: dict[int, tuple[CallResult, Decision | None]] = {}
        self._results: list[CallResult | None] = [None] * len(plan.calls)
        self.resume_matched: int | None = None
        self.halt: Halt | None = None
        self._halt_lock = threading.Lock()
        self._no_answer_streak = 0
        self._retry_waited = 0.0
        try:
            self._prepare()
        except BaseException:
            self.close()
            raise
        rate = profile_limit(plan.calls, options.rate, "rate") or DEFAULT_RATE
        self.rate = float(rate)
        self.limiter = RateLimiter(self.rate)
        self._random = random.Random()

    def _target(self, call: CallPlan, creds: Credentials) -> Target:
        mode = self.options.mode
        api_url = api_url_for(call, self.options.api_url) if mode == "live" else None
        return Target(mode, creds.auth_id, normal_url(api_url) if api_url else None)

    def _prepare(self) -> None:
        """Read the resumed journal, decide what not to send, check max_calls, open the journal."""
        options = self.options
        same = (
            options.resume is not None
            and options.journal is not None
            and _same_file(options.resume, options.journal)
        )
        if options.mode != "dry-run" and same and options.journal is not None:
            # Locked before it is read: a second run resuming it now is refused,
            # instead of both sending what it lists as pending.
            self.journal = Journal(options.journal, self.run_id, self.redactor)
        elif options.resume is not None:
            fd = os.open(options.resume, os.O_RDONLY)
            self._held.append(fd)
            lock(options.resume, fd)
        sending = list(self.plan.calls)
        if options.mode == "dry-run":
            for index, call in enumerate(self.plan.calls):
                self._early[index] = (self._result(call, "skipped", "dry run: not sent"), None)
            sending = []
        elif options.resume is not None:
            index_ = ResumeIndex(read_journal(options.resume))
            self.resume_matched = check_fit(
                index_, self.plan.calls, self.targets, str(options.resume), options.resume_anyway
            )
            sending = []
            for index, call in enumerate(self.plan.calls):
                decision = decide(call, index_.match(call), options.retry_unknown)
                if decision is None:
                    sending.append(call)
                    continue
                result = self._result(
                    call, decision.outcome, decision.reason, request_uuid=decision.request_uuid
                )
                self._early[index] = (result, decision)
        check_max_calls(self.plan, sending, options.max_calls)
        if options.mode != "dry-run" and self.journal is None and options.journal is not None:
            self.journal = Journal(options.journal, self.run_id, self.redactor)

    def api_url(self) -> str:
        return api_url_for(self.plan.calls[0], self.options.api_url)

    def run(self) -> RunResult:
        """Send every call that should be sent; return every call's result."""
        started = now_iso()
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(self.plan.calls)):
            early = self._early.get(index)
            if early is not None:
                self._finish(index, early[0], early[1])
            else:
                todo.put(index)
        workers = [
            threading.Thread(
                target=self._work, args=(todo,), name=f"callspec-worker-{n}", daemon=True
            )
            for n in range(max(1, self.options.concurrency))
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self.stop.is_set() and self.halt is None:
            self._halt("interrupt", "interrupted", "interrupted: not sent")
        for index, call in enumerate(self.plan.calls):
            if self._results[index] is None:
                unsent = self.halt.unsent if self.halt else "interrupted: not sent"
                self._finish(index, self._result(call, "skipped", unsent))
        self.close()
        return RunResult(
            run_id=self.run_id,
            mode=self.options.mode,
            api_url=self.api_url(),
            started=started,
            finished=now_iso(),
            options=self._shaping_options(),
            calls=tuple(r for r in self._results if r is not None),
            stopped=self._stopped(),
            files=self.plan.files,
        )

    def _stopped(self) -> Stopped | None:
        if self.halt is None:
            return None
        return Stopped(self.halt.kind, self.halt.reason, self.halt.time)

    def close(self) -> None:
        """Sync and unlock the journal (and the resumed one)."""
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError as e:
                self._journal_failed(e)
        while self._held:
            os.close(self._held.pop())

    def _shaping_options(self) -> dict[str, object]:
        o = self.options
        return {
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

    def _result(
        self,
        call: CallPlan,
        outcome: Outcome,
        reason: str | None = None,
        *,
        request_uuid: str | list[str] | None = None,
        error: str | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> CallResult:
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
        )

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
                self._journal_failed(e)
        self._watch_answers(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # progress output (a closed pipe) must not lose calls
                self.on_result = None

    def _halt(self, kind: StopKind, reason: str, unsent: str) -> None:
        """Stop sending: calls in flight finish, the rest are skipped with ``unsent``."""
        with self._halt_lock:
            if self.halt is None:
                self.halt = Halt(kind, reason, unsent, now_iso())
        self.stop.set()

    def _journal_failed(self, error: OSError) -> str:
        """Without its journal a run cannot promise a safe resume: stop sending.

        Returns what a call that could not be journaled is told.
        """
        why = str(error) if isinstance(error, JournalWriteError) else _errno_text(error)
        unsent = f"not sent: journal write failed ({why.split(':', 1)[0]})"
        self._halt(
            "journal", f"the journal {self.options.journal} could not be written ({why})", unsent
        )
        return unsent

    def _watch_answers(self, result: CallResult) -> None:
        """The circuit breaker: stop after ``bail`` calls in a row with no certain answer.

        Counted in completion order: an outcome that is unknown, or a failure with
        no answer from the API (transport, or 5xx after retries), adds one; a
        call fired, queued or refused with a 4xx shows the API alive and resets.
        """
        if self.options.bail <= 0 or not result.attempts:
            return
        last = result.attempts[-1]
        dead = result.outcome == "unknown" or (
            result.outcome == "failed"
            and last.error_kind != "build"
            and (last.status is None or last.status >= 500)
        )
        with self._halt_lock:
            self._no_answer_streak = self._no_answer_streak + 1 if dead else 0
            streak = self._no_answer_streak
        if dead and streak >= self.options.bail:
            n = self.options.bail
            self._halt(
                "bail",
                f"{n} calls in a row got no certain answer from the API (circuit breaker, "
                f"--bail {n})",
                f"not sent: stopped after {n} calls in a row got no certain answer (--bail {n})",
            )

    def _work(self, todo: queue.SimpleQueue[int]) -> None:
        session = new_session(self.environ)
        try:
            while not self.stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                call = self.plan.calls[index]
                try:
                    result = self._send(session, index)
                except Exception as e:  # a bug: the call may or may not have left
                    error = (
                        f"internal error: {type(e).__name__}: {e}; the call may have been placed"
                    )
                    result = self._result(call, "unknown", error=error)
                self._finish(index, result)
        finally:
            session.close()

    def _send(self, session: requests.Session, index: int) -> CallResult:
        call, creds = self.plan.calls[index], self.creds[index]
        request = build_request(call, api_url_for(call, self.options.api_url), creds.auth_id)
        attempts: list[Attempt] = []
        last: AttemptResult | None = None
        gave_up = ""
        for number in range(self.options.retries + 1):
            if not self.limiter.acquire(self.stop):
                break
            if number == 0 and self.journal is not None:
                try:
                    self.journal.started(call, self.targets[index])
                except OSError as e:
                    return self._result(call, "skipped", self._journal_failed(e))
            self.limiter.pace(self.stop)
            last = send_once(session, request, creds, self.options.timeouts, self.redactor.text)
            attempts.append(last.attempt)
            if last.verdict != "retry" or number == self.options.retries:
                break
            delay = backoff(
                number,
                last.attempt.retry_after,
                self.options.backoff,
                self.options.backoff_cap,
                self._random,
            )
            if not self._take_retry_wait(delay):
                gave_up = (
                    f"the run's retry waiting would pass --max-retry-wait "
                    f"{self.options.max_retry_wait:g} s; "
                )
                break
            if self.stop.wait(delay):
                break
        if last is None or (last.verdict == "retry" and self.stop.is_set() and not gave_up):
            if self.halt is not None:
                reason = self.halt.unsent
            else:
                reason = "interrupted: not sent" if last is None else "interrupted before a retry"
            return self._result(call, "skipped", reason, attempts=tuple(attempts))
        outcome: Outcome = "failed" if last.verdict == "retry" else last.verdict
        error = last.error
        if last.verdict == "retry":
            tries = f"{len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
            error = f"gave up after {tries}: {gave_up}{last.error}"
        return replace(
            self._result(call, outcome, attempts=tuple(attempts), error=error),
            status=last.attempt.status,
            request_uuid=last.request_uuid,
            api_id=last.api_id,
            message=last.message,
        )

    def _take_retry_wait(self, delay: float) -> bool:
        """Book ``delay`` seconds of the run's retry-wait budget; False when it would pass it."""
        with self._halt_lock:
            if self._retry_waited + delay > self.options.max_retry_wait:
                return False
            self._retry_waited += delay
            return True


def _same_file(a: Path, b: Path) -> bool:
    """One file under two spellings (relative and absolute, a symlink)?"""
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _errno_text(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0, "")
    text = error.strerror or str(error)
    return f"{name}: {text}" if name else text


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
