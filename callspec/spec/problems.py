"""Collecting a plan's problems in bounded memory: the first of each file, and a count.

A spec whose roster has 200,000 bad rows must not print 200,000 lines (nor hold
them): :class:`Found` keeps the first :data:`SHOWN_PER_FILE` distinct problems
located in each file and only counts the rest, which it reports as one more
problem of that file.  The same problem found again (a literal value of a call
expanded from every roster row) is kept once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from callspec.errors import Location, Problem, location_key

if TYPE_CHECKING:
    from collections.abc import Iterator

#: How many problems of one file are shown; the rest are counted.
SHOWN_PER_FILE = 100


class Found:
    """The problems of a plan (or of one roster file), at most ``cap`` kept per file."""

    def __init__(self, cap: int = SHOWN_PER_FILE) -> None:
        self.cap = cap
        self._kept: dict[Problem, None] = {}  # in the order found; a dict: each one once
        self._per_file: dict[str, int] = {}
        self._more: dict[str, int] = {}  # file -> problems found past the cap

    def add(self, problem: Problem) -> None:
        """Keep ``problem`` (once), or count it when its file has ``cap`` already."""
        if problem in self._kept:
            return
        file = problem.location.file
        kept = self._per_file.get(file, 0)
        if kept >= self.cap:
            self._more[file] = self._more.get(file, 0) + 1
            return
        self._per_file[file] = kept + 1
        self._kept[problem] = None

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def merge(self, other: Found, change: Callable[[Problem], Problem] | None = None) -> None:
        """Add ``other``'s problems (each through ``change``) and its counts."""
        for problem in other:
            self.add(change(problem) if change is not None else problem)
        for file, n in other._more.items():
            self._more[file] = self._more.get(file, 0) + n

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._kept)

    def __bool__(self) -> bool:
        return bool(self._kept)

    def total(self) -> int:
        """Every problem found, shown or counted."""
        return len(self._kept) + sum(self._more.values())

    def shown(self) -> list[Problem]:
        """The kept problems in file order, each file's count of the rest after them."""
        problems = sorted(self._kept, key=location_key)
        for file, n in sorted(self._more.items()):
            at = max(i for i, p in enumerate(problems) if p.location.file == file) + 1
            message = (
                f"{n:,} more problem{'s' if n != 1 else ''} in this file, not shown "
                f"(the first {self.cap} are)"
            )
            problems.insert(at, Problem(Location(file), "", message))
        return problems
