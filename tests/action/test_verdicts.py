"""Each escalation's verdict and the answer counts, read back from a run's JSON report.

The verdicts are the report's own (``callspec.delivery.verdicts``, from the escalation
policy); these tests pin the endings a sandbox cannot easily play (a step whose send
timed out, a state nobody could read) and that a report written before it held its
chains gives the same verdicts, made again from its calls.
"""

from __future__ import annotations

from typing import Any

from callspec.action.verdicts import ChainVerdict, chain_verdicts, report_counts
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


def run(*calls: CallResult) -> dict[str, Any]:
    """The report document of a run of ``calls``."""
    return report_document(
        RunResult("r", "sandbox", "http://127.0.0.1:1", T, T, {}, calls), Redactor()
    )


def answer(
    n: int, answered: bool | None, by: str | None = None, state: str = "completed"
) -> Answer:
    return Answer(f"uuid-{n}", f"+1415555010{n}", answered, by, state)  # type: ignore[arg-type]


def test_a_step_whose_send_timed_out_stops_the_chain() -> None:
    doc = run(step(1, "unknown"), step(2, "skipped"), step(3, "skipped"))
    [verdict] = chain_verdicts(doc)
    assert (verdict.verdict, verdict.name, verdict.steps, verdict.called) == (
        "stopped",
        "page-1",
        3,
        1,
    )


def test_a_step_nobody_could_read_stops_the_chain() -> None:
    doc = run(step(1, "fired", answer(1, None, state="unknown")), step(2, "skipped"))
    [verdict] = chain_verdicts(doc)
    assert verdict.verdict == "stopped"
    assert report_counts(doc) == {
        "answered": 0,
        "acknowledged": 0,
        "unanswered": 0,
        "answer-unknown": 1,
    }


def test_an_escalation_stopped_before_its_end_is_unanswered() -> None:
    # step 1 rang out and ended; the run was stopped before step 2 (Ctrl-C)
    doc = run(step(1, "fired", answer(1, False)), step(2, "skipped"), step(3, "skipped"))
    assert chain_verdicts(doc) == (
        ChainVerdict(
            CHAIN,
            "unanswered",
            None,
            None,
            None,
            steps=3,
            called=1,
            words="unanswered: 'page-1': no answer, 'page-2': not called, 'page-3': not called "
            "(1 of 3 called)",
        ),
    )


def test_a_report_written_before_chains_gives_the_run_s_verdicts() -> None:
    doc = run(
        step(1, "fired", answer(1, True, "machine")),
        step(2, "fired", answer(2, True, "human")),
        step(3, "skipped"),
    )
    assert validate_report(doc) == []
    older = {key: value for key, value in doc.items() if key != "chains"}
    assert validate_report(older) == []
    assert chain_verdicts(older) == chain_verdicts(doc)
    [verdict] = chain_verdicts(doc)
    assert (verdict.verdict, verdict.name, verdict.answered_by, verdict.step) == (
        "answered",
        "page-2",
        "human",
        2,
    )
    assert report_counts(doc) == {
        "answered": 1,
        "acknowledged": 0,
        "unanswered": 1,
        "answer-unknown": 0,
    }
