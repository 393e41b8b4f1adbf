"""What a pager wants to know after a run, read from its JSON report.

Each escalation chain's verdict is the report's own (its ``chains``: see
:mod:`callspec.delivery.verdicts`, which every output of a run says alike); a
report written before chains were has them made again from its calls
(:mod:`callspec.report.readback`), by the same rules.

Counts are per followed destination (a call to several numbers counts each):
``answered`` (by a person: a machine's answer, when machine detection says so,
counts as ``unanswered``), ``acknowledged`` (the ack key pressed in time),
``unanswered`` (no answer, busy, rejected, a machine) and ``answer-unknown`` (its
state could not be read).  Each chain gets one verdict: ``planned`` (a dry run),
``acknowledged``, ``answered``, ``unanswered`` or ``stopped`` (a step may still
ring, or its fate could not be read, or the run stopped before the chain's end:
the run fails), and the sentence every output says it with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callspec.delivery.verdicts import Verdict, answer_counts
from callspec.report.readback import run_of_report
from callspec.report.verdicts import chain_words

#: The outputs counting followed destinations, in the order the step writes them.
ANSWER_COUNTS = ("answered", "acknowledged", "unanswered", "answer-unknown")


@dataclass(frozen=True)
class ChainVerdict:
    """How one escalation chain ended, for a workflow's next step."""

    #: The chain: its spec file and line (``specs/page.yaml:3``), as in the report.
    chain: str
    verdict: Verdict
    #: The step that decided it (acknowledged or answered; where a stopped chain stopped):
    #: its call's name, who answered (when machine detection said), when, its position.
    name: str | None
    answered_by: str | None
    step: int | None
    steps: int
    #: Steps that rang or may have (placed, or their outcome is unknown).
    called: int
    at: str | None = None
    round: int | None = None
    rounds: int = 1
    #: The verdict in words, as the terminal, the page and the step summary say it.
    words: str = ""

    def document(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "verdict": self.verdict,
            "name": self.name,
            "answered_by": self.answered_by,
            "at": self.at,
            "step": self.step,
            "round": self.round,
            "rounds": self.rounds,
            "steps": self.steps,
            "called": self.called,
            "words": self.words,
        }


def chains_of_report(doc: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The report's ``chains``; made from its calls for a report written before them."""
    found = doc.get("chains")
    if found is not None:
        return list(found)
    from callspec.redact import Redactor
    from callspec.report.document import chains_document

    return chains_document(run_of_report(doc), Redactor())


def chain_verdicts(doc: Mapping[str, Any]) -> tuple[ChainVerdict, ...]:
    """Each escalation chain of the report, in plan order, with its verdict."""
    verdicts = []
    for chain in chains_of_report(doc):
        per_round = sum(1 for s in chain["steps"] if s["round"] == 1)
        verdicts.append(
            ChainVerdict(
                chain=chain["chain"],
                verdict=chain["verdict"],
                name=chain["by"],
                answered_by=chain["answered_by"],
                step=chain["step"],
                steps=per_round,
                called=chain["called"],
                at=chain["at"],
                round=chain["round"],
                rounds=chain["rounds"],
                words=chain_words(chain),
            )
        )
    return tuple(verdicts)


def report_counts(doc: Mapping[str, Any]) -> dict[str, int]:
    """The followed destinations' counts of :data:`ANSWER_COUNTS`, from the report's calls."""
    counts = answer_counts(run_of_report(doc).calls)
    return {
        "answered": counts["answered"],
        "acknowledged": counts["acknowledged"],
        "unanswered": counts["unanswered"],
        "answer-unknown": counts["answer_unknown"],
    }
