"""JUnit XML for CI test tabs: one testsuite per spec file, one testcase per call.

A failed call is a failure, an unknown one an error (it may have been
placed), a skipped one skipped; an invalid run has one failed testcase per
problem; ``run --check`` adds a testsuite of one testcase per URL checked.
Each value from outside passes :func:`~callspec.report.base.shown` before
callspec's own lines join them; what XML 1.0 cannot hold at all is replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter, shown, status_text
from callspec.report.checks import junit_checks
from callspec.report.text import Chains, answer_of
from callspec.report.verdicts import chain_words
from callspec.results import answer_text

Doc = Mapping[str, Any]

# Characters XML 1.0 cannot carry at all, even escaped (a server's error text may hold them).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _attempt_line(index: int, attempt: Doc, mask: Redactor) -> str:
    # What the answer said without its status (old reports carry only ``error``).
    said = attempt.get("detail") or attempt["error"]
    return f"attempt {index}: {status_text(attempt['status'])}" + (
        f": {shown(said, mask)}" if said else ""
    )


def _junit_problem(
    call: Doc, mask: Redactor, no_answer_ok: bool = False, chain_answered: bool = False
) -> tuple[str, str, str, str] | None:
    """(element, type, message, text) for a call that did not pass, else None."""
    detail = "\n".join(_attempt_line(i, a, mask) for i, a in enumerate(call["attempts"], 1))
    error = shown(call["error"] or call["reason"] or call["message"] or "no error text", mask)
    outcome = call["outcome"]
    if outcome == "failed":
        message = f"{status_text(call['status'])}: {error}" if call["attempts"] else error
        return "failure", "failed", message, "\n".join(filter(None, [message, detail]))
    if outcome == "unknown":
        message = f"outcome unknown: {error}"
        note = "The call may have been placed; it was not sent again. Check Plivo's call logs."
        return "error", "unknown", message, "\n".join(filter(None, [message, note, detail]))
    if outcome == "invalid":
        return "failure", "invalid", error, error
    if chain_answered:
        return None  # a step before the one that answered: the chain did its job
    answers = call.get("answers") or ()
    lines = [_answer_line(a, mask) for a in answers]
    if answers and not no_answer_ok and any(a["answered"] is False for a in answers):
        message = next(line for a, line in zip(answers, lines, strict=True) if not a["answered"])
        return "failure", "not-answered", message, "\n".join(lines)
    if answers and any(a["answered"] is None for a in answers):
        message = next(
            line for a, line in zip(answers, lines, strict=True) if a["answered"] is None
        )
        return "error", "answer-unknown", message, "\n".join(lines)
    return None


def _answer_line(answer: Doc, mask: Redactor) -> str:
    to = f" to {answer['to']}" if answer["to"] else ""
    return shown(f"{answer['call_uuid']}{to}: {answer_text(answer_of(answer))}", mask)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)


@dataclass(frozen=True)
class _Case:
    """What one call's testcase needs, kept while the calls are read once (a chain's verdict
    is known only when all its steps were read)."""

    spec_file: str
    name: str
    time: str
    chain: str | None
    #: The problem when the call's chain was answered (or it is no step), and when not.
    problem: tuple[str, str, str, str] | None
    unanswered: tuple[str, str, str, str] | None
    skipped: str | None
    out: str | None


def _case(call: Doc, mask: Redactor, no_answer_ok: bool) -> _Case:
    escalate = call.get("escalate")
    chain = escalate["chain"] if escalate is not None else None
    problem = _junit_problem(call, mask, no_answer_ok, chain_answered=chain is not None)
    unanswered = _junit_problem(call, mask, no_answer_ok) if chain is not None else problem
    skipped = out = None
    if call["outcome"] == "skipped":
        skipped = shown(call["reason"] or "skipped", mask)
    elif call["request_uuid"]:
        uuids = call["request_uuid"]
        listed = uuids if isinstance(uuids, str) else " ".join(uuids)
        lines = [shown(f"{call['outcome']}: request_uuid {listed}", mask)]
        lines += [_answer_line(a, mask) for a in call.get("answers") or ()]
        out = "\n".join(lines)
    return _Case(
        call["spec_file"], call["name"], _seconds(call["duration_ms"]), chain,
        problem, unanswered, skipped, out,
    )  # fmt: skip


class JUnitReporter(Reporter):
    """JUnit XML: one testsuite per spec file, one testcase per call."""

    def render(self, report: Doc, redactor: Redactor, stream: TextIO) -> None:
        def clean(text: str) -> str:
            return _clean(shown(text, redactor))

        root = ET.Element("testsuites", name="callspec")
        _junit_problems(root, report["problems"], clean)
        junit_checks(root, report.get("checks") or (), clean)
        no_answer_ok = "no-answer" in (report["options"].get("wait_ok") or ())
        chains, by_file = Chains(report), dict[str, list[_Case]]()
        durations: dict[str, float] = {}
        chain_files: dict[str, str] = {}
        for call in report["calls"]:  # read once: a large run's are built one at a time
            if call.get("escalate") is not None:
                chain_files.setdefault(call["escalate"]["chain"], call["spec_file"])
            by_file.setdefault(call["spec_file"], []).append(_case(call, redactor, no_answer_ok))
            durations[call["spec_file"]] = (
                durations.get(call["spec_file"], 0.0) + call["duration_ms"]
            )
        for spec_file, cases in by_file.items():
            counts = {"failures": 0, "errors": 0, "skipped": 0}
            suite = ET.SubElement(root, "testsuite", name=clean(spec_file))
            for c in cases:
                element = ET.SubElement(suite, "testcase", classname=clean(spec_file))
                element.set("name", clean(c.name))
                element.set("time", c.time)
                answered = chains.reached(c.chain)
                problem = c.problem if answered or c.chain is None else c.unanswered
                if problem is not None:
                    tag, kind, message, text = problem
                    counts["failures" if tag == "failure" else "errors"] += 1
                    failure = ET.SubElement(element, tag, type=kind, message=_clean(message))
                    failure.text = _clean(text)
                elif c.skipped is not None:
                    counts["skipped"] += 1
                    ET.SubElement(element, "skipped", message=_clean(c.skipped))
                elif c.out is not None:
                    ET.SubElement(element, "system-out").text = _clean(c.out)
            verdicts = [c for c, f in chain_files.items() if f == spec_file]
            for chain in verdicts:  # each chain's verdict, as every output says it
                _chain_case(suite, spec_file, chain, chains, counts, clean)
            suite.set("tests", str(len(cases) + len(verdicts)))
            for key, count in counts.items():
                suite.set(key, str(count))
            suite.set("time", _seconds(durations[spec_file]))
        ET.indent(root)
        stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
        stream.write(ET.tostring(root, encoding="unicode"))
        stream.write("\n")


def _chain_case(
    suite: ET.Element,
    spec_file: str,
    chain: str,
    chains: Chains,
    counts: dict[str, int],
    clean: Callable[[str], str],
) -> None:
    """A testcase ``escalation FILE:LINE`` with the chain's verdict: a failure when the
    chain did not end as it asked (not acknowledged, unanswered, stopped)."""
    end = chains.ends[chain]
    element = ET.SubElement(suite, "testcase", classname=clean(spec_file))
    element.set("name", clean(f"escalation {chain}"))
    element.set("time", "0.000")
    words = clean(chain_words(end))
    if chains.reached(chain) or end["verdict"] == "planned":
        ET.SubElement(element, "system-out").text = words
        return
    kind = "not-acknowledged" if end["until"] == "acknowledged" else end["verdict"]
    counts["failures"] += 1
    ET.SubElement(element, "failure", type=kind, message=words).text = words


def _junit_problems(root: ET.Element, problems: Sequence[Doc], clean: Callable[[str], str]) -> None:
    """Invalid specs: one testsuite per file, one failed testcase per problem."""
    by_file: dict[str, list[Doc]] = {}
    for problem in problems:
        by_file.setdefault(problem["file"], []).append(problem)
    for spec_file, found in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=clean(spec_file))
        for problem in found:
            where = _location(problem)
            case = ET.SubElement(suite, "testcase", classname=clean(spec_file))
            case.set("name", clean(problem["path"] or where))
            case.set("time", "0.000")
            failure = ET.SubElement(case, "failure", type="invalid")
            failure.set("message", clean(problem["message"]))
            path = f"{problem['path']}: " if problem["path"] else ""
            failure.text = clean(f"{where}: {path}{problem['message']}")
        suite.set("tests", str(len(found)))
        suite.set("failures", str(len(found)))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", "0.000")


def _location(problem: Doc) -> str:
    """``file:line:col`` as :class:`~callspec.errors.Location` prints it (the file alone
    when the line is not known)."""
    if problem["line"] <= 0:
        return str(problem["file"])
    return f"{problem['file']}:{problem['line']}:{problem['column']}"
