"""Running a plan: the :class:`Runner` that owns one run's state, starts its workers and
chains, records each call's result and assembles the run's.

Before anything is sent a :class:`Runner` checks the guards (credentials for a live
run, ``max_calls``) and settles what must not be sent
(:mod:`~callspec.delivery.prepare`, which asks :mod:`~callspec.delivery.resume`).
Then ``concurrency`` workers take calls in order and place each
(:mod:`~callspec.delivery.workers`: rate limit, journal, retries), each escalation
chain runs on its own thread (:mod:`~callspec.delivery.chains`), and the plain calls
placed are followed (:mod:`~callspec.delivery.followup`).  A stop event (Ctrl-C,
SIGTERM) or a :class:`~callspec.delivery.stops.Halt` stops new sends and lets the
requests in flight finish; every call ends in the result and the journal.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from callspec import defaults
from callspec.delivery.credentials import basic_auth_value
from callspec.delivery.entries import JournalEntry, Target
from callspec.delivery.guards import check_credentials, profile_limit
from callspec.delivery.journal import Journal
from callspec.delivery.ledger import UuidLedger
from callspec.delivery.options import RunOptions, shaping_options
from callspec.delivery.prepare import prepare, target_of
from callspec.delivery.rate import RateLimiter
from callspec.delivery.request import api_url_for
from callspec.delivery.stops import INTERRUPTED, CircuitBreaker, Halt, RetryBudget
from callspec.redact import Redactor
from callspec.results import CallResult, RunResult, Stopped, now_iso, result_of
from callspec.spec.plan import Plan

# Escalation, --wait, --resume and acknowledged pages (the answer service) load only for
# a run that uses them: they are most of the send stage's modules, and a plain page is
# sent before they would be needed.
if TYPE_CHECKING:
    from callspec.delivery.resume import Decision
    from callspec.delivery.service import Services
    from callspec.delivery.wait import WaitOptions
    from callspec.net.session import Client


class Runner:
    """Runs one plan once; build it, then call :meth:`run`.

    Everything that can refuse the run (credentials, a journal that does not
    fit, ``max_calls``) is decided when it is built, before :meth:`run` sends
    anything.  The runner itself only drives the workers and chains and records results.
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
            for target in (target_of(options, call, creds) for call, creds in calls_creds)
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
            prepare(self)
        except BaseException:
            self.close()
            raise
        # Plivo's default calls-per-second limit for an account, when nothing says.
        rate = profile_limit(plan.calls, options.rate, "rate") or defaults.RATE
        self.rate = float(rate)
        self.limiter = RateLimiter(self.rate)
        # One read limiter for the whole run: every chain's follow and --wait's together
        # keep to --read-rate.
        self.read_limiter = RateLimiter((options.wait or options.follow).read_rate)
        #: The clock chain steps are followed by (their answer_within and waits): passed
        #: in, so a test can follow a step through its whole wait without waiting it out.
        self.follow_clock: Callable[[], float] = time.monotonic
        self._random = random.Random()

    def api_url(self) -> str:
        return api_url_for(self.plan.calls[0], self.options.api_url)

    def to_send(self) -> int:
        """How many calls this run may send: not those settled before it sends (a resumed
        journal's, a held one's)."""
        return len(self.plan.calls) - len(self._early)

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
        max_calls = profile_limit(self.plan.calls, self.options.max_calls, "max_calls")
        return RunResult(
            run_id=self.run_id,
            mode=self.options.mode,
            api_url=self.api_url(),
            started=started,
            finished=now_iso(),
            options=shaping_options(self.options, self.rate, max_calls, self.resume_matched),
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
        """The plain calls placed, followed (see :mod:`~callspec.delivery.followup`)."""
        from callspec.delivery.followup import follow_placed

        follow_placed(self, wait, chained)

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
        from callspec.delivery.workers import work

        work(self, todo)

    def _send(self, session: Client, index: int) -> CallResult:
        """One call placed (see :mod:`~callspec.delivery.workers`); a chain's steps too."""
        from callspec.delivery.workers import send

        return send(self, session, index)


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
