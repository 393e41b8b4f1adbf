"""Problems of specs in the three formats of ``validate`` and ``check``: text, JSON, GitHub.

Text is a line per problem (``file:line:col: path: message``) and a closing
``callspec: ...`` line; JSON a list of problems (severity, file, line, column,
path, message); GitHub's workflow commands
(``::error file=...,line=...,col=...,title=...::message``, ``::warning`` for
warnings), so problems appear on a pull request's lines, as ruff and
check-jsonschema do.  GitHub's escaping is ``%``, CR and LF in messages, and also
``:`` and ``,`` in properties; ``file=`` is relative to ``$GITHUB_WORKSPACE``
when it is set and the file lies under it.  Every value passes the text rule
(:func:`~callspec.report.base.shown`) first; :func:`write_problems` is the one
way to print a list of problems.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TextIO

from callspec.errors import Location, Problem
from callspec.redact import Redactor
from callspec.report.base import shown

Severity = Literal["error", "warning"]
ProblemFormat = Literal["text", "json", "github"]
Found = tuple[Severity, Problem]


def outside_problem(problem: Problem, redactor: Redactor) -> Problem:
    """``problem`` with its file, path and message through the text rule (masked, one line,
    controls escaped): a file name or a value from outside cannot forge a line."""
    where = problem.location
    return Problem(
        Location(shown(where.file, redactor), where.line, where.column),
        shown(problem.path, redactor),
        shown(problem.message, redactor),
        problem.keys,
    )


def problems_json(items: Iterable[Found]) -> list[dict[str, Any]]:
    """The JSON list: severity, file, line, column, path, message for each problem."""
    return [
        {
            "severity": severity,
            "file": p.location.file,
            "line": p.location.line,
            "column": p.location.column,
            "path": p.path,
            "message": p.message,
        }
        for severity, p in items
    ]


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(
    severity: Literal["error", "warning", "notice"],
    message: str,
    where: Location | None = None,
    title: str = "callspec",
    environ: Mapping[str, str] | None = None,
) -> str:
    """One GitHub workflow command (an annotation), with GitHub's escaping."""
    props = []
    if where is not None and where.file:
        file = where.file
        workspace = (environ or {}).get("GITHUB_WORKSPACE")
        if workspace:
            full = os.path.abspath(file)
            base = os.path.abspath(workspace)
            if os.path.commonpath([full, base]) == base:
                file = os.path.relpath(full, base)
        props.append(f"file={_property(file)}")
        if where.line > 0:
            props.append(f"line={where.line}")
            if where.column > 0:
                props.append(f"col={where.column}")
    props.append(f"title={_property(title)}")
    return f"::{severity} {','.join(props)}::{_data(message)}"


def github_commands(items: Iterable[Found], environ: Mapping[str, str]) -> list[str]:
    """One workflow command per problem."""
    return [
        workflow_command(
            severity,
            problem.message,
            problem.location,
            f"callspec: {problem.path}" if problem.path else "callspec",
            environ,
        )
        for severity, problem in items
    ]


def problems_summary(problems: Sequence[Problem], what: str = "nothing was sent") -> str:
    """``callspec: 2 problems; nothing was sent``."""
    n = len(problems)
    return f"callspec: {n} problem{'s' if n != 1 else ''}; {what}"


def write_problems(
    fmt: ProblemFormat,
    items: Sequence[Found],
    stream: TextIO,
    redactor: Redactor,
    environ: Mapping[str, str],
    document: Mapping[str, Any] | None = None,
    summary: str | None = None,
) -> None:
    """Print ``items`` in ``fmt`` to ``stream``, every value through the text rule.

    text: a line per problem, then ``summary`` (when given); json: the list, or
    ``document`` with the list as its ``problems`` (``check``'s object); github: a
    workflow command per problem.
    """
    safe = [(severity, outside_problem(p, redactor)) for severity, p in items]
    if fmt == "json":
        listed = problems_json(safe)
        value: Any = listed if document is None else {**document, "problems": listed}
        stream.write(redactor.text(json.dumps(value, indent=2, ensure_ascii=False)) + "\n")
        return
    if fmt == "github":
        lines = github_commands(safe, environ)
    else:
        lines = [str(p) for _, p in safe] + ([summary] if summary else [])
    for line in lines:
        stream.write(line + "\n")
