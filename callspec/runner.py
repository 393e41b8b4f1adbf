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

import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from callspec.errors import GuardError
from callspec.journal import Journal, JournalEntry, lock, read_journal
from callspec.plan import CallPlan, Plan
from callspec.redact import Redactor
from callspec.request import Credentials, api_url_for, build_request, credentials_for
from callspec.results import Attempt, CallResult, Mode, Outcome, RunResult
from callspec.send import AttemptResult, Timeouts, new_session, now_iso, send_once

DEFAULT_RATE = 2.0  # Plivo's default calls-per-second limit for an account
MAX_RETRY_AFTER = 60.0


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


class RateLimiter:
    """Evenly spaced start times across all workers: ``rate`` per second, no bursts."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for the next slot; False when ``stop`` was set meanwhile."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()


def destinations(call: CallPlan) -> int:
    """How many phones a call rings (bulk ``to`` counts each destination)."""
    return len(str(call.body.get("to", "")).split("<"))


def _limit(calls: tuple[CallPlan, ...], given: float | int | None, attr: str) -> float | None:
    if given is not None:
        return given
    values = [getattr(c.profile, attr) for c in calls if c.profile is not None]
    values = [v for v in values if v is not None]
    return min(values) if values else None


def check_guards(
    plan: Plan, options: RunOptions, environ: Mapping[str, str]
) -> dict[str, Credentials]:
    """Refuse before sending (GuardError, exit 4); return credentials by call key."""
    max_calls = _limit(plan.calls, options.max_calls, "max_calls")
    total = sum(destinations(c) for c in plan.calls)
    if max_calls is not None and total > max_calls:
        raise GuardError(
            f"refusing to place {total} calls ({len(plan.calls)} requests), more than "
            f"max_calls {int(max_calls)}; nothing was sent (raise the limit with --max-calls)"
        )
    if options.mode == "dry-run":
        return {}
    if options.credentials is not None:
        return {c.key: options.credentials for c in plan.calls}
    creds: dict[str, Credentials] = {}
    problems: dict[str, list[str]] = {}  # message -> the calls it stops
    for call in plan.calls:
        try:
            creds[call.key] = credentials_for(call, environ)
        except GuardError as e:
            problems.setdefault(str(e), []).append(f"{call.spec_file}:{call.name}")
    if problems:
        lines = []
        for message, calls in problems.items():
            more = f" (+{len(calls) - 3} more)" if len(calls) > 3 else ""
            lines.append(f"{message} [{', '.join(calls[:3])}{more}]")
        raise GuardError("\n".join(lines))
    return creds


class Runner:
    """Runs one plan once; build it, then call :meth:`run`."""

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
        self.creds = check_guards(plan, options, environ)
        redactor.add(c.auth_token for c in self.creds.values())
        redactor.add(s for c in plan.calls for s in c.secret_values)
        self.journal: Journal | None = None
        self._held: list[int] = []
        if options.journal is not None and options.mode != "dry-run":
            # Locked before the resumed journal is read: a second run resuming it now
            # is refused, instead of both sending what it lists as pending.
            self.journal = Journal(options.journal, self.run_id, redactor)
        if options.resume is not None and options.resume != options.journal:
            fd = os.open(options.resume, os.O_RDONLY)
            lock(options.resume, fd)
            self._held.append(fd)
        self.previous: dict[str, JournalEntry] = (
            read_journal(options.resume) if options.resume else {}
        )
        self._carried: dict[str, str] = {}  # key -> the state a resumed run left alone
        self.journal_error: str | None = None
        self._sent_by_name = {
            (e.spec_path, e.name): e
            for e in self.previous.values()
            if e.spec_path and e.state in ("fired", "queued", "started", "unknown")
        }
        rate = _limit(plan.calls, options.rate, "rate") or DEFAULT_RATE
        self.rate = float(rate)
        self.limiter = RateLimiter(self.rate)
        self._random = random.Random()
        self._results: list[CallResult | None] = [None] * len(plan.calls)

    def api_url(self) -> str:
        return api_url_for(self.plan.calls[0], self.options.api_url)

    def run(self) -> RunResult:
        """Send every call that should be sent; return every call's result."""
        started = now_iso()
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index, call in enumerate(self.plan.calls):
            early = self._before_send(call)
            if early is not None:
                self._finish(index, early)
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
        for index, call in enumerate(self.plan.calls):
            if self._results[index] is None:
                self._finish(index, self._result(call, "skipped", reason="interrupted: not sent"))
        self.close()
        return RunResult(
            run_id=self.run_id,
            mode=self.options.mode,
            api_url=self.api_url(),
            started=started,
            finished=now_iso(),
            options=self._shaping_options(),
            calls=tuple(r for r in self._results if r is not None),
            interrupted=self.stop.is_set(),
            files=self.plan.files,
        )

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
            "max_calls": _limit(self.plan.calls, o.max_calls, "max_calls"),
            "journal": str(o.journal) if o.journal else None,
            "resume": str(o.resume) if o.resume else None,
            "retry_unknown": o.retry_unknown,
        }

    def _before_send(self, call: CallPlan) -> CallResult | None:
        """A result for a call that must not be sent (dry run, resume), else None."""
        if self.options.mode == "dry-run":
            return self._result(call, "skipped", reason="dry run: not sent")
        entry = self.previous.get(call.key)
        if entry is not None and entry.state not in ("fired", "queued", "unknown", "started"):
            entry = None  # failed or skipped before: surely never placed
        if entry is None:
            # Not sent under this identity; but a changed version of the same call may
            # have been (a typo fixed since): the same phone would ring again.
            entry = self._sent_by_name.get((call.spec_path, call.name))
            if entry is None or entry.key == call.key:
                return None
            changed = True
        else:
            changed = False
        if entry.state in ("fired", "queued"):
            if changed:
                reason = (
                    f"changed since run {entry.run_id}, where it was {entry.state}; not sent "
                    "again on --resume (run without --resume to place the changed call)"
                )
            else:
                reason = f"already {entry.state} in run {entry.run_id}; not sent again"
            self._carried[call.key] = entry.state
            return self._result(call, "skipped", reason=reason, request_uuid=entry.request_uuid)
        if self.options.retry_unknown:
            return None
        self._carried[call.key] = "unknown"
        reason = (
            f"{'changed since; ' if changed else ''}outcome unknown since run {entry.run_id} "
            "(it may have been placed); not resent: use --retry-unknown to send it again"
        )
        return self._result(call, "unknown", reason=reason, request_uuid=entry.request_uuid)

    def _result(self, call: CallPlan, outcome: Outcome, **kw: object) -> CallResult:
        return CallResult(
            key=call.key,
            spec_file=call.spec_file,
            line=call.line,
            name=call.name,
            tags=call.tags,
            profile_chain=call.profile.chain if call.profile else (),
            body=call.body,
            outcome=outcome,
            **kw,  # type: ignore[arg-type]
        )

    def _finish(self, index: int, result: CallResult) -> None:
        self._results[index] = result  # first: whatever fails below, the call is reported
        if self.journal is not None:
            state = self._carried.get(result.key)
            try:
                self.journal.finished(result, self.plan.calls[index].spec_path, state)
            except OSError as e:
                self._journal_failed(e)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # progress output (a closed pipe) must not lose calls
                self.on_result = None

    def _journal_failed(self, error: OSError) -> None:
        """Without its journal a run cannot promise a safe resume: stop sending."""
        if self.journal_error is None:
            self.journal_error = f"the journal {self.options.journal} could not be written: {error}"
        self.stop.set()

    def _work(self, todo: queue.SimpleQueue[int]) -> None:
        session = new_session()
        try:
            while not self.stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                call = self.plan.calls[index]
                try:
                    result = self._send(session, call)
                except Exception as e:  # a bug: the call may or may not have left
                    error = (
                        f"internal error: {type(e).__name__}: {e}; the call may have been placed"
                    )
                    result = self._result(call, "unknown", error=error)
                self._finish(index, result)
        finally:
            session.close()

    def _send(self, session: requests.Session, call: CallPlan) -> CallResult:
        creds = self.creds[call.key]
        request = build_request(call, api_url_for(call, self.options.api_url), creds.auth_id)
        attempts: list[Attempt] = []
        last: AttemptResult | None = None
        for number in range(self.options.retries + 1):
            if not self.limiter.acquire(self.stop):
                break
            if number == 0 and self.journal is not None:
                try:
                    self.journal.started(
                        call.key, call.spec_file, call.spec_path, call.name, call.body
                    )
                except OSError as e:
                    self._journal_failed(e)
                    reason = "not sent: the journal could not record it first"
                    return self._result(call, "skipped", reason=reason)
            last = send_once(session, request, creds, self.options.timeouts)
            attempts.append(last.attempt)
            if last.verdict != "retry" or number == self.options.retries:
                break
            if self.stop.wait(self._backoff(number, last.attempt.retry_after)):
                break
        if last is None or (last.verdict == "retry" and self.stop.is_set()):
            reason = "interrupted: not sent" if last is None else "interrupted before a retry"
            return self._result(call, "skipped", attempts=tuple(attempts), reason=reason)
        outcome: Outcome = "failed" if last.verdict == "retry" else last.verdict
        error = last.error
        if last.verdict == "retry":
            error = f"gave up after {len(attempts)} attempts: {last.error}"
        return self._result(
            call,
            outcome,
            attempts=tuple(attempts),
            status=last.attempt.status,
            request_uuid=last.request_uuid,
            api_id=last.api_id,
            message=last.message,
            error=error,
        )

    def _backoff(self, number: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than Retry-After."""
        delay: float = min(self.options.backoff_cap, self.options.backoff * (2**number))
        delay *= 0.5 + self._random.random() / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay


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
