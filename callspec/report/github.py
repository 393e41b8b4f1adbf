"""The GitHub step summary: Markdown appended to ``$GITHUB_STEP_SUMMARY``.

Failures first (failed, unknown, invalid, skipped), the rest counted, and a
hard cap of :data:`SUMMARY_MAX_BYTES` (GitHub refuses a summary over 1 MiB),
every value escaped so it cannot break the table or inject HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter, shown
from callspec.report.checks import check_cells, check_totals
from callspec.report.markdown import Page, markdown_text
from callspec.report.text import (
    FOLLOWED_HEADER,
    HEADER,
    Chains,
    problem_lines,
    row,
    totals_line,
)

if TYPE_CHECKING:
    from callspec.results import RunResult

Doc = Mapping[str, Any]

SUMMARY_MAX_BYTES = 512 * 1024  # GitHub refuses a step summary over 1 MiB: stay well below


# What went wrong first, then what was skipped; fired and queued calls fill the room left.
_PRIORITY = {"failed": 0, "unknown": 1, "invalid": 2, "skipped": 3}


def _priority(outcome: str) -> int:
    return _PRIORITY.get(outcome, len(_PRIORITY))


def _more_calls(outcomes: list[str]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    if len(counts) == 1:
        ((outcome, n),) = counts.items()
        return f"\N{HORIZONTAL ELLIPSIS} and {n:,} more {outcome} call{'s' if n != 1 else ''}"
    each = ", ".join(f"{n:,} {outcome}" for outcome, n in counts.items())
    return f"\N{HORIZONTAL ELLIPSIS} and {len(outcomes):,} more calls ({each})"


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(markdown_text(c) for c in cells) + " |"


class MarkdownReporter(Reporter):
    """The summary as GitHub-flavoured Markdown for a job's step summary, at most
    ``max_bytes``: the totals, the problems of invalid specs, what went wrong, then
    the calls (failed, unknown, skipped first); what does not fit is counted."""

    def __init__(self, max_bytes: int = SUMMARY_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def render(self, report: Doc, redactor: Redactor, stream: TextIO) -> None:
        ellipsis = "\N{HORIZONTAL ELLIPSIS}"
        # One pass over the calls (a large run's are built one at a time): each call's row
        # and problem lines, by priority; the page takes them in that order.
        chains, waited = Chains(report), False
        by_priority: list[list[tuple[str, tuple[str, ...], list[str]]]] = [
            [] for _ in range(len(_PRIORITY) + 1)
        ]
        for call in report["calls"]:
            chains.add(call)
            waited = waited or call.get("answers") is not None
            priority = _priority(call["outcome"])
            wrong = problem_lines(call, redactor)
            if priority >= _PRIORITY["skipped"] and not call.get("answers"):
                wrong = []  # fired, queued or skipped: no problem line unless followed
            by_priority[priority].append((call["outcome"], row(call, redactor, True), wrong))
        calls = [c for group in by_priority for c in group]  # stable: plan order within one
        page = Page(self.max_bytes)
        # A run's id is hex; a hand-edited report's is escaped: it cannot leave the span inert.
        page.add(f"### callspec run `{markdown_text(shown(report['run_id'], redactor))}`")
        chain_lines = chains.lines(redactor)
        if chain_lines:  # what happened first: who acknowledged, who answered
            page.add("")
            page.add_all(
                [f"- {markdown_text(line)}" for line in chain_lines],
                lambda n: f"{ellipsis} and {n:,} more escalations",
            )
        page.add("")
        page.add(totals_line(report))
        if report["problems"]:
            page.add("")
            page.add("| where | path | problem |")
            page.add("|---|---|---|")
            problems = [
                _row(shown(t, redactor) for t in (_where(p), p["path"] or "-", p["message"]))
                for p in report["problems"]
            ]
            page.add_all(problems, lambda n: f"{ellipsis} and {n:,} more problems")
        checks = sorted(report.get("checks") or (), key=lambda c: c["ok"])  # failed first
        if checks:
            page.add("")
            page.add(check_totals(checks))
            page.add("")
            page.add("| check | argument | method | URL | status | verdict |")
            page.add("|---|---|---|---|---:|---|")
            found = [_row(shown(t, redactor) for t in check_cells(c)) for c in checks]
            page.add_all(found, lambda n: f"{ellipsis} and {n:,} more URLs (in the JSON report)")
        wrong = [line for _, _, lines in calls for line in lines]
        if wrong:
            page.add("")
            page.add_all(
                [f"- {markdown_text(line)}" for line in wrong],
                lambda n: f"{ellipsis} and {n:,} more (all in the JSON report)",
            )
        if calls:
            page.add("")
            page.add("| " + " | ".join(FOLLOWED_HEADER if waited else HEADER) + " |")
            page.add("|---|---|---:|---|---|---:|" if waited else "|---|---|---:|---|---:|")
            rows = [cells if waited else cells[:4] + cells[5:] for _, cells, _ in calls]
            outcomes = [outcome for outcome, _, _ in calls]
            page.add_all([_row(cells) for cells in rows], lambda n: _more_calls(outcomes[-n:]))
        stream.write(page.text())


def _where(problem: Doc) -> str:
    if problem["line"] <= 0:
        return str(problem["file"])
    return f"{problem['file']}:{problem['line']}:{problem['column']}"


def append_github_summary(
    source: RunResult | Doc, redactor: Redactor, environ: Mapping[str, str]
) -> bool:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``; False (no-op) when it is unset."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8", errors="backslashreplace") as f:
        MarkdownReporter().write(source, redactor, f)
        f.write("\n")
    return True
