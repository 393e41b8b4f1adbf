"""The runner's side of escalation chains: each chain on its own thread, with the runner's
send and record and a follower of its own.

:mod:`~callspec.delivery.escalate` owns a chain's order; this module gives it
what it needs of the run: the runner's send (rate limit, journal, guards,
circuit breaker), its record, a follower sharing the run's one read limiter,
the journal's answered lines, the rest of ``answer_within`` for a step an
earlier run placed, and the steps an earlier run placed whose rows are gone
(read back and journaled, though no call of the plan stands for them).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from callspec.delivery.acks import AckWatch
from callspec.delivery.credentials import Credentials
from callspec.delivery.entries import JournalEntry
from callspec.delivery.escalate import ChainSteps, run_chain
from callspec.delivery.follow import Follower
from callspec.delivery.legs import Leg, legs_of
from callspec.delivery.request import api_url_for
from callspec.delivery.service import service_of
from callspec.delivery.settled import reached
from callspec.delivery.stops import Halt
from callspec.results import CallResult, answer_text, epoch_of, result_of
from callspec.spec.model import CallPlan, Plan

if TYPE_CHECKING:
    from callspec.delivery.runner import Runner
    from callspec.net.session import Client

RESUMED_FOLLOW = 30.0  # seconds a step an earlier run placed is read back on resume, at most


def chains_of(plan: Plan) -> list[list[int]]:
    """Each chain of the plan as the indices of its steps, in order."""
    chains: dict[str, list[int]] = {}
    for index, call in enumerate(plan.calls):
        if call.escalate is not None:
            chains.setdefault(call.escalate.key, []).append(index)
    return list(chains.values())


def time_left(within: float, placed: str, now: float | None = None) -> float:
    """What is left of ``answer_within`` at ``now`` (seconds since the epoch; default the
    clock's) for a step an earlier run placed at ``placed`` (as journaled): a page placed a
    moment ago is not cut off at once.  Nothing, when it is unknown when it was placed."""
    now = time.time() if now is None else now
    since = now - epoch_of(placed) if placed else within
    return min(within, max(0.0, within - since))


class ChainRun:
    """One chain of ``runner``'s plan, placed a step at a time."""

    def __init__(self, runner: Runner, chain: list[int]) -> None:
        self.runner = runner
        self.chain = chain
        self.first = runner.plan.calls[chain[0]]
        assert self.first.escalate is not None
        self.key = self.first.escalate.key
        self.orphans = {e.key: e for e in runner._orphans.get(self.key, ())}
        runner_options = runner.options
        self.follower = Follower(
            runner_options.wait or runner_options.follow,
            runner.environ,
            runner.redactor.text,
            runner.stop,
            clock=runner.follow_clock,
            limiter=runner.read_limiter,
        )
        self.session: Client | None = None
        #: When the last step this run followed ended (seconds since the epoch): a round of
        #: ``repeat:`` waits its ``after`` from then.
        self.last_end: float | None = None

    def run(self) -> None:
        from callspec.net.session import Client

        runner = self.runner
        self.session = Client(runner.environ)
        steps = ChainSteps(
            stop=runner.stop,
            early=runner._early.get,
            send=self.send,
            finish=runner._finish,
            follow=self.follow,
            answered=self.answered,
            skip=lambda call, reason, kind: result_of(call, "skipped", reason, skip_kind=kind),
            orphans=[orphan_result(entry, self.first) for entry in self.orphans.values()],
            settle_orphan=self.settle_orphan,
            pause=self.pause,
        )
        try:
            run_chain(runner.plan.calls, self.chain, steps, runner._chains_over.get(self.key))
        finally:
            self.follower.close()
            self.session.close()

    def send(self, index: int) -> CallResult:
        assert self.session is not None
        try:
            return self.runner._send(self.session, index)
        except Exception as e:  # a bug: the call may or may not have left
            error = f"internal error: {type(e).__name__}: {e}; the call may have been placed"
            return result_of(self.runner.plan.calls[index], "unknown", error=error)

    def follow(self, index: int, result: CallResult, resumed: bool) -> CallResult:
        """Follow a placed step; hang it up when not answered within its time (for a step an
        earlier run placed: the rest of it, counted from its send, as journaled)."""
        runner = self.runner
        call = runner.plan.calls[index]
        assert call.escalate is not None
        within = call.escalate.answer_within
        placed = result.attempts[0].started if result.attempts else ""
        if resumed:
            early = runner._early.get(index)
            placed = early[1].placed if early is not None and early[1] is not None else ""
            within = time_left(within, placed)
        followed = self._follow(result, call, runner.creds[index], within, resumed, placed)
        self.last_end = time.time()
        return followed

    def _follow(
        self,
        result: CallResult,
        call: CallPlan,
        creds: Credentials,
        within: float,
        resumed: bool,
        placed: str,
    ) -> CallResult:
        api_url = api_url_for(call, self.runner.options.api_url)
        legs = legs_of(result.request_uuid, result.body, api_url, creds)
        acks, window = self._acks(result, call, creds, legs, resumed, placed)
        # A step read back on resume gets a short look past its time: its record should be
        # there by then.
        seconds = self.follower.options.seconds
        if resumed:
            seconds = within + window + min(seconds, RESUMED_FOLLOW)
        else:
            seconds = max(seconds, within + window + 30)
        answers = self.follower.follow(legs, [seconds] * len(legs), within, acks)
        return replace(result, answers=tuple(answers))

    def _acks(
        self,
        result: CallResult,
        call: CallPlan,
        creds: Credentials,
        legs: list[Leg],
        resumed: bool,
        placed: str,
    ) -> tuple[list[AckWatch | None] | None, float]:
        """The acknowledgement of each leg of a step with ``ack:``, and the seconds its callee
        has once answered (``until: acknowledged``: then hung up; for a step an earlier run
        placed, what is left of its time).  (None, 0) for a step without."""
        services, e = self.runner.services, call.escalate
        if services is None or e is None:
            return None, 0.0
        uuids = [leg.call_uuid for leg in legs]
        reader = services.reader(result, creds, uuids, epoch_of(placed) if placed else 0.0)
        if reader is None:
            return None, 0.0
        window = float(reader.ack.within)
        if resumed:
            window = time_left(e.answer_within + window, placed)
        hang_up = window if e.until == "acknowledged" else None
        return [AckWatch(reader, uuid, hang_up) for uuid in uuids], window

    def pause(self, call: CallPlan) -> bool:
        """``repeat:``: wait ``after`` seconds before the first call of round ``call``'s, from
        the end of the last step followed (or, resumed, the last one placed); False when the
        run was stopped meanwhile."""
        e = call.escalate
        assert e is not None
        since = self.last_end
        if since is None:  # every step before it was placed by an earlier run
            early = [self.runner._early.get(i) for i in self.chain]
            placed = [e[1].placed for e in early if e is not None and e[1] is not None]
            since = max((epoch_of(p) for p in placed if p), default=None)
        wait = e.after if since is None else min(e.after, max(0.0, since + e.after - time.time()))
        self.runner.note(
            f"callspec: escalation {e.chain}: nobody was reached; round {e.round} of "
            f"{e.rounds} in {wait:.1f} s"
        )
        return not self.runner.stop.wait(wait)

    def answered(self, index: int, result: CallResult) -> None:
        """Record what became of a followed step: the report, a note, the journal."""
        runner = self.runner
        runner._results[index] = result
        e = result.escalate
        for answer in result.answers or ():
            if e is not None:
                runner.note(
                    f"callspec: escalation {e.chain}, step {e.step} of {e.steps} "
                    f"'{result.name}': {answer_text(answer)}"
                )
        # A wait cut short (Ctrl-C, a halt) is not the call's fate: left unjournaled, a
        # resume reads the step back from Plivo (hanging it up if it still rings).
        if runner.journal is not None and not runner.stop.is_set():
            try:
                runner.journal.answered(result, runner.plan.calls[index])
            except OSError as err:
                runner._halt(Halt.journal(runner.options.journal, err))

    def settle_orphan(self, result: CallResult) -> CallResult:
        """Read back a step an earlier run placed whose row is gone; journal its fate."""
        runner = self.runner
        entry = self.orphans[result.key]
        assert self.first.escalate is not None
        within = time_left(self.first.escalate.answer_within, entry.placed)
        creds = runner.creds[self.chain[0]]
        if result.registration:  # its acknowledgement is read where it was registered
            result = replace(result, service=service_of(self.first, runner.options.service))
        result = self._follow(result, self.first, creds, within, True, entry.placed)
        for answer in result.answers or ():
            runner.note(
                f"callspec: escalation {self.first.escalate.chain}, '{result.name}' (placed by "
                f"an earlier run, no longer in the roster): {answer_text(answer)}"
            )
        if runner.journal is not None and not runner.stop.is_set():
            try:
                runner.journal.carried(entry, result.answers, self.key, reached(result))
            except OSError as err:
                runner._halt(Halt.journal(runner.options.journal, err))
        return result


def orphan_result(entry: JournalEntry, first: CallPlan) -> CallResult:
    """A step of ``first``'s chain that an earlier run placed and the plan no longer holds,
    as a result: what the journal knows of it."""
    placed = entry.state in ("fired", "queued")
    machine = {k: v for k, v in first.body.items() if k == "machine_detection"}
    return CallResult(
        key=entry.key,
        spec_file=first.spec_file,
        line=first.line,
        name=entry.name,
        tags=(),
        profile_chain=(),
        body={"to": entry.to, **machine},
        outcome="skipped" if placed else "unknown",
        request_uuid=entry.request_uuid,
        answers=entry.answers,
        escalate=first.escalate,
        skip_kind="resumed" if placed else None,
        prompt=first.message,
        registration=entry.registration or None,
    )
