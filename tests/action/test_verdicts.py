"""Each escalation's verdict and the answer counts, read back from a run's JSON report.

The verdicts reuse the run's own rules (``RunResult.chains``, ``settled.reached``,
``settled.unsettled``); these tests pin the endings a sandbox cannot easily play (a
step whose send timed out, a state nobody could read) and that a report read back
gives the same verdicts as the run it was written from.
"""

from __future__ import annotations

from callspec.action.verdicts import (
    ChainVerdict,
    answer_counts,
    chain_verdicts,
    run_of_report,
)
from callspec.redact import Redactor
from callspec.report.document import report_document
from callspec.report.json import validate_report
from callspec.results import Answer, Attempt, CallResult, Outcome, RunResult
from callspec.spec.model import Escalation

CHAIN = "page.yaml:3"
T = "2026-01-01T00:00:00.000Z"


def step(
    n: int, outcome: Outcome, *answers: Answer, uuid: str | None = None, steps: int = 3
) -> CallResult:
    return CallResult(
        key=f"k{n}",
        spec_file="page.yaml",
        line=3,
        name=f"page-{n}",
        tags=(),
        profile_chain=(),
        body={"to": f"+1415555010{n}"},
        outcome=outcome,
        attempts=(Attempt(T, 1.0, 201 if outcome == "fired" else None),),
        request_uuid=uuid if uuid is not None else (f"uuid-{n}" if outcome == "fired" else None),
        answers=answers or None,
        escalate=Escalation(45.0, "human", CHAIN, n, steps),
    )


def run(*calls: CallResult) -> RunResult:
    return RunResult("r", "sandbox", "http://127.0.0.1:1", T, T, {}, calls)


def answer(
    n: int, answered: bool | None, by: str | None = None, state: str = "completed"
) -> Answer:
    return Answer(f"uuid-{n}", f"+1415555010{n}", answered, by, state)  # type: ignore[arg-type]


def test_a_step_whose_send_timed_out_leaves_the_chain_unknown() -> None:
    result = run(step(1, "unknown"), step(2, "skipped"), step(3, "skipped"))
    assert chain_verdicts(result) == (
        ChainVerdict(CHAIN, "unknown", None, None, None, steps=3, called=1),
    )


def test_a_step_nobody_could_read_leaves_the_chain_unknown() -> None:
    result = run(step(1, "fired", answer(1, None, state="unknown")), step(2, "skipped"))
    [verdict] = chain_verdicts(result)
    assert verdict.verdict == "unknown"
    assert answer_counts(result) == {"answered": 0, "unanswered": 0, "answer-unknown": 1}


def test_an_escalation_stopped_before_its_end_is_unanswered() -> None:
    # step 1 rang out and ended; the run was stopped before step 2 (Ctrl-C)
    result = run(step(1, "fired", answer(1, False)), step(2, "skipped"), step(3, "skipped"))
    assert chain_verdicts(result) == (
        ChainVerdict(CHAIN, "unanswered", None, None, None, steps=3, called=1),
    )


def test_a_report_read_back_gives_the_run_s_verdicts() -> None:
    result = run(
        step(1, "fired", answer(1, True, "machine")),
        step(2, "fired", answer(2, True, "human")),
        step(3, "skipped"),
    )
    doc = report_document(result, Redactor())
    assert validate_report(doc) == []
    back = run_of_report(doc)
    assert chain_verdicts(back) == chain_verdicts(result)
    assert chain_verdicts(back) == (
        ChainVerdict(CHAIN, "answered", "page-2", "human", 2, steps=3, called=2),
    )
    assert answer_counts(back) == {"answered": 1, "unanswered": 1, "answer-unknown": 0}
