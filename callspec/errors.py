"""Errors and exit codes: the one place where failure is named.

Every problem a user reads carries a :class:`Location` (file, line, column of
the value as it was written) and, where it concerns a call argument, the path
in the call.  Problems are collected, not raised one by one, so that a run
reports every broken file in one pass; :class:`SpecError` carries them out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class ExitCode(enum.IntEnum):
    """Process exit codes; a contract that CI scripts rely on (DESIGN.md)."""

    OK = 0
    CALL_FAILED = 1
    USAGE = 2
    INVALID = 3
    REFUSED = 4
    INTERRUPTED = 130


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """Where a value was written: 1-based line and column; 0 means unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


def line_col(text: str | bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text`` (characters of a str, bytes of
    a bytes): the one way a position in a file's text becomes a :class:`Location`'s."""
    if isinstance(text, bytes):
        start = text.rfind(b"\n", 0, offset) + 1
        return text.count(b"\n", 0, offset) + 1, offset - start + 1
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, with where it was written."""

    location: Location
    path: str
    message: str
    #: The same path as keys (``("calls", 0, "to")``), for code; ``path`` is for people.
    keys: tuple[str | int, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        if self.path:
            return f"{self.location}: {self.path}: {self.message}"
        return f"{self.location}: {self.message}"


class CallspecError(Exception):
    """Base of every error callspec raises on purpose."""

    exit_code: ExitCode = ExitCode.CALL_FAILED


class SpecError(CallspecError):
    """Specs, profiles or variables are invalid; nothing was sent."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class GuardError(CallspecError):
    """A run was refused before sending (max_calls, missing credentials)."""

    exit_code = ExitCode.REFUSED


class UsageError(CallspecError):
    """Options that do not fit together, found after click parsed them."""

    exit_code = ExitCode.USAGE


def location_key(problem: Problem) -> tuple[str, int, int, str, str]:
    """Sort key: problems print in file order (the same place: in the order of their words)."""
    loc = problem.location
    return (loc.file, loc.line, loc.column, problem.path, problem.message)
