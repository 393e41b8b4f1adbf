"""Escalation chains: a chain's calls placed one at a time until one is answered.

This module owns the order of an ``escalate:`` chain (the calls one spec entry
expands to: its roster's rows, or its destinations).  Each step is sent like
any call (rate limit, journal, guards, circuit breaker: the runner's own
send), then followed until it ends; a step not answered within
``answer_within`` is hung up, so two people are never paged at once.  When a
step is answered (by a human, for ``until: human``) the rest of the chain is
skipped, and says why.

The next step is called only when the last one surely rings no more (see
:mod:`~callspec.delivery.settled`): its detail record came, or Plivo accepted
its hangup (or the cancel of a queued request).  When callspec cannot know (a
send whose outcome is unknown, a 201 without a request_uuid or with one seen
before, a hangup that failed, a state that could not be read or that named
another call) the chain STOPS there, says why and how to go on, and the run
exits non-zero: paging the next person while the last may still be ringing
(or talking) is the one thing a chain must never do.

Resuming never rings anyone twice, and settles before it pages.  Before a
resumed chain places any new step, every step the journal shows placed is
settled first, in the order it was placed, whatever order the roster has now
(rows reordered, inserted or removed since): answered, the chain is over;
not answered and ended, it is done; nothing recorded (the run died while
following it), it is read back from Plivo (and hung up if it still rings past
the rest of its ``answer_within``); unknown, the chain stops.  Only then are
the steps the journal does not know called, in roster order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from callspec.delivery.resume import Decision
from callspec.delivery.settled import reached, unsettled
from callspec.results import CallResult, SkipKind
from callspec.spec.model import CallPlan


def stopped_reason(answered: CallResult) -> str:
    """Why the steps after ``answered`` were not called."""
    step = answered.escalate.step if answered.escalate else 0
    by = next((a.answered_by for a in answered.answers or () if a.answered), None)
    who = f" ({by})" if by else ""
    until = answered.escalate.until if answered.escalate else "answered"
    verb = "acknowledged" if until == "acknowledged" else "answered"  # what ended it
    return f"escalation stopped: {verb} by '{answered.name}'{who}, row {step}"


def unsettled_reason(result: CallResult, why: str) -> str:
    """What the steps after an unsettled ``result`` say: why they were not called, and how
    to go on."""
    return (
        f"escalation stopped: step '{result.name}' may still be ringing: {why}; the next "
        "person was not paged. Check the call in Plivo's console, then resume with "
        "--resume (and --retry-unknown to send an unknown step again)"
    )


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
    #: A step's result when it is not called: the chain was answered before it
    #: (``answered``), or a step before it may still ring (``unsettled``); why, in words.
    skip: Callable[[CallPlan, str, SkipKind], CallResult]
    #: Steps an earlier run placed that the plan no longer holds (their row was removed
    #: since), as results; read back like any placed step, recorded in the journal only.
    orphans: Sequence[CallResult] = ()
    #: Read an orphan back (as ``follow`` a resumed step) and journal what became of it.
    settle_orphan: Callable[[CallResult], CallResult] = lambda result: result
    #: ``repeat:``: wait before the first call of a new round (the step about to be placed);
    #: False when the run was stopped meanwhile.
    pause: Callable[[CallPlan], bool] = lambda call: True


def run_chain(
    calls: Sequence[CallPlan],
    chain: Sequence[int],
    steps: ChainSteps,
    over: str | None = None,
) -> None:
    """Place ``chain``'s steps in order until one is answered; steps left unrecorded when
    the run stops are the runner's to record as skipped.  ``over``: the resumed journal
    shows the chain was answered already (why); nothing more is sent."""
    placed = [i for i in chain if (e := steps.early(i)) is not None and e[1] is not None]
    placed.sort(key=lambda i: (_placed_at(steps, i), i))  # the order earlier runs placed them
    ended, unsure = over, None
    # The round under way: a round an earlier run placed steps of has had its pause.
    round_now = max((_round(calls[i]) for i in placed), default=1)
    for index in placed:
        result = _settle_placed(index, steps, over is None)
        if steps.stop.is_set() and not reached(result):
            return  # the wait was cut short: what became of the step is not known
        ended, unsure = _after(result, ended, unsure)
    for orphan in steps.orphans:
        if steps.stop.is_set():
            return
        result = steps.settle_orphan(orphan) if over is None and unsettled(orphan) else orphan
        ended, unsure = _after(result, ended, unsure)
    for index in chain:
        if index in placed:
            continue
        early = steps.early(index)
        if early is not None:  # held back by the plan (quiet hours): the next is called
            # Before the chain's end is asked: a held step is never sent, and the report and
            # the journal say why (held), on a resume after the chain was answered too.
            steps.finish(index, early[0], None)
            continue
        if ended is not None:
            steps.finish(index, steps.skip(calls[index], ended, "answered"), None)
            continue
        if unsure is not None:
            steps.finish(index, steps.skip(calls[index], unsure, "unsettled"), None)
            continue
        if steps.stop.is_set():
            return
        if _round(calls[index]) > round_now:  # repeat: nobody was reached in the last round
            round_now = _round(calls[index])
            if not steps.pause(calls[index]):
                return
        result = steps.send(index)
        steps.finish(index, result, None)  # journaled before the wait: a crash keeps it
        if result.outcome in ("failed", "skipped", "invalid"):
            continue  # surely nobody was rung: the next is called
        if result.outcome in ("fired", "queued") and result.request_uuid:
            result = steps.follow(index, result, False)
            steps.answered(index, result)
        if steps.stop.is_set() and not reached(result):
            return  # the wait was cut short: what became of the step is not known
        ended, unsure = _after(result, ended, unsure)


def _round(call: CallPlan) -> int:
    return call.escalate.round if call.escalate is not None else 1


def _placed_at(steps: ChainSteps, index: int) -> str:
    early = steps.early(index)
    return early[1].placed if early is not None and early[1] is not None else ""


def _settle_placed(index: int, steps: ChainSteps, follow: bool) -> CallResult:
    """A step the resumed journal shows placed: recorded with what the journal says of it,
    and read back from Plivo (``follow``) when that does not settle it."""
    early = steps.early(index)
    assert early is not None
    result, decision = early
    assert decision is not None
    if decision.answers is not None:
        result = replace(result, answers=decision.answers)  # what the journal says
    steps.finish(index, result, decision)
    settled = reached(result) or unsettled(result) is None
    if follow and decision.outcome == "skipped" and result.request_uuid and not settled:
        # Died while following it, or the last run could not tell whether it still rang:
        # read back from Plivo (hung up if it still rings past its time).
        result = steps.follow(index, result, True)
    if result.answers is not None:
        steps.answered(index, result)  # kept for a later resume
    return result


Why = str | None


def _after(result: CallResult, ended: Why, unsure: Why) -> tuple[Why, Why]:
    """(why the chain is over, why it stops unsure) once ``result`` is known: answered ends it;
    a step that may still ring holds every later step."""
    if reached(result):
        return ended or stopped_reason(result), unsure
    why = unsettled(result)
    if why is not None and result.outcome != "failed":
        return ended, unsure or unsettled_reason(result, why)
    return ended, unsure
