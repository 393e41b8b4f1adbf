"""Problems for machines: the JSON list and GitHub's workflow commands (annotations).

``--format github`` prints ``::error file=...,line=...,col=...,title=...::message``
(``::warning`` for warnings) on stdout, so problems appear on a pull request's
lines, as ruff and check-jsonschema do.  Escaping is GitHub's: ``%``, CR and LF in
messages, and also ``:`` and ``,`` in properties.  ``file=`` is relative to
``$GITHUB_WORKSPACE`` when it is set and the file lies under it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Literal

from callspec.errors import Problem

Severity = Literal["error", "warning"]


def problems_json(items: Iterable[tuple[Severity, Problem]]) -> str:
    """A JSON list: severity, file, line, column, path, message for each problem."""
    return json.dumps(
        [
            {
                "severity": severity,
                "file": p.location.file,
                "line": p.location.line,
                "column": p.location.column,
                "path": p.path,
                "message": p.message,
            }
            for severity, p in items
        ],
        indent=2,
        ensure_ascii=False,
    )


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github_commands(
    items: Iterable[tuple[Severity, Problem]], environ: Mapping[str, str]
) -> list[str]:
    """One workflow command per problem."""
    workspace = environ.get("GITHUB_WORKSPACE")
    lines = []
    for severity, problem in items:
        where = problem.location
        file = where.file
        if workspace and file:  # no file (a usage error): no file= property, not '.'
            full = os.path.abspath(file)
            base = os.path.abspath(workspace)
            if os.path.commonpath([full, base]) == base:
                file = os.path.relpath(full, base)
        props = [f"file={_property(file)}"] if file else []
        if file and where.line > 0:
            props.append(f"line={where.line}")
            if where.column > 0:
                props.append(f"col={where.column}")
        title = f"callspec: {problem.path}" if problem.path else "callspec"
        props.append(f"title={_property(title)}")
        lines.append(f"::{severity} {','.join(props)}::{_data(problem.message)}")
    return lines
