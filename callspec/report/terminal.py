"""What a run prints at its end, on the terminal: the summary, or why nothing was sent.

Invalid specs: each problem and ``callspec: N problems; nothing was sent`` on
standard error.  A failed ``--check``: the table of URLs (not with ``--quiet``) on
standard output, each failure located in a spec and the totals on standard error.
Otherwise the text report (:class:`~callspec.report.text.TextReporter`), or with
``--quiet`` only what went wrong and the totals line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from callspec.redact import Redactor
from callspec.report.checks import check_rows, check_totals
from callspec.report.problems import Found, problems_summary, write_problems
from callspec.report.registry import write_stream
from callspec.report.text import write_quiet
from callspec.results import RunResult


def write_terminal(
    report: Mapping[str, Any],
    result: RunResult,
    redactor: Redactor,
    out: TextIO,
    err: TextIO,
    quiet: bool = False,
) -> None:
    """The end of a run on the terminal (see the module); ``report`` is ``result``'s document."""
    if result.problems:
        found: list[Found] = [("error", p) for p in result.problems]
        summary = problems_summary(result.problems)
        write_problems("text", found, err, redactor, {}, summary=summary)
    elif result.check_failed:
        from callspec.check.checker import check_problems

        for line in () if quiet else check_rows(report["checks"], redactor):
            out.write(line + "\n")
        failed: list[Found] = [("error", p) for p in check_problems(result.checks)]
        summary = f"callspec: {check_totals(report['checks'])}; nothing was sent"
        write_problems("text", failed, err, redactor, {}, summary=summary)
    elif quiet:
        write_quiet(report, redactor, out)
    else:
        write_stream("text", report, redactor, out)
