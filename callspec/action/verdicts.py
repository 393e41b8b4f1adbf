"""What a pager wants to know after a run, read from its JSON report.

The report's calls are read back as :class:`~callspec.results.CallResult` values
(their ``answers`` and ``escalate`` step), so that "answered" and "may still
ring" mean here exactly what they mean for the run's exit code and its text
(:meth:`RunResult.chains <callspec.results.RunResult.chains>` and the
escalation policy, :mod:`callspec.delivery.settled`): no second copy of those
rules.

Counts are per followed destination (a call to several numbers counts each):
``answered`` (by a person: a machine's answer, when machine detection says so,
counts as ``unanswered``), ``unanswered`` (no answer, busy, rejected, a machine)
and ``answer-unknown`` (its state could not be read).
Each escalation chain gets one verdict: ``planned`` (a dry run), ``answered``
(a step ended the chain), ``unanswered`` (nobody answered and nothing rings any
more) or ``unknown`` (a step may still ring, or its fate could not be read: the
run fails).  Acknowledgements (``ack``) are meant to add an ``acknowledged``
count beside ``answered`` and a verdict of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from callspec.delivery.entries import answers_of
from callspec.delivery.settled import reached, unsettled
from callspec.results import CallResult, RunResult
from callspec.spec.model import Escalation

Verdict = Literal["planned", "answered", "unanswered", "unknown"]
#: The outputs counting followed destinations, in the order the step writes them.
ANSWER_COUNTS = ("answered", "unanswered", "answer-unknown")


@dataclass(frozen=True)
class ChainVerdict:
    """How one escalation chain ended, for a workflow's next step."""

    #: The chain: its spec file and line (``specs/page.yaml:3``), as in the report.
    chain: str
    verdict: Verdict
    #: The step that answered: its call's name, who answered (human or machine, when
    #: machine detection said) and its position; None unless the verdict is answered.
    name: str | None
    answered_by: str | None
    step: int | None
    steps: int
    #: Steps that rang or may have (placed, or their outcome is unknown).
    called: int

    def document(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "verdict": self.verdict,
            "name": self.name,
            "answered_by": self.answered_by,
            "step": self.step,
            "steps": self.steps,
            "called": self.called,
        }


def run_of_report(doc: Mapping[str, Any]) -> RunResult:
    """The parts of a run that its verdicts are made of, from its JSON report (a
    document ``validate_report`` accepts): the mode and each call's outcome, request
    UUID, answers and escalation step."""
    calls = tuple(_call_of(call) for call in doc["calls"])
    return RunResult(
        run_id=doc["run_id"],
        mode=doc["mode"],
        api_url=doc["api_url"],
        started=doc["started"],
        finished=doc["finished"],
        options=doc["options"],
        calls=calls,
    )


def _call_of(doc: Mapping[str, Any]) -> CallResult:
    step = doc.get("escalate")
    return CallResult(
        key=doc["key"],
        spec_file=doc["spec_file"],
        line=doc["line"],
        name=doc["name"],
        tags=tuple(doc["tags"]),
        profile_chain=tuple(doc["profile_chain"]),
        body=doc["body"],
        outcome=doc["outcome"],
        status=doc["status"],
        request_uuid=doc["request_uuid"],
        api_id=doc["api_id"],
        message=doc["message"],
        error=doc["error"],
        reason=doc["reason"],
        answers=answers_of(doc["answers"]) if "answers" in doc else None,
        escalate=_escalation_of(step) if step is not None else None,
    )


def _escalation_of(step: Mapping[str, Any]) -> Escalation:
    """A report's ``escalate`` object as the step it was made from (the report also says
    whether the step ``reached`` its callee: the policy's own verdict, not a field of it)."""
    known = {f.name for f in fields(Escalation)}
    return Escalation(**{k: v for k, v in step.items() if k in known})


def answer_counts(result: RunResult) -> dict[str, int]:
    """Followed destinations answered by a person, not answered (or by a machine), and
    whose state could not be read."""
    answers = [a for call in result.calls for a in call.answers or ()]
    unread = sum(1 for a in answers if a.answered is None)
    heard = sum(1 for a in answers if a.answered and a.answered_by != "machine")
    return {
        "answered": heard,
        "unanswered": len(answers) - heard - unread,
        "answer-unknown": unread,
    }


def chain_verdicts(result: RunResult) -> tuple[ChainVerdict, ...]:
    """Each escalation chain of the run, in plan order, with its verdict."""
    steps: dict[str, list[CallResult]] = {}
    for call in result.calls:
        if call.escalate is not None:
            steps.setdefault(call.escalate.chain, []).append(call)
    return tuple(
        _verdict(chain, steps[chain], ended_by, result.mode == "dry-run")
        for chain, ended_by in result.chains().items()
    )


def _verdict(
    chain: str, calls: list[CallResult], ended_by: CallResult | None, dry_run: bool
) -> ChainVerdict:
    placed = [c for c in calls if c.outcome in ("fired", "queued", "unknown") or c.request_uuid]
    verdict: Verdict
    if dry_run:
        verdict = "planned"
    elif ended_by is not None:
        verdict = "answered"
    elif any(not reached(c) and unsettled(c) is not None for c in placed):
        verdict = "unknown"
    else:
        verdict = "unanswered"
    answer = next((a for a in ended_by.answers or () if a.answered), None) if ended_by else None
    return ChainVerdict(
        chain=chain,
        verdict=verdict,
        name=ended_by.name if ended_by else None,
        answered_by=answer.answered_by if answer else None,
        step=ended_by.escalate.step if ended_by and ended_by.escalate else None,
        steps=len(calls),
        called=len(placed),
    )
