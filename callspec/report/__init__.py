"""Reports of a run: the JSON document, JUnit XML, the terminal and Markdown summaries.

This module owns turning a :class:`~callspec.results.RunResult` into what people
and machines read after a run.  Every reporter shares one interface, writes to
a stream it is given and masks secrets through the :class:`Redactor` it is
given; :func:`write_report` puts a report at a path (atomically, or into a device), and
:func:`append_github_summary` adds the Markdown summary to a GitHub job page.
The JSON document's contract is ``schemas/report.schema.json``.
"""

from __future__ import annotations

import abc
import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import callspec
from callspec.errors import CallspecError, Problem
from callspec.redact import Redactor
from callspec.report.markdown import Page, markdown_text
from callspec.report.outputs import write_output
from callspec.results import CallResult, RunResult
from callspec.schemas import validator

ReportKind = Literal["json", "junit", "text", "markdown"]

# Characters XML 1.0 cannot carry at all, even escaped (a server's error text may hold them).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _plain(value: Any) -> Any:
    """``value`` as JSON types: mappings to dicts, sequences to lists, the rest to strings."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def _finite(number: float | None) -> float | None:
    """A server may send ``Retry-After: inf``; the report says "none" rather than Infinity."""
    return number if number is None or math.isfinite(number) else None


def _call_document(call: CallResult, mask: Redactor) -> dict[str, Any]:
    # Closed sets (outcome) and numbers cannot hold a secret; every free string is masked.
    return {
        "key": call.key,  # a hash: holds no secret, and must stay matchable
        "spec_file": mask.value(call.spec_file),
        "line": call.line,
        "name": mask.value(call.name),
        "tags": mask.value(list(call.tags)),
        "profile_chain": mask.value(list(call.profile_chain)),
        "body": mask.value(_plain(call.body)),
        "outcome": call.outcome,
        "status": call.status,
        "request_uuid": mask.value(_plain(call.request_uuid)),
        "api_id": mask.value(call.api_id),
        "message": mask.value(call.message),
        "error": mask.value(call.error),
        "reason": mask.value(call.reason),
        "duration_ms": call.duration_ms,
        "attempts": [
            {
                "started": mask.value(a.started),
                "duration_ms": a.duration_ms,
                "status": a.status,
                "error": mask.value(a.error),
                "maybe_sent": a.maybe_sent,
                "retry_after": _finite(a.retry_after),
            }
            for a in call.attempts
        ],
    }


def _stopped_document(result: RunResult, redactor: Redactor) -> dict[str, str] | None:
    stopped = result.stopped
    if stopped is None:
        return None
    return {"kind": stopped.kind, "reason": redactor.text(stopped.reason), "time": stopped.time}


def report_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The JSON report of a run (``schemas/report.schema.json``), every secret masked."""
    return {
        "tool": {"name": "callspec", "version": callspec.__version__},
        "run_id": result.run_id,
        "started": redactor.value(result.started),
        "finished": redactor.value(result.finished),
        "mode": result.mode,
        "api_url": redactor.value(result.api_url),
        "interrupted": result.interrupted,
        "stopped": _stopped_document(result, redactor),
        "options": redactor.value(_plain(result.options)),
        "files": redactor.value(list(result.files)),
        "summary": result.summary(),
        "calls": [_call_document(c, redactor) for c in result.calls],
        "problems": [
            {
                "file": redactor.text(p.location.file),
                "line": p.location.line,
                "column": p.location.column,
                "path": redactor.text(p.path),
                "message": redactor.text(p.message),
            }
            for p in result.problems
        ],
    }


def validate_report(doc: Mapping[str, Any]) -> list[str]:
    """Schema errors of a report document as ``$.path: message`` lines; empty when valid."""
    errors = validator("report").iter_errors(doc)
    return [f"{e.json_path}: {e.message}" for e in sorted(errors, key=lambda e: e.json_path)]


class Reporter(abc.ABC):
    """Writes one kind of report of a run to a text stream, secrets masked."""

    @abc.abstractmethod
    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        """Write the report of ``result`` to ``stream``."""


class ReportError(CallspecError):
    """A report would not be valid JSON (a NaN or an infinity in it); nothing was written."""


def _non_finite(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first NaN or infinity in ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} is {value}"
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _non_finite(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found:
            return found
    return None


class JsonReporter(Reporter):
    """The JSON report document, indented; strict JSON (no NaN or Infinity), else refused."""

    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        doc = report_document(result, redactor)
        try:  # rendered whole before the first byte goes out: a refusal writes nothing
            text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
        except ValueError as e:
            where = _non_finite(doc) or str(e)
            raise ReportError(f"the report would not be valid JSON: {where}") from e
        stream.write(text + "\n")


def _status_text(status: int | None) -> str:
    return f"HTTP {status}" if status is not None else "no response"


def _junit_problem(call: CallResult) -> tuple[str, str, str, str] | None:
    """(element, type, message, text) for a call that did not pass, else None."""
    detail = "\n".join(
        f"attempt {i}: "
        + (a.error if a.error and a.error.startswith("HTTP ") else _status_text(a.status))
        + (f": {a.error}" if a.error and not a.error.startswith("HTTP ") else "")
        for i, a in enumerate(call.attempts, 1)
    )
    error = call.error or call.reason or call.message or "no error text"
    if call.outcome == "failed":
        message = f"{_status_text(call.status)}: {error}" if call.attempts else error
        return "failure", "failed", message, "\n".join(filter(None, [message, detail]))
    if call.outcome == "unknown":
        message = f"outcome unknown: {error}"
        note = "The call may have been placed; it was not sent again. Check Plivo's call logs."
        return "error", "unknown", message, "\n".join(filter(None, [message, note, detail]))
    if call.outcome == "invalid":
        return "failure", "invalid", error, error
    return None


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
        root = ET.Element("testsuites", name="callspec")
        _junit_problems(root, result, clean)
        for spec_file, calls in by_file.items():
            counts = {"failures": 0, "errors": 0, "skipped": 0}
            suite = ET.SubElement(root, "testsuite", name=clean(spec_file))
            for call in calls:
                case = ET.SubElement(suite, "testcase", classname=clean(spec_file))
                case.set("name", clean(call.name))
                case.set("time", _seconds(call.duration_ms))
                problem = _junit_problem(call)
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
                    out.text = clean(f"{call.outcome}: request_uuid {listed}")
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


def _uuid_cell(request_uuid: str | list[str] | None) -> str:
    if not request_uuid:
        return "-"
    if isinstance(request_uuid, str):
        return request_uuid
    more = len(request_uuid) - 1
    return request_uuid[0] + (f" (+{more} more)" if more else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


_HEADER = ("call", "outcome", "status", "request_uuid", "time (ms)")


def _rows(calls: Iterable[CallResult], redactor: Redactor) -> list[tuple[str, ...]]:
    return [
        tuple(
            _one_line(redactor.text(cell))
            for cell in (
                f"{c.spec_file}:{c.name}",
                c.outcome,
                str(c.status) if c.status is not None else "-",
                _uuid_cell(c.request_uuid),
                f"{c.duration_ms:.0f}",
            )
        )
        for c in calls
    ]


def _run_seconds(result: RunResult) -> float:
    """Wall time of the run from its timestamps; the calls' own time if those do not parse."""
    try:
        start, end = (
            datetime.fromisoformat(t.replace("Z", "+00:00"))
            for t in (result.started, result.finished)
        )
        return max((end - start).total_seconds(), 0.0)
    except (ValueError, TypeError):
        return sum(c.duration_ms for c in result.calls) / 1000


_STOPPED = {
    "interrupt": "interrupted",
    "journal": "stopped: journal write failed",
    "bail": "stopped: circuit breaker",
}


def totals_line(result: RunResult) -> str:
    """``5 calls: 4 fired, 0 queued, 1 failed, 0 unknown, 0 skipped (mode sandbox, 0.42 s)``."""
    s = result.summary()
    counts = ", ".join(f"{s[o]} {o}" for o in ("fired", "queued", "failed", "unknown", "skipped"))
    if s["invalid"]:
        counts += f", {s['invalid']} invalid"
    noun = "call" if s["total"] == 1 else "calls"
    extra = ""
    if result.stopped is not None:
        extra = ", interrupted" if result.interrupted else f", {_STOPPED[result.stopped.kind]}"
    return (
        f"{s['total']} {noun}: {counts} (mode {result.mode}, {_run_seconds(result):.2f} s{extra})"
    )


def _problem_lines(calls: Iterable[CallResult], redactor: Redactor) -> list[str]:
    lines = []
    for c in calls:
        if c.outcome not in ("failed", "unknown", "invalid"):
            continue
        text = c.error or c.reason or c.message or "no error text"
        if c.outcome == "unknown" and "may have been placed" not in text:
            text += " (may have been placed; not resent)"
        lines.append(_one_line(redactor.text(f"{c.spec_file}:{c.name}: {c.outcome}: {text}")))
    return lines


class TextReporter(Reporter):
    """The terminal summary: a table of calls, the totals, then what went wrong."""

    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        rows = [_HEADER, *_rows(result.calls, redactor)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
        for row in rows:
            cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)]
            stream.write("  ".join([*cells, row[-1].rjust(widths[-1])]) + "\n")
        stream.write(totals_line(result) + "\n")
        for line in _problem_lines(result.calls, redactor):
            stream.write(line + "\n")


SUMMARY_MAX_BYTES = 512 * 1024  # GitHub refuses a step summary over 1 MiB: stay well below
# What went wrong first, then what was skipped; fired and queued calls fill the room left.
_PRIORITY = {"failed": 0, "unknown": 1, "invalid": 2, "skipped": 3}


def _priority(call: CallResult) -> int:
    return _PRIORITY.get(call.outcome, len(_PRIORITY))


def _more_calls(calls: list[CallResult]) -> str:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.outcome] = counts.get(call.outcome, 0) + 1
    if len(counts) == 1:
        ((outcome, n),) = counts.items()
        return f"\N{HORIZONTAL ELLIPSIS} and {n:,} more {outcome} call{'s' if n != 1 else ''}"
    each = ", ".join(f"{n:,} {outcome}" for outcome, n in counts.items())
    return f"\N{HORIZONTAL ELLIPSIS} and {len(calls):,} more calls ({each})"


class MarkdownReporter(Reporter):
    """The summary as GitHub-flavoured Markdown for a job's step summary, at most
    ``max_bytes``: the totals, the problems of invalid specs, what went wrong, then
    the calls (failed, unknown, skipped first); what does not fit is counted."""

    def __init__(self, max_bytes: int = SUMMARY_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        def row(cells: Iterable[str]) -> str:
            return "| " + " | ".join(markdown_text(c) for c in cells) + " |"

        ellipsis = "\N{HORIZONTAL ELLIPSIS}"
        page = Page(self.max_bytes)
        page.add(f"### callspec run `{result.run_id}`")
        page.add("")
        page.add(totals_line(result))
        if result.problems:
            page.add("")
            page.add("| where | path | problem |")
            page.add("|---|---|---|")
            problems = [
                row(redactor.text(t) for t in (str(p.location), p.path or "-", p.message))
                for p in result.problems
            ]
            page.add_all(problems, lambda n: f"{ellipsis} and {n:,} more problems")
        calls = sorted(result.calls, key=_priority)  # stable: plan order within an outcome
        wrong = _problem_lines((c for c in calls if _priority(c) < _PRIORITY["skipped"]), redactor)
        if wrong:
            page.add("")
            page.add_all(
                [f"- {markdown_text(line)}" for line in wrong],
                lambda n: f"{ellipsis} and {n:,} more (all in the JSON report)",
            )
        if calls:
            page.add("")
            page.add("| " + " | ".join(_HEADER) + " |")
            page.add("|---|---|---:|---|---:|")
            rows = [row(cells) for cells in _rows(calls, redactor)]
            page.add_all(rows, lambda n: _more_calls(calls[-n:]))
        stream.write(page.text())


REPORTERS: dict[ReportKind, Reporter] = {
    "json": JsonReporter(),
    "junit": JUnitReporter(),
    "text": TextReporter(),
    "markdown": MarkdownReporter(),
}


def write_report(kind: ReportKind, result: RunResult, redactor: Redactor, path: Path) -> None:
    """Write one report to ``path`` (see :func:`callspec.report.outputs.write_output`).

    The report is rendered in full first, so one that is refused (or a reporter
    that fails) leaves ``path`` as it was: a FIFO or a terminal gets nothing, not half.
    """
    out = io.StringIO()
    REPORTERS[kind].write(result, redactor, out)
    write_output(Path(path), out.getvalue().encode("utf-8"))


def append_github_summary(
    result: RunResult, redactor: Redactor, environ: Mapping[str, str] | None = None
) -> bool:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``; False (no-op) when it is unset."""
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as f:
        REPORTERS["markdown"].write(result, redactor, f)
        f.write("\n")
    return True
