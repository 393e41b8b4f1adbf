"""The JSON report document (``schemas/report.schema.json``): what every reporter renders.

A run's result becomes its report document here, every free string masked by
the run's :class:`~callspec.redact.Redactor` and every lone surrogate spelled
out (:mod:`callspec.report.utf8`); a saved ``report.json`` becomes one through
:func:`read_report` (checked against the schema, then masked as a run masks).
Reporters read nothing else, so ``callspec report`` rebuilds every format a run
writes, byte for byte.

:func:`run_report` is the document of a run read lazily: its calls are built one
at a time as a reporter reads them, so a 20,000-call run never holds every call
as a document (half of its peak memory, when it did).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import callspec
from callspec.delivery.settled import reached
from callspec.delivery.verdicts import answer_counts, chains, rang, step_fate
from callspec.errors import UsageError
from callspec.redact import Redactor
from callspec.report.utf8 import has_surrogate, utf8_safe_value

if TYPE_CHECKING:
    from callspec.results import Answer, Attempt, CallResult, RunResult


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
        "acknowledged": answer.acknowledged,
        "acknowledged_at": mask.value(answer.acknowledged_at),
        "late_key_at": mask.value(answer.late_key_at),
        "wrong_keys": answer.wrong_keys,
    }


def _prompt_document(call: CallResult, mask: Redactor) -> dict[str, Any]:
    """What a call with ``message:`` said, how, what acknowledges it, and where it was
    registered (nothing for another call)."""
    prompt = call.prompt
    if prompt is None:
        return {}
    ack = prompt.ack
    return {
        "prompt": {
            "message": mask.value(prompt.text),
            "voice": mask.value(prompt.voice),
            "language": mask.value(prompt.language),
            "ack": None if ack is None else {"digit": ack.digit, "within": ack.within},
            "service": mask.value(call.service),
            "registration": call.registration,  # random, made by callspec: no secret
        },
        "acknowledged_at": mask.value(
            next((a.acknowledged_at for a in call.answers or () if a.acknowledged), None)
        ),
        "fate": step_fate(call),
    }


def call_document(call: CallResult, mask: Redactor) -> dict[str, Any]:
    """One call's entry of the report, every free string masked (closed sets and numbers
    cannot hold a secret)."""
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
        "skip_kind": call.skip_kind,  # a closed set: why it was skipped, as a fact
        "duration_ms": call.duration_ms,
        "attempts": [_attempt_document(a, mask) for a in call.attempts],
        # True or False when an ack was asked (None: it could not be told); None when not.
        "acknowledged": call.acknowledged,
        **_prompt_document(call, mask),
    }
    if call.escalate is not None:  # only for a step of an escalation chain
        e = call.escalate
        doc["escalate"] = {
            "chain": mask.value(e.chain),
            "step": e.step,
            "steps": e.steps,
            "until": e.until,
            "answer_within": e.answer_within,
            "round": e.round,
            "rounds": e.rounds,
            # The escalation policy's verdict, as the journal records it: reporters read
            # it, never work it out again from the answers.
            "reached": reached(call),
        }
    if call.cooldown is not None:  # only for a call with cooldown:
        doc["cooldown"] = {
            "seconds": call.cooldown,
            "unchecked": mask.value(call.cooldown_unchecked),
        }
    if call.answers is not None:  # only for a followed call (--wait, escalate:)
        doc["answers"] = [_answer_document(a, mask) for a in call.answers]
    return doc


def _attempt_document(attempt: Attempt, mask: Redactor) -> dict[str, Any]:
    doc = {
        "started": attempt.started,  # callspec's clock, as the run's times: no secret
        "duration_ms": attempt.duration_ms,
        "status": attempt.status,
        "error": mask.value(attempt.error),
        "maybe_sent": attempt.maybe_sent,
        "retry_after": _finite(attempt.retry_after),
    }
    if attempt.detail is not None:  # only for an HTTP answer that is no success
        doc["detail"] = mask.value(attempt.detail)
    return doc


def head_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The report's fields before ``calls``, in the report's order."""
    stopped = result.stopped
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
        "stopped": None
        if stopped is None
        else {"kind": stopped.kind, "reason": redactor.text(stopped.reason), "time": stopped.time},
        "exit_code": int(result.exit_code()),
        "options": redactor.value(_plain(result.options)),
        "files": redactor.value(list(result.files)),
        "summary": {**result.summary(), **_counts(result)},
        "chains": chains_document(result, redactor),
    }


def _counts(result: RunResult) -> dict[str, int]:
    counts = answer_counts(result.calls)
    return {key: counts[key] for key in ("answered", "acknowledged", "unanswered")}


def _utc(moment: str | None) -> str | None:
    """A time as callspec, Plivo or the answer service wrote it, in UTC (ISO 8601); None
    when there is none, as given when it cannot be read."""
    if not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return moment  # whose zone is unknown: shown as written
    spec = "milliseconds" if parsed.microsecond else "seconds"
    return parsed.astimezone(timezone.utc).isoformat(timespec=spec).replace("+00:00", "Z")


def chains_document(result: RunResult, mask: Redactor) -> list[dict[str, Any]]:
    """Each escalation chain: its verdict, who decided it and when, its steps in order
    with what became of each (:mod:`callspec.delivery.verdicts`)."""
    found = []
    for chain, (steps, end) in chains(result.calls, result.mode == "dry-run").items():
        first = steps[0].escalate
        assert first is not None
        by = end.by
        at = None
        answered_by = None
        if by is not None and by.answers:
            answer = next((a for a in by.answers if a.acknowledged), None)
            if answer is not None:
                at = answer.acknowledged_at
            else:
                answer = next((a for a in by.answers if a.answered), by.answers[0])
                at = answer.answer_time
            answered_by = answer.answered_by
        dry_run = result.mode == "dry-run"
        found.append(
            {
                "chain": mask.value(chain),
                "verdict": end.verdict,
                "until": first.until,
                "answer_within": first.answer_within,
                "by": None if by is None else mask.value(by.name),
                "answered_by": answered_by,
                "at": mask.value(_utc(at)),
                "step": None if by is None or by.escalate is None else by.escalate.step,
                "round": None if by is None or by.escalate is None else by.escalate.round,
                "rounds": first.rounds,
                "called": sum(1 for s in steps if rang(s)),
                "steps": [
                    {
                        "name": mask.value(s.name),
                        "to": mask.value(_plain(s.body.get("to"))),
                        "round": s.escalate.round if s.escalate else 1,
                        "fate": step_fate(s, dry_run),
                    }
                    for s in steps
                ],
            }
        )
    return found


def tail_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The report's fields after ``calls``: the problems, and the URL checks of a
    ``run --check`` (other reports stay as they were)."""
    problems = [
        {
            "file": redactor.text(p.location.file),
            "line": p.location.line,
            "column": p.location.column,
            "path": redactor.text(p.path),
            "message": redactor.text(p.message),
        }
        for p in result.problems
    ]
    tail: dict[str, Any] = {"problems": problems}
    if result.checks:
        from callspec.check.checker import document_of

        tail["checks"] = [redactor.value(document_of(c)) for c in result.checks]
    return tail


class _Calls(Sequence[Mapping[str, Any]]):
    """A run's call documents, each built (and masked) when it is read, never kept."""

    def __init__(self, calls: Sequence[CallResult], redactor: Redactor) -> None:
        self._calls, self._redactor = calls, redactor

    def __len__(self) -> int:
        return len(self._calls)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return _Calls(self._calls[index], self._redactor)
        # Lone surrogates stay: each writer spells them out as it writes (the JSON
        # writer once per call, text outputs through callspec.text.outside).
        return call_document(self._calls[index], self._redactor)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for index in range(len(self._calls)):
            yield self[index]


class RunReport(Mapping[str, Any]):
    """The report document of a run, its calls built as they are read (see the module)."""

    def __init__(self, result: RunResult, redactor: Redactor) -> None:
        head: dict[str, Any] = utf8_safe_value(head_document(result, redactor))
        tail: dict[str, Any] = utf8_safe_value(tail_document(result, redactor))
        self._fields = {**head, "calls": _Calls(result.calls, redactor), **tail}

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def run_report(result: RunResult, redactor: Redactor) -> RunReport:
    """The report document of ``result`` (read lazily, see :class:`RunReport`)."""
    return RunReport(result, redactor)


def report_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The whole report document of a run as plain JSON values (every call built), every
    lone surrogate spelled out."""
    view = run_report(result, redactor)
    doc: dict[str, Any] = utf8_safe_value(
        {k: list(v) if k == "calls" else v for k, v in view.items()}
    )
    return doc


def _no_constant(word: str) -> Any:
    """A report is strict JSON: ``NaN`` and ``Infinity`` are no numbers of it."""
    raise ValueError(f"{word} is not a JSON number")


def _unusable(value: Any, path: str = "$") -> str | None:
    """The first value of a report that no run writes and no reporter can show, as
    ``$.path: what``: a lone surrogate (UTF-8 cannot carry it) or an integer too
    large for a float (a duration of 10**400 ms)."""
    if isinstance(value, str):
        if has_surrogate(value):
            return f"{path}: holds a lone surrogate, which UTF-8 cannot carry"
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return f"{path}: the number is too large"
        return None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if isinstance(key, str) and has_surrogate(key):
            return f"{path}: a key holds a lone surrogate, which UTF-8 cannot carry"
        inner = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        found = _unusable(item, inner)
        if found:
            return found
    return None


def read_report(path: Path, redactor: Redactor | None = None) -> dict[str, Any]:
    """A saved ``report.json`` as a report document, its values masked by ``redactor`` as
    a run masks them (the env's token, URL userinfo): a report edited by hand or
    written by another tool may hold what a run would have masked.

    A file that is not a valid report is a :class:`~callspec.errors.UsageError`
    naming it and the first schema errors.
    """
    from callspec.report.json import validate_report

    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from e
    except (ValueError, RecursionError) as e:  # bad UTF-8, bad JSON, NaN, nested too deep
        raise UsageError(f"{path} is not JSON: {e}") from e
    errors = validate_report(doc)
    if errors:
        shown = "; ".join(errors[:3]) + ("; ..." if len(errors) > 3 else "")
        raise UsageError(f"{path} is not a callspec report: {shown}")
    found = _unusable(doc)
    if found:
        raise UsageError(f"{path} is not a callspec report: {found}")
    masked: dict[str, Any] = (redactor or Redactor()).value(doc)
    if "chains" not in masked:  # written before chains were: made from its calls, alike
        from callspec.report.readback import run_of_report

        masked["chains"] = chains_document(run_of_report(masked), redactor or Redactor())
    return masked
