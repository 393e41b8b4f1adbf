"""The terminal summary: one row per call, the totals line, one line per problem, then
one row per URL checked (``run --check``); ``--quiet``: only the problems and the totals line.

Rendered from the report document in one pass over its calls (a large run's calls are
built one at a time, see :mod:`callspec.report.document`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter, shown
from callspec.report.checks import check_rows, check_totals
from callspec.report.verdicts import asks_ack, call_words, chain_words
from callspec.results import Answer, answer_text

Doc = Mapping[str, Any]

HEADER = ("call", "outcome", "status", "request_uuid", "time (ms)")
# With --wait (or an escalation) the table gains a column: who answered.
FOLLOWED_HEADER = ("call", "outcome", "status", "request_uuid", "answered", "time (ms)")


def _uuid_cell(request_uuid: str | list[str] | None) -> str:
    if not request_uuid:
        return "-"
    if isinstance(request_uuid, str):
        return request_uuid
    more = len(request_uuid) - 1
    return request_uuid[0] + (f" (+{more} more)" if more else "")


def followed(calls: Iterable[Doc]) -> bool:
    """True when the run followed its calls to their end (``--wait``, ``escalate:``)."""
    return any(c.get("answers") is not None for c in calls)


def answer_of(doc: Doc) -> Answer:
    """An answer's document as the :class:`~callspec.results.Answer` it was made from, so
    that one :func:`~callspec.results.answer_text` words it everywhere."""
    from callspec.delivery.entries import answers_of  # the journal's reader of the same shape

    (answer,) = answers_of([dict(doc)])
    return answer


def _answer_word(answer: Doc) -> str:
    if answer["answered"] is None:
        return "?"
    if not answer["answered"]:
        return "no"
    return f"yes ({answer['answered_by']})" if answer["answered_by"] else "yes"


def answered_cell(call: Doc) -> str:
    """``yes``, ``yes (human)``, ``yes (machine)``, ``no``, ``?`` (unreadable), ``-`` (not
    followed); a bulk call ``2/3 yes`` when its destinations differ."""
    answers = call.get("answers")
    if not answers:
        return "-"
    words = [_answer_word(a) for a in answers]
    if len(set(words)) == 1:
        return words[0]
    yes = sum(1 for a in answers if a["answered"])
    return f"{yes}/{len(words)} yes"


def row(call: Doc, redactor: Redactor, with_answered: bool = False) -> tuple[str, ...]:
    """A call's cells, as printed (so that widths line up)."""
    status = call["status"]
    cells = (
        f"{call['spec_file']}:{call['name']}",
        call["outcome"],
        str(status) if status is not None else "-",
        _uuid_cell(call["request_uuid"]),
        *((answered_cell(call),) if with_answered else ()),
        f"{call['duration_ms']:.0f}",
    )
    return tuple(shown(cell, redactor) for cell in cells)


def _run_seconds(report: Doc) -> float:
    """Wall time of the run from its timestamps; the calls' own time if those do not parse."""
    try:
        start, end = (
            datetime.fromisoformat(str(t).replace("Z", "+00:00"))
            for t in (report["started"], report["finished"])
        )
        return max((end - start).total_seconds(), 0.0)
    except (ValueError, TypeError):
        return float(sum(c["duration_ms"] for c in report["calls"])) / 1000


_STOPPED = {
    "interrupt": "interrupted",
    "journal": "stopped: journal write failed",
    "bail": "stopped: circuit breaker",
}


def totals_line(report: Doc) -> str:
    """``5 calls: 4 fired, 0 queued, 1 failed, 0 unknown, 0 skipped (mode sandbox, 0.42 s)``."""
    s = report["summary"]
    counts = ", ".join(f"{s[o]} {o}" for o in ("fired", "queued", "failed", "unknown", "skipped"))
    if s["invalid"]:
        counts += f", {s['invalid']} invalid"
    noun = "call" if s["total"] == 1 else "calls"
    extra = ""
    stopped = report["stopped"]
    if report["interrupted"]:
        extra = ", interrupted"
    elif stopped is not None:
        extra = f", {_STOPPED[stopped['kind']]}"
    seconds = _run_seconds(report)
    return f"{s['total']} {noun}: {counts} (mode {report['mode']}, {seconds:.2f} s{extra})"


def problem_lines(call: Doc, redactor: Redactor) -> list[str]:
    """What went wrong with one call: a line per destination nobody answered, and one for a
    failed, unknown or invalid outcome."""
    lines = []
    answers = call.get("answers") or ()
    for a in answers:
        if not a["answered"]:
            to = f" {a['to']}" if a["to"] and len(answers) > 1 else ""
            text = answer_text(answer_of(a))
            lines.append(shown(f"{call['spec_file']}:{call['name']}:{to} {text}", redactor))
    if call["outcome"] in ("failed", "unknown", "invalid"):
        text = call["error"] or call["reason"] or call["message"] or "no error text"
        if call["outcome"] == "unknown" and "may have been placed" not in text:
            # A result built by a library caller may not say it; callspec's own always do.
            text += " (may have been placed; not resent)"
        line = f"{call['spec_file']}:{call['name']}: {call['outcome']}: {text}"
        lines.append(shown(line, redactor))
    return lines


class Chains:
    """The escalation chains of a run (the report's ``chains``): how each ended, in words."""

    def __init__(self, report: Doc) -> None:
        self.ends = {chain["chain"]: chain for chain in report.get("chains") or ()}
        self.mode = report["mode"]
        #: Pages of their own (``ack:`` without a chain), as their calls are read.
        self.pages: list[Doc] = []

    def add(self, call: Doc) -> None:
        """Note ``call`` when it is a page of its own that asked to be acknowledged."""
        if self.mode != "dry-run" and asks_ack(call):
            self.pages.append(call)

    def reached(self, chain: str | None) -> bool:
        """True when ``chain`` ended as it asked (acknowledged, or answered for a chain that
        asked no acknowledgement)."""
        end = self.ends.get(chain or "")
        if end is None:
            return False
        verdict, until = end["verdict"], end["until"]
        return bool(
            verdict == "acknowledged" or (verdict == "answered" and until != "acknowledged")
        )

    def lines(self, redactor: Redactor) -> list[str]:
        """One line per chain: ``escalation specs/page.yaml:3: acknowledged by ...``; then
        one per page of its own: ``page specs/page.yaml: acknowledged by 'page' at ...``."""
        lines = [f"escalation {chain}: {chain_words(end)}" for chain, end in self.ends.items()]
        lines += [f"page {call['spec_file']}: {call_words(call)}" for call in self.pages]
        return [shown(line, redactor) for line in lines]


def write_quiet(report: Doc, redactor: Redactor, stream: TextIO) -> None:
    """``--quiet``: how each escalation ended and what went wrong, one line per call, then the
    totals line."""
    chains, problems = Chains(report), []
    for call in report["calls"]:
        chains.add(call)
        problems += problem_lines(call, redactor)
    for line in [*chains.lines(redactor), *problems, totals_line(report)]:
        stream.write(line + "\n")


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Rows aligned under ``header``; the last column (a number) to the right."""
    lines = [header, *rows]
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    return [
        "  ".join(
            [*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)), r[-1].rjust(widths[-1])]
        )
        for r in lines
    ]


class TextReporter(Reporter):
    """The terminal summary: a table of calls, the totals, then what went wrong."""

    def render(self, report: Doc, redactor: Redactor, stream: TextIO) -> None:
        chains, rows, problems, waited = Chains(report), [], [], False
        for call in report["calls"]:  # one pass: a large run's calls are built one at a time
            chains.add(call)
            rows.append(row(call, redactor, with_answered=True))
            waited = waited or call.get("answers") is not None
            problems += problem_lines(call, redactor)
        if not waited:  # no call was followed: no "answered" column
            rows = [r[:4] + r[5:] for r in rows]
        lines = table(rows, FOLLOWED_HEADER if waited else HEADER)
        lines += [totals_line(report), *chains.lines(redactor), *problems]
        checks = report.get("checks")
        if checks:
            lines += [*check_rows(checks, redactor), check_totals(checks)]
        for line in lines:
            stream.write(line + "\n")
