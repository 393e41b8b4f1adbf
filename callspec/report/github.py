"""The GitHub step summary: Markdown appended to ``$GITHUB_STEP_SUMMARY``.

Failures first (failed, unknown, invalid, skipped), the rest counted, and a
hard cap of :data:`SUMMARY_MAX_BYTES` (GitHub refuses a summary over 1 MiB),
every value escaped so it cannot break the table or inject HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO

from callspec.redact import Redactor
from callspec.report.base import Reporter
from callspec.report.checks import check_totals
from callspec.report.markdown import Page, markdown_text
from callspec.report.text import (
    FOLLOWED_HEADER,
    HEADER,
    chain_lines,
    followed,
    problem_lines,
    rows,
    totals_line,
)
from callspec.results import CallResult, RunResult

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
        chains = chain_lines(result)
        if chains:
            page.add("")
            page.add_all(
                [f"- {markdown_text(redactor.text(line))}" for line in chains],
                lambda n: f"\N{HORIZONTAL ELLIPSIS} and {n:,} more escalations",
            )
        if result.problems:
            page.add("")
            page.add("| where | path | problem |")
            page.add("|---|---|---|")
            problems = [
                row(redactor.text(t) for t in (str(p.location), p.path or "-", p.message))
                for p in result.problems
            ]
            page.add_all(problems, lambda n: f"{ellipsis} and {n:,} more problems")
        if result.checks:  # run --check: failed URLs first
            checks = sorted(result.checks, key=lambda c: c.ok)
            page.add("")
            page.add(check_totals(checks))
            page.add("")
            page.add("| check | argument | method | URL | status | verdict |")
            page.add("|---|---|---|---|---:|---|")
            found = [
                row(
                    redactor.text(t)
                    for t in (
                        "ok" if c.ok else "FAIL",
                        c.kind,
                        c.method,
                        c.url,
                        str(c.status) if c.status is not None else "-",
                        "; ".join([c.verdict(), *(str(p) for p in c.problems[:3])]),
                    )
                )
                for c in checks
            ]
            page.add_all(found, lambda n: f"{ellipsis} and {n:,} more URLs (in the JSON report)")
        calls = sorted(result.calls, key=_priority)  # stable: plan order within an outcome
        wrong = problem_lines(
            (c for c in calls if _priority(c) < _PRIORITY["skipped"] or c.answers), redactor
        )
        if wrong:
            page.add("")
            page.add_all(
                [f"- {markdown_text(line)}" for line in wrong],
                lambda n: f"{ellipsis} and {n:,} more (all in the JSON report)",
            )
        if calls:
            page.add("")
            waited = followed(result)
            page.add("| " + " | ".join(FOLLOWED_HEADER if waited else HEADER) + " |")
            page.add("|---|---|---:|---|---|---:|" if waited else "|---|---|---:|---|---:|")
            lines = [row(cells) for cells in rows(calls, redactor, waited)]
            page.add_all(lines, lambda n: _more_calls(calls[-n:]))
        stream.write(page.text())


def append_github_summary(
    result: RunResult, redactor: Redactor, environ: Mapping[str, str]
) -> bool:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``; False (no-op) when it is unset."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8", errors="backslashreplace") as f:
        MarkdownReporter().write(result, redactor, f)
        f.write("\n")
    return True
