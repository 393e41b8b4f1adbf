"""How a page ended, as facts every output says alike: each step's fate, each chain's verdict,
the run's counts of answered, acknowledged and unanswered destinations.

Read from a run's results (plain data) by the report document
(:mod:`callspec.report.document`), which every reporter and the Action's outputs
render, so the terminal, the HTML page, the step summary, JUnit and a workflow's
next step all say the same.  What ends a chain, and what may still ring, is the
escalation policy's (:mod:`~callspec.delivery.settled`); this module words nothing.

A chain's verdict: ``planned`` (a dry run), ``acknowledged`` (a step pressed the
key in time, ``until: acknowledged``), ``answered`` (a step reached its callee, or
someone answered a chain that asked for an acknowledgement nobody gave),
``unanswered`` (nobody answered, and nothing rings any more) or ``stopped`` (the
chain did not run to its end: a step may still ring or its fate could not be
read, or the run stopped before it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from callspec.delivery.settled import placed, reached, unsettled

if TYPE_CHECKING:
    from callspec.results import Answer, CallResult

Verdict = Literal["planned", "acknowledged", "answered", "unanswered", "stopped"]
#: What became of one step: closed words, so every output can say them its own way.
Fate = Literal[
    "acknowledged",
    "answered",
    "no-key",
    "wrong-key",
    "late-key",
    "ack-unknown",
    "machine",
    "no-answer",
    "busy",
    "unknown",
    "failed",
    "held",
    "cooldown",
    "not-called",
    "planned",
]


@dataclass(frozen=True)
class ChainEnd:
    """How one chain ended: its verdict, and the step that decided it (if one did)."""

    verdict: Verdict
    #: The step that reached its callee (acknowledged, answered); for ``answered`` without
    #: reaching, the first who answered; for ``stopped``, the step it stopped at.
    by: CallResult | None


def rang(call: CallResult) -> bool:
    """The call rang or may have: placed, or its send's outcome is unknown."""
    return placed(call) or call.outcome == "unknown"


def _ack_asked(call: CallResult) -> bool:
    return call.prompt is not None and call.prompt.ack is not None


def answer_fate(call: CallResult, answer: Answer) -> Fate:
    """What one followed destination of ``call`` came to."""
    if answer.acknowledged:
        return "acknowledged"
    if answer.answered is None:
        return "unknown"
    if not answer.answered:
        return "busy" if answer.call_state == "BUSY" else "no-answer"
    if answer.answered_by == "machine":
        return "machine"
    if not _ack_asked(call):
        return "answered"
    if answer.acknowledged is None:  # answered: only what was pressed could not be read
        return "ack-unknown"
    if answer.late_key_at:
        return "late-key"
    return "wrong-key" if answer.wrong_keys else "no-key"


def step_fate(call: CallResult, dry_run: bool = False) -> Fate:
    """What became of one call (a chain's step): its destination's fate once placed and
    followed; else why it did not ring."""
    if dry_run:
        return "planned"
    if call.answers:
        fates = [answer_fate(call, a) for a in call.answers]
        return next((f for f in fates if f == "acknowledged"), fates[0])
    if call.outcome in ("failed", "invalid"):
        return "failed"
    if call.outcome == "unknown" or placed(call):
        return "unknown"
    if call.skip_kind in ("held", "cooldown"):
        return call.skip_kind
    return "not-called"


def chain_end(steps: Sequence[CallResult], dry_run: bool) -> ChainEnd:
    """The verdict of a chain made of ``steps`` (in plan order, every round)."""
    if dry_run:
        return ChainEnd("planned", None)
    ended = next((s for s in steps if reached(s)), None)
    if ended is not None:
        acked = ended.escalate is not None and ended.escalate.until == "acknowledged"
        return ChainEnd("acknowledged" if acked else "answered", ended)
    stuck = next((s for s in steps if rang(s) and unsettled(s) is not None), None)
    if stuck is None:
        stuck = next((s for s in steps if s.skip_kind in ("halt", "unsettled")), None)
    if stuck is not None:
        return ChainEnd("stopped", stuck)
    heard = next((s for s in steps if step_fate(s) in _HEARD), None)
    if heard is not None and _ack_asked(heard):
        return ChainEnd("answered", heard)
    return ChainEnd("unanswered", None)


#: A person took the call (whatever they pressed): an acknowledgement was asked of someone.
_HEARD = frozenset({"answered", "no-key", "wrong-key", "late-key", "ack-unknown"})


def chains(
    calls: Iterable[CallResult], dry_run: bool
) -> dict[str, tuple[list[CallResult], ChainEnd]]:
    """Each escalation chain of ``calls`` (by its name, in plan order): its steps and end."""
    steps: dict[str, list[CallResult]] = {}
    for call in calls:
        if call.escalate is not None:
            steps.setdefault(call.escalate.chain, []).append(call)
    return {chain: (found, chain_end(found, dry_run)) for chain, found in steps.items()}


def answer_counts(calls: Iterable[CallResult]) -> dict[str, int]:
    """Followed destinations: ``answered`` by a person (a machine's answer, when machine
    detection says so, counts as ``unanswered``), ``acknowledged``, ``unanswered`` (no
    answer, busy, rejected, a machine) and ``answer_unknown`` (its state could not be
    read)."""
    answers = [a for call in calls for a in call.answers or ()]
    unread = sum(1 for a in answers if a.answered is None)
    heard = sum(1 for a in answers if a.answered and a.answered_by != "machine")
    return {
        "answered": heard,
        "acknowledged": sum(1 for a in answers if a.acknowledged),
        "unanswered": len(answers) - heard - unread,
        "answer_unknown": unread,
    }
