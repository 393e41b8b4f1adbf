"""The result of a command that finds problems, and the one way to print it.

``validate``, ``check`` and ``render`` each end in a :class:`Findings`: the
problems found (nothing was sent), warnings, a usage error, and what to print
when all is well.  :meth:`Findings.exit_code` is derived from it, and
:func:`write_findings` prints it in the format asked for (text, a JSON document,
GitHub's annotations) to the streams it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from callspec.errors import ExitCode, Location, Problem
from callspec.redact import Redactor
from callspec.report.base import shown
from callspec.report.problems import Found, ProblemFormat, problems_summary, write_problems


@dataclass(frozen=True)
class Findings:
    """What a command found: problems (exit 3), a usage error (exit 2), or what it prints."""

    #: What is wrong with the input; nothing was sent.
    problems: tuple[Problem, ...] = ()
    #: What is worth a look but fails nothing (the machine formats list them).
    warnings: tuple[Problem, ...] = ()
    #: A usage error found after the options were parsed (no such file, no call matches).
    usage: str | None = None
    #: The text format's lines on standard output (``OK: ...``, a table, the requests).
    lines: tuple[str, ...] = ()
    #: The JSON format's document, around its ``problems`` list (None: the list alone).
    document: Mapping[str, Any] | None = None
    #: The text format's closing line on standard error when problems were found.
    summary: str | None = None
    #: Values declared secret by the specs: every output masks them too.
    secrets: tuple[str, ...] = ()

    def exit_code(self) -> ExitCode:
        """2 for a usage error, 3 when a problem was found, else 0."""
        if self.usage is not None:
            return ExitCode.USAGE
        return ExitCode.INVALID if self.problems else ExitCode.OK

    def found(self) -> list[Found]:
        """Every problem and warning with its severity (a usage error as a problem of no file)."""
        if self.usage is not None:
            return [("error", Problem(Location(""), "", self.usage))]
        return [*(("error", p) for p in self.problems), *(("warning", p) for p in self.warnings)]


def invalid(problems: Sequence[Problem]) -> Findings:
    """The findings of specs that did not validate: the problems, and that nothing was sent."""
    return Findings(problems=tuple(problems), summary=problems_summary(problems))


def write_findings(
    findings: Findings,
    fmt: ProblemFormat,
    out: TextIO,
    err: TextIO,
    redactor: Redactor,
    environ: Mapping[str, str],
) -> None:
    """Print ``findings`` in ``fmt``: text (the lines on ``out``; problems, a usage error and
    the summary on ``err``), or every problem and warning as JSON or annotations on ``out``.
    Warnings of the text format were printed while the plan was built."""
    redactor.add(findings.secrets)
    if fmt != "text":
        write_problems(fmt, findings.found(), out, redactor, environ, findings.document)
        return
    for line in findings.lines:
        out.write(line + "\n")
    if findings.usage is not None:
        err.write(f"callspec: {shown(findings.usage, redactor)}\n")
    errors: list[Found] = [("error", p) for p in findings.problems]
    write_problems("text", errors, err, redactor, environ, summary=findings.summary)
