"""Escalation chains: a chain's calls placed one at a time until one is answered.

This module owns the order of an ``escalate:`` chain (the calls one spec entry
expands to: its roster's rows, or its destinations).  Each step is sent like
any call (rate limit, journal, guards, circuit breaker: the runner's own
send), then followed until it ends; a step not answered within
``answer_within`` is hung up, so two people are never paged at once.  When a
step is answered (by a human, for ``until: human``) the rest of the chain is
skipped, and says why.

Resuming never rings anyone twice: a step the journal shows placed is not
sent again.  What it recorded of the answer decides: answered, the chain
stops there; not answered, the next step is called; nothing recorded (the
run died or was stopped while following it), the step is read back from
Plivo: answered, the chain stops; still ringing, it is hung up at once (it
had its time while the last run waited) and the next step is called.
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


def run_chain(calls: Sequence[CallPlan], chain: Sequence[int], steps: ChainSteps) -> None:
    """Place ``chain``'s steps in order until one is answered; steps left unrecorded when
    the run stops are the runner's to record as skipped."""
    ended_by: CallResult | None = None
    for index in chain:
        if ended_by is not None:
            steps.finish(index, steps.skip(calls[index], stopped_reason(ended_by)), None)
            continue
        if steps.stop.is_set():
            return
        early = steps.early(index)
        if early is not None:
            result, decision = early
            steps.finish(index, result, decision)
            if decision is None or decision.outcome != "skipped":
                continue  # never placed (or unknown: nothing to follow); the next is called
            if decision.answers is not None:
                result = replace(result, answers=decision.answers)  # what the journal says
            elif result.request_uuid:
                result = steps.follow(index, result, True)  # died while following: read back
            if result.answers is not None:
                steps.answered(index, result)
        else:
            result = steps.send(index)
            steps.finish(index, result, None)  # journaled before the wait: a crash keeps it
            if result.outcome not in ("fired", "queued"):
                continue  # nobody was rung (or nobody can tell): the next is called
            result = steps.follow(index, result, False)
            steps.answered(index, result)
        if result.reached():
            ended_by = result
