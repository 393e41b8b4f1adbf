"""Escalation chains: a chain's calls placed one at a time until one is answered.

This module owns the order of an ``escalate:`` chain (the calls one spec entry
expands to: its roster's rows, or its destinations).  Each step is sent like
any call (rate limit, journal, guards, circuit breaker: the runner's own
send), then followed until it ends; a step not answered within
``answer_within`` is hung up, so two people are never paged at once.  When a
step is answered (by a human, for ``until: human``) the rest of the chain is
skipped, and says why.

The next step is called only when the last one surely rings no more: its
detail record came, it was seen to end, or Plivo accepted its hangup (or the
cancel of a queued request).  When callspec cannot know (a send whose outcome
is unknown, a 201 without a request_uuid, a hangup that failed, a state that
could not be read) the chain STOPS there, says why and how to go on, and the
run exits non-zero: paging the next person while the last may still be
ringing (or talking) is the one thing a chain must never do.

Resuming never rings anyone twice: a step the journal shows placed is not
sent again.  What it recorded of the answer decides: answered, the chain
stops there (and so does every step of that chain the journal does not
know, even in an edited roster); not answered, the next step is called;
nothing recorded (the run died or was stopped while following it), the step
is read back from Plivo: answered, the chain stops; still ringing after the
rest of its ``answer_within``, it is hung up and the next step is called;
unknown (the run died right after its POST), the chain stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from callspec.delivery.resume import Decision
from callspec.results import CallResult
from callspec.spec.model import CallPlan, Plan


def chains_of(plan: Plan) -> list[list[int]]:
    """Each chain of the plan as the indices of its steps, in order."""
    chains: dict[str, list[int]] = {}
    for index, call in enumerate(plan.calls):
        if call.escalate is not None:
            chains.setdefault(call.escalate.chain, []).append(index)
    return list(chains.values())


def stopped_reason(answered: CallResult) -> str:
    """Why the steps after ``answered`` were not called."""
    step = answered.escalate.step if answered.escalate else 0
    by = next((a.answered_by for a in answered.answers or () if a.answered), None)
    who = f" ({by})" if by else ""
    return f"escalation stopped: answered by '{answered.name}'{who}, row {step}"


@dataclass(frozen=True)
class ChainSteps:
    """What a chain needs of the runner: its send, its record, its follow."""

    stop: threading.Event
    #: What the resumed journal decided for a step (not to send it), if anything.
    early: Callable[[int], tuple[CallResult, Decision | None] | None]
    #: Send a step: its attempts, journaled, rate-limited; never raises.
    send: Callable[[int], CallResult]
    #: Record a step's result (report, journal, circuit breaker, progress).
    finish: Callable[[int, CallResult, Decision | None], None]
    #: Follow a placed step until it ends, hanging it up when not answered in time (at
    #: once when ``resumed``: a step an earlier run placed has had its time).
    follow: Callable[[int, CallResult, bool], CallResult]
    #: Record what became of a followed step (report and journal).
    answered: Callable[[int, CallResult], None]
    #: A step's result when it is not called (the chain stopped before it).
    skip: Callable[[CallPlan, str], CallResult]


def unsettled(result: CallResult) -> str | None:
    """Why the step ``result`` may still ring (so the next must not be called); None when
    it surely rings no more (see :meth:`CallResult.may_still_ring`)."""
    return result.may_still_ring()


def unsettled_reason(result: CallResult, why: str) -> str:
    """What the steps after an unsettled ``result`` say: why they were not called, and how
    to go on."""
    return (
        f"escalation stopped: step '{result.name}' may still be ringing: {why}; the next "
        "person was not paged. Check the call in Plivo's console, then resume with "
        "--resume (and --retry-unknown to send an unknown step again)"
    )


def run_chain(
    calls: Sequence[CallPlan],
    chain: Sequence[int],
    steps: ChainSteps,
    over: str | None = None,
) -> None:
    """Place ``chain``'s steps in order until one is answered; steps left unrecorded when
    the run stops are the runner's to record as skipped.  ``over``: the resumed journal
    shows the chain was answered already (why); nothing more is sent."""
    ended: str | None = over
    for index in chain:
        early = steps.early(index)
        if ended is not None:
            result, decision = early or (steps.skip(calls[index], ended), None)
            if decision is not None and decision.answers is not None:
                result = replace(result, answers=decision.answers)
            if decision is None:
                result = steps.skip(calls[index], ended)  # never placed: not now either
            steps.finish(index, result, decision)
            if result.answers is not None:
                steps.answered(index, result)  # kept for a later resume
            continue
        if steps.stop.is_set():
            return
        if early is not None:
            result, decision = early
            steps.finish(index, result, decision)
            if decision is None:
                continue  # never placed: the next is called
            if decision.outcome != "skipped":
                ended = unsettled_reason(result, unsettled(result) or "its outcome is unknown")
                continue
            if decision.answers is not None:
                result = replace(result, answers=decision.answers)  # what the journal says
            if result.request_uuid and not result.reached() and unsettled(result):
                # Died while following it, or the last run could not tell whether it still
                # rang: read back from Plivo (hung up if it still rings past its time).
                result = steps.follow(index, result, True)
            if result.answers is not None:
                steps.answered(index, result)
        else:
            result = steps.send(index)
            steps.finish(index, result, None)  # journaled before the wait: a crash keeps it
            if result.outcome in ("failed", "skipped", "invalid"):
                continue  # surely nobody was rung: the next is called
            if result.outcome in ("fired", "queued") and result.request_uuid:
                result = steps.follow(index, result, False)
                steps.answered(index, result)
        if steps.stop.is_set() and not result.reached():
            return  # the wait was cut short: what became of the step is not known
        if result.reached():
            ended = stopped_reason(result)
        elif (why := unsettled(result)) is not None:
            ended = unsettled_reason(result, why)
