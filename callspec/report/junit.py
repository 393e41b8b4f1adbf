"""JUnit XML for CI test tabs: one testsuite per spec file, one testcase per call.

A failed call is a failure, an unknown one an error (it may have been
placed), a skipped one skipped; an invalid run has one failed testcase per
problem; ``run --check`` adds a testsuite of one testcase per URL checked.
Text is cleaned of characters XML 1.0 cannot hold.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TextIO

from callspec.errors import Problem
from callspec.redact import Redactor
from callspec.report.base import Reporter, status_text
from callspec.report.checks import junit_checks
from callspec.results import Answer, CallResult, RunResult, answer_text

# Characters XML 1.0 cannot carry at all, even escaped (a server's error text may hold them).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _junit_problem(
    call: CallResult, no_answer_ok: bool = False, chain_answered: bool = False
) -> tuple[str, str, str, str] | None:
    """(element, type, message, text) for a call that did not pass, else None."""
    detail = "\n".join(
        f"attempt {i}: {status_text(a.status)}"
        + (f": {a.detail}" if a.detail else f": {a.error}" if a.error else "")
        for i, a in enumerate(call.attempts, 1)
    )
    error = call.error or call.reason or call.message or "no error text"
    if call.outcome == "failed":
        message = f"{status_text(call.status)}: {error}" if call.attempts else error
        return "failure", "failed", message, "\n".join(filter(None, [message, detail]))
    if call.outcome == "unknown":
        message = f"outcome unknown: {error}"
        note = "The call may have been placed; it was not sent again. Check Plivo's call logs."
        return "error", "unknown", message, "\n".join(filter(None, [message, note, detail]))
    if call.outcome == "invalid":
        return "failure", "invalid", error, error
    if chain_answered:
        return None  # a step before the one that answered: the chain did its job
    if call.answers and not no_answer_ok and any(a.answered is False for a in call.answers):
        lines = [_answer_line(a) for a in call.answers]
        message = next(line for a, line in zip(call.answers, lines, strict=True) if not a.answered)
        return "failure", "not-answered", message, "\n".join(lines)
    if call.answers and any(a.answered is None for a in call.answers):
        lines = [_answer_line(a) for a in call.answers]
        message = next(
            line for a, line in zip(call.answers, lines, strict=True) if a.answered is None
        )
        return "error", "answer-unknown", message, "\n".join(lines)
    return None


def _answer_line(answer: Answer) -> str:
    return (
        f"{answer.call_uuid}"
        + (f" to {answer.to}" if answer.to else "")
        + (f": {answer_text(answer)}")
    )


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


class JUnitReporter(Reporter):
    """JUnit XML: one testsuite per spec file, one testcase per call."""

    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        def clean(text: str) -> str:
            return _XML_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", redactor.text(text))

        by_file: dict[str, list[CallResult]] = {}
        for call in result.calls:
            by_file.setdefault(call.spec_file, []).append(call)
        chains = result.chains()
        root = ET.Element("testsuites", name="callspec")
        _junit_problems(root, result, clean)
        junit_checks(root, result.checks, clean)
        for spec_file, calls in by_file.items():
            counts = {"failures": 0, "errors": 0, "skipped": 0}
            suite = ET.SubElement(root, "testsuite", name=clean(spec_file))
            for call in calls:
                case = ET.SubElement(suite, "testcase", classname=clean(spec_file))
                case.set("name", clean(call.name))
                case.set("time", _seconds(call.duration_ms))
                chain = call.escalate.chain if call.escalate else None
                answered = chain is not None and chains.get(chain) is not None
                problem = _junit_problem(call, result.no_answer_ok, answered)
                if problem is not None:
                    tag, kind, message, text = problem
                    counts["failures" if tag == "failure" else "errors"] += 1
                    element = ET.SubElement(case, tag, type=kind, message=clean(message))
                    element.text = clean(text)
                elif call.outcome == "skipped":
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=clean(call.reason or "skipped"))
                elif call.request_uuid:
                    uuids = call.request_uuid
                    listed = uuids if isinstance(uuids, str) else " ".join(uuids)
                    out = ET.SubElement(case, "system-out")
                    text = f"{call.outcome}: request_uuid {listed}"
                    for answer in call.answers or ():
                        text += "\n" + _answer_line(answer)
                    out.text = clean(text)
            suite.set("tests", str(len(calls)))
            for name, count in counts.items():
                suite.set(name, str(count))
            suite.set("time", _seconds(sum(c.duration_ms for c in calls)))
        ET.indent(root)
        stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
        stream.write(ET.tostring(root, encoding="unicode"))
        stream.write("\n")


def _junit_problems(root: ET.Element, result: RunResult, clean: Callable[[str], str]) -> None:
    """Invalid specs: one testsuite per file, one failed testcase per problem."""
    by_file: dict[str, list[Problem]] = {}
    for problem in result.problems:
        by_file.setdefault(problem.location.file, []).append(problem)
    for spec_file, problems in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=clean(spec_file))
        for problem in problems:
            case = ET.SubElement(suite, "testcase", classname=clean(spec_file))
            case.set("name", clean(problem.path or str(problem.location)))
            case.set("time", "0.000")
            failure = ET.SubElement(case, "failure", type="invalid")
            failure.set("message", clean(problem.message))
            failure.text = clean(str(problem))
        suite.set("tests", str(len(problems)))
        suite.set("failures", str(len(problems)))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", "0.000")
