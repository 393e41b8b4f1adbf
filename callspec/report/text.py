"""The terminal summary: one row per call, the totals line, one line per problem, then
one row per URL checked (``run --check``); ``--quiet``: only the problems and the totals line."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter, one_line
from callspec.report.checks import check_rows, check_totals
from callspec.report.utf8 import utf8_safe
from callspec.results import Answer, CallResult, RunResult, answer_text


def _uuid_cell(request_uuid: str | list[str] | None) -> str:
    if not request_uuid:
        return "-"
    if isinstance(request_uuid, str):
        return request_uuid
    more = len(request_uuid) - 1
    return request_uuid[0] + (f" (+{more} more)" if more else "")


HEADER = ("call", "outcome", "status", "request_uuid", "time (ms)")
# With --wait (or an escalation) the table gains a column: who answered.
FOLLOWED_HEADER = ("call", "outcome", "status", "request_uuid", "answered", "time (ms)")


def followed(result: RunResult) -> bool:
    """True when the run followed its calls to their end (``--wait``, ``escalate:``)."""
    return any(c.answers is not None for c in result.calls)


def _answer_word(answer: Answer) -> str:
    if answer.answered is None:
        return "?"
    if not answer.answered:
        return "no"
    return f"yes ({answer.answered_by})" if answer.answered_by else "yes"


def answered_cell(call: CallResult) -> str:
    """``yes``, ``yes (human)``, ``yes (machine)``, ``no``, ``?`` (unreadable), ``-`` (not
    followed); a bulk call ``2/3 yes`` when its destinations differ."""
    if not call.answers:
        return "-"
    words = [_answer_word(a) for a in call.answers]
    if len(set(words)) == 1:
        return words[0]
    yes = sum(1 for a in call.answers if a.answered)
    return f"{yes}/{len(words)} yes"


def rows(
    calls: Iterable[CallResult], redactor: Redactor, with_answered: bool = False
) -> list[tuple[str, ...]]:
    return [
        tuple(
            utf8_safe(one_line(redactor.text(cell)))  # as printed: widths line up
            for cell in (
                f"{c.spec_file}:{c.name}",
                c.outcome,
                str(c.status) if c.status is not None else "-",
                _uuid_cell(c.request_uuid),
                *((answered_cell(c),) if with_answered else ()),
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


def problem_lines(calls: Iterable[CallResult], redactor: Redactor) -> list[str]:
    lines = []
    for c in calls:
        for a in c.answers or ():
            if not a.answered:
                to = f" {a.to}" if a.to and len(c.answers or ()) > 1 else ""
                line = f"{c.spec_file}:{c.name}:{to} {answer_text(a)}"
                lines.append(one_line(redactor.text(line)))
        if c.outcome not in ("failed", "unknown", "invalid"):
            continue
        text = c.error or c.reason or c.message or "no error text"
        if c.outcome == "unknown" and "may have been placed" not in text:
            # A result built by a library caller may not say it; callspec's own always do.
            text += " (may have been placed; not resent)"
        lines.append(one_line(redactor.text(f"{c.spec_file}:{c.name}: {c.outcome}: {text}")))
    return lines


def chain_lines(result: RunResult) -> list[str]:
    """One line per escalation chain: its steps in order (a dry run), or how it ended."""
    steps: dict[str, list[CallResult]] = {}
    for call in result.calls:
        if call.escalate is not None:
            steps.setdefault(call.escalate.chain, []).append(call)
    lines = []
    for chain, ended_by in result.chains().items():
        calls = steps[chain]
        first = calls[0].escalate
        assert first is not None
        how = f"until {first.until}, {first.answer_within:g} s each"
        if result.mode == "dry-run":
            order = " -> ".join(f"'{c.name}' ({c.body.get('to')})" for c in calls)
            lines.append(f"escalation {chain}: {order}, one at a time ({how})")
            continue
        called = sum(1 for c in calls if c.answers is not None)
        if ended_by is not None and ended_by.escalate is not None:
            answer = next(a for a in ended_by.answers or () if a.answered)
            by = f" ({answer.answered_by})" if answer.answered_by else ""
            when = f" at {answer.answer_time}" if answer.answer_time else ""
            left = len(calls) - ended_by.escalate.step
            lines.append(
                f"escalation {chain}: answered by '{ended_by.name}'{by}{when}, row "
                f"{ended_by.escalate.step} of {len(calls)}; {left} not called"
            )
        else:
            lines.append(
                f"escalation {chain}: reached its end unanswered ({called} of {len(calls)} "
                f"called, {how})"
            )
    return lines


def write_quiet(result: RunResult, redactor: Redactor, stream: TextIO) -> None:
    """``--quiet``: how each escalation ended and what went wrong, one line per call, then the
    totals line."""
    for line in chain_lines(result):
        stream.write(one_line(redactor.text(line)) + "\n")
    for line in problem_lines(result.calls, redactor):
        stream.write(line + "\n")
    stream.write(totals_line(result) + "\n")


class TextReporter(Reporter):
    """The terminal summary: a table of calls, the totals, then what went wrong."""

    def write(self, result: RunResult, redactor: Redactor, stream: TextIO) -> None:
        header = FOLLOWED_HEADER if followed(result) else HEADER
        table = [header, *rows(result.calls, redactor, followed(result))]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)]
            stream.write("  ".join([*cells, row[-1].rjust(widths[-1])]) + "\n")
        stream.write(totals_line(result) + "\n")
        for line in chain_lines(result):
            stream.write(one_line(redactor.text(line)) + "\n")
        for line in problem_lines(result.calls, redactor):
            stream.write(line + "\n")
        if result.checks:
            for line in [*check_rows(result.checks, redactor), check_totals(result.checks)]:
                stream.write(line + "\n")
