"""The JSON report (``schemas/report.schema.json``): the run's source of truth, strict JSON.

Every string goes through the run's redactor; a value that JSON cannot carry
(NaN, Infinity) refuses the report with its path rather than write an
invalid file.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

import callspec
from callspec.check.checker import document_of
from callspec.redact import Redactor
from callspec.report.base import Reporter, ReportError
from callspec.report.utf8 import has_surrogate, utf8_safe_value
from callspec.results import Answer, CallResult, RunResult
from callspec.schemas import validator


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


def _answer_document(answer: Answer, mask: Redactor) -> dict[str, Any]:
    return {
        "call_uuid": mask.value(answer.call_uuid),
        "to": mask.value(answer.to),
        "answered": answer.answered,
        "answered_by": answer.answered_by,
        "state": mask.value(answer.state),
        "call_state": mask.value(answer.call_state),
        "answer_time": mask.value(answer.answer_time),
        "end_time": mask.value(answer.end_time),
        "duration": answer.duration,
        "bill_duration": answer.bill_duration,
        "hangup_cause": mask.value(answer.hangup_cause),
        "hangup_cause_code": answer.hangup_cause_code,
        "hangup_source": mask.value(answer.hangup_source),
        "hung_up": answer.hung_up,
        "reads": answer.reads,
        "read_errors": answer.read_errors,
        "note": mask.value(answer.note),
    }


def _call_document(call: CallResult, mask: Redactor) -> dict[str, Any]:
    # Closed sets (outcome) and numbers cannot hold a secret; every free string is masked.
    doc = {
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
                "started": a.started,  # callspec's clock, as the run's times: no secret
                "duration_ms": a.duration_ms,
                "status": a.status,
                "error": mask.value(a.error),
                "maybe_sent": a.maybe_sent,
                "retry_after": _finite(a.retry_after),
            }
            for a in call.attempts
        ],
    }
    if call.escalate is not None:  # only for a step of an escalation chain
        e = call.escalate
        doc["escalate"] = {
            "chain": mask.value(e.chain),
            "step": e.step,
            "steps": e.steps,
            "until": e.until,
            "answer_within": e.answer_within,
        }
    if call.answers is not None:  # only for a followed call (--wait, escalate:)
        doc["answers"] = [_answer_document(a, mask) for a in call.answers]
    return doc


def _stopped_document(result: RunResult, redactor: Redactor) -> dict[str, str] | None:
    stopped = result.stopped
    if stopped is None:
        return None
    return {"kind": stopped.kind, "reason": redactor.text(stopped.reason), "time": stopped.time}


def report_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The JSON report of a run (``schemas/report.schema.json``), every secret masked,
    every lone surrogate spelled out (:mod:`callspec.report.utf8`)."""
    doc = {
        **_run_document(result, redactor),
        "calls": [_call_document(c, redactor) for c in result.calls],
        **_after_calls(result, redactor),
    }
    safe: dict[str, Any] = utf8_safe_value(doc)
    return safe


def _run_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The report's fields before ``calls``, in the report's order."""
    return {
        "tool": {"name": "callspec", "version": callspec.__version__},
        "run_id": result.run_id,
        # callspec's clock (now_iso): no secret; masked, a PIN like "2026" would make them
        # no date-time
        "started": result.started,
        "finished": result.finished,
        "mode": result.mode,
        "api_url": redactor.value(result.api_url),
        "interrupted": result.interrupted,
        "stopped": _stopped_document(result, redactor),
        "exit_code": int(result.exit_code()),
        "options": redactor.value(_plain(result.options)),
        "files": redactor.value(list(result.files)),
        "summary": result.summary(),
    }


def _after_calls(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The report's fields after ``calls``: the problems, and the URL checks of a
    ``run --check`` (other reports stay as they were)."""
    after: dict[str, Any] = {"problems": _problems_document(result, redactor)}
    if result.checks:
        after["checks"] = [redactor.value(document_of(c)) for c in result.checks]
    return after


def _problems_document(result: RunResult, redactor: Redactor) -> list[dict[str, Any]]:
    return [
        {
            "file": redactor.text(p.location.file),
            "line": p.location.line,
            "column": p.location.column,
            "path": redactor.text(p.path),
            "message": redactor.text(p.message),
        }
        for p in result.problems
    ]


_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)


def is_date_time(text: object) -> bool:
    """True for an RFC 3339 date-time (``2024-05-01T12:00:00.000Z``), the schema's
    ``format: date-time``; other types are left to ``type``."""
    if not isinstance(text, str):
        return True
    if _DATE_TIME.fullmatch(text) is None:
        return False
    try:  # the ranges: no month 13, no 25 o'clock (Python 3.10 does not read a Z)
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@functools.cache
def _report_validator() -> Any:
    """The report schema's validator with ``format: date-time`` enforced (jsonschema
    only annotates formats unless told to check them)."""
    from jsonschema import FormatChecker

    formats = FormatChecker(formats=())
    formats.checks("date-time")(is_date_time)
    return validator("report").evolve(format_checker=formats)


def validate_report(doc: Mapping[str, Any]) -> list[str]:
    """Schema errors of a report document as ``$.path: message`` lines; empty when valid."""
    errors = _report_validator().iter_errors(doc)
    return [f"{e.json_path}: {e.message}" for e in sorted(errors, key=lambda e: e.json_path)]


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
        """The bytes of ``json.dumps(report_document(...), indent=2)``, built a call at a time.

        A run's calls are rendered to text one by one (each call's document is
        dropped once it is text), so the report of a large run never holds every
        call as Python objects, as the whole document would (half of a 20,000-call
        run's peak memory), nor its whole text: the calls go to a temporary file
        and are copied after the head.  Still rendered whole before the first byte
        goes out: a refusal writes nothing.
        """
        marker = f"callspec-calls-{uuid.uuid4().hex}"
        doc = {
            **_run_document(result, redactor),
            "calls": marker,
            **_after_calls(result, redactor),
        }
        head, tail = _dumps(doc, "$").split(f'"{marker}"')
        if not result.calls:
            stream.write(f"{head}[]{tail}\n")
            return
        with tempfile.TemporaryFile("w+", encoding="utf-8") as calls:
            for index, call in enumerate(result.calls):
                text = _dumps(_call_document(call, redactor), f"$.calls[{index}]")
                calls.write(("[\n" if index == 0 else ",\n") + _indent(text, "    "))
            calls.write("\n  ]")
            calls.seek(0)
            stream.write(head)
            shutil.copyfileobj(calls, stream, 1 << 16)
        stream.write(tail + "\n")


def _dumps(value: Any, path: str) -> str:
    """``value`` as indented JSON text; as :func:`report_document` would have it: a lone
    surrogate (kept as it is by ``ensure_ascii=False``) spelled out."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        where = _non_finite(value, path) or str(e)
        raise ReportError(f"the report would not be valid JSON: {where}") from e
    if has_surrogate(text):  # rare: one scan of the text, not a walk of every value
        text = json.dumps(utf8_safe_value(value), indent=2, ensure_ascii=False)
    return text


def _indent(text: str, prefix: str) -> str:
    """``text`` with ``prefix`` before each line (JSON escapes newlines inside strings)."""
    return prefix + text.replace("\n", "\n" + prefix)
