"""When an escalation step is over: answered as its chain asks, or surely ringing no more.

The escalation policy read from a run's results (plain data, see
:mod:`callspec.results`): :func:`reached` says a step ended its chain,
:func:`unsettled` says why a step may still ring (so the next must not be
called, and the run fails), :func:`chain_ends` says how each chain of a run
ended.  Only positive evidence settles a step: a detail record, a fresh state
read, or Plivo accepting the hangup or the cancel.  A step whose state could
not be read, or whose reads contradicted each other or named another call,
is unknown, never "not answered".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callspec.results import CallResult


def reached(result: CallResult) -> bool:
    """True when ``result`` ends its escalation: answered (by a human, for ``until: human``:
    the record must say so, an answer nobody could attribute does not count; acknowledged,
    for ``until: acknowledged``: the answer service's word, believed)."""
    until = result.escalate.until if result.escalate else "answered"
    if until == "acknowledged":
        return any(a.acknowledged for a in result.answers or ())
    return any(
        a.answered and (until == "answered" or a.answered_by == "human")
        for a in result.answers or ()
    )


def unsettled(result: CallResult) -> str | None:
    """Why the escalation step ``result`` may still ring (so the next must not be called, and
    the run fails); None when it surely rings no more (its record came, or Plivo accepted
    its hangup or the cancel of its queued request)."""
    if result.outcome not in ("fired", "queued", "skipped"):
        return "its outcome is unknown (the call may have been placed)"
    if not result.request_uuid:
        return "Plivo gave no request_uuid for it, so its state cannot be read"
    if not result.answers:
        return "its state could not be read"
    acknowledged = result.escalate is not None and result.escalate.until == "acknowledged"
    for answer in result.answers:
        if answer.hangup_failed:
            return "it could not be hung up (it may still be ringing)"
        if answer.answered is None:
            return "its state is unknown (it may still be ringing)"
        if answer.answered is False and (answer.state == "completed" or answer.hung_up):
            continue
        if acknowledged and (answer.state == "completed" or answer.hung_up):
            if answer.acknowledged is None:
                return "it was answered, but whether it was acknowledged could not be read"
            continue  # answered, not acknowledged in time, and it rings no more
        if answer.answered and answer.answered_by == "machine" and answer.state == "completed":
            continue  # a machine answered and the call ended: the next person is called
        if answer.answered:
            return "it was answered, but its record does not say by a human"
        return f"its state is {answer.state or 'unknown'} (it may still be ringing)"
    return None


def placed(result: CallResult) -> bool:
    """The step may have been placed (by this run or, for a resumed one, an earlier one)."""
    return result.outcome in ("fired", "queued") or bool(result.request_uuid)


def chain_ends(calls: Iterable[CallResult]) -> dict[str, CallResult | None]:
    """Each escalation chain of ``calls`` (by its name) and the step that ended it by being
    answered, or None when none was.  A chain the resumed journal shows answered by a step
    no longer in the plan (its row removed since) is over, but no step of ``calls`` ended
    it: it is left out (it is neither answered here nor unanswered)."""
    chains: dict[str, CallResult | None] = {}
    earlier: set[str] = set()
    for call in calls:
        if call.escalate is not None:
            chain = call.escalate.chain
            if chains.get(chain) is None:
                chains[chain] = call if reached(call) else None
            if call.skip_kind == "answered":
                earlier.add(chain)
    return {chain: end for chain, end in chains.items() if end is not None or chain not in earlier}


def any_unsettled(calls: Iterable[CallResult]) -> bool:
    """A placed step that did not end its chain may still ring: nobody can say the page is
    over (this fails the run even with ``--wait-ok no-answer``)."""
    return any(
        c.escalate is not None and placed(c) and not reached(c) and unsettled(c) is not None
        for c in calls
    )
