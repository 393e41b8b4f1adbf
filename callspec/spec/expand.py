"""Expanding a call with ``each:`` into one call per row of a roster.

This module owns the expansion step between resolving a spec and rendering its
calls: finding a call's roster (a data file, which must stay inside the spec's git
work tree, else the spec's folder; an inline list; or who a rotation has on
call), reading it once per run (rosters.py; a calendar URL through the network
layer when the run fetches: :class:`Feeds`), picking rows with ``each_where:``
and rendering each row's call name.  A template wrong whatever the row is the
spec's problem, said once at the spec's line; a row's own problem is said at the
row's line.
"""

from __future__ import annotations

__all__ = ["Expander", "Feeds", "Refused", "row_label"]

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callspec.errors import Location, Problem, SpecError
from callspec.spec.budget import FileClock
from callspec.spec.files import display_path
from callspec.spec.loader import Document, resolved
from callspec.spec.problems import Found
from callspec.spec.templates import RenderError, render_text
from callspec.text import CONTROL

if TYPE_CHECKING:
    from callspec.oncall.rows import Schedules
    from callspec.spec.rosters import Row

DATA_SUFFIXES = (".csv", ".json", ".yaml", ".yml")
CALENDAR_SUFFIXES = (".ics",)


def _hint(condition: object) -> str:
    """What to say when ``each_where:`` was written as a template, the natural slip."""
    text = str(condition)
    if "{{" in text or "{%" in text:
        return (
            "; each_where is an expression, not a template: write it without "
            "{{ }} (each_where: \"row.team == 'payments'\")"
        )
    return ""


def row_label(row: Row, name: str, spec_file: str) -> str:
    """What follows a path in a message: ``(call 'page-carol', row 3 in specs/roster.yaml)``."""
    return f"(call '{name}', row {row.number} in {spec_file})"


@dataclass(frozen=True)
class Feeds:
    """How a run reads ``each: {ical: URL}``: fetched (through :mod:`callspec.net`, with
    ``environ``'s proxy and CA settings, within ``timeout`` seconds), or not fetched at
    all, said as a warning in ``warnings`` (commands that request nothing a spec names)."""

    fetch: bool
    environ: Mapping[str, str]
    timeout: float
    #: Masks secrets in what a server says (the plan's mask).
    mask: Callable[[str], str]
    warnings: Found


#: Why a calendar URL was not fetched, and how to have it fetched.
NOT_FETCHED = (
    "the calendar URL is not fetched, so this call is not expanded or checked: only a run "
    "that sends (run, run --sandbox) fetches calendars; validate, render, explain, check "
    "and run --dry-run request nothing a spec names unless given --fetch-calendars"
)


@dataclass(frozen=True)
class Refused:
    """A row's call name that cannot be rendered; ``every_row``: it fails alike for every
    row (the spec's problem, reported once at the spec's line)."""

    problem: Problem
    every_row: bool


class Expander:
    """Reads rosters for the calls of a run; each data file is read once per run."""

    def __init__(
        self, env: Mapping[str, str], clock: FileClock | None = None, feeds: Feeds | None = None
    ) -> None:
        self.env = env
        self.clock = clock
        self.feeds = feeds
        self._files: dict[Path, tuple[list[Row], Found]] = {}
        #: The rotations the current spec sees (``each:`` mappings); the plan sets it.
        self.schedules: Schedules | None = None

    def rows(
        self, doc: Document, spec_path: Path, index: int, call: Mapping[str, Any]
    ) -> tuple[list[Row], Found]:
        """The rows of ``calls[index]`` that ``each_where:`` keeps, and the problems found."""
        from callspec.spec.rosters import file_rows, inline_rows  # only for a call with each:

        base = ("calls", index, "each")
        each = call["each"]
        found = Found()
        if isinstance(each, list):
            rows, problems = inline_rows(doc, base, each)
            found.extend(problems)
        elif isinstance(each, dict):
            rows, problems = self._scheduled(doc, spec_path, index, call)
            found.extend(problems)
        else:
            where = doc.where(base)
            data = _data_path(spec_path, str(each), where, f"calls[{index}].each")
            if isinstance(data, Problem):
                found.add(data)
                return [], found
            key = resolved(data)
            if key not in self._files:
                self._files[key] = file_rows(data, display_path(data))
            rows, read = self._files[key]
            found.merge(read, lambda p: _with_path(p, f"calls[{index}].each"))
        condition = call.get("each_where")
        if not rows or condition is None:
            return rows, found
        kept: list[Row] = []
        template = "{% if " + str(condition) + " %}1{% endif %}"
        for row in rows:
            try:
                if render_text(template, self.scope(row), self.clock):
                    kept.append(row)
            except RenderError as e:
                path = f"calls[{index}].each_where"
                if e.for_every_row(row.columns):  # the spec's problem: said once
                    where = doc.where(("calls", index, "each_where"))
                    found.add(Problem(where, path, str(e) + _hint(condition)))
                    return [], found
                name = self.name(doc, index, call, row)
                shown = name if isinstance(name, str) else str(call["name"])
                label = row_label(row, shown, doc.file)
                found.add(Problem(row.location, f"{path} {label}", str(e)))
        return kept, found

    # -- each: {rotation: ...} / {ical: ...}: who is on call, from callspec.oncall ------

    def _scheduled(
        self, doc: Document, spec_path: Path, index: int, call: Mapping[str, Any]
    ) -> tuple[list[Row], list[Problem]]:
        """The rows of an ``each:`` mapping: the people a schedule has on call."""
        schedules = self.schedules
        if schedules is None:  # a library caller that gave no rotations
            where = doc.where(("calls", index, "each"))
            return [], [Problem(where, f"calls[{index}].each", "no rotations are known here")]

        def read(written: str, where: Location, path: str) -> tuple[str, str] | Problem | None:
            from callspec.spec.rosters import read_text

            if written.lower().startswith(("http://", "https://")):
                return self._feed(written, where, path)
            found = _data_path(spec_path, written, where, path, CALENDAR_SUFFIXES)
            if isinstance(found, Problem):
                return found
            shown = display_path(found)
            try:
                return read_text(found, shown), shown
            except SpecError as e:
                return e.problems[0]

        schedules.read_calendar = read
        return schedules.rows(doc, index, call)

    def _feed(self, url: str, where: Location, path: str) -> tuple[str, str] | Problem | None:
        """A calendar URL's text and how it is shown, the problem that stops it, or None
        when this run does not fetch (said as a warning at ``where``)."""
        feeds = self.feeds
        if feeds is None or not feeds.fetch:
            if feeds is not None:
                feeds.warnings.add(Problem(where, path, NOT_FETCHED))
            return None
        from callspec.oncall.feed import Unread, fetch_feed, shown_url

        got = fetch_feed(url, feeds.environ, feeds.timeout, feeds.mask)
        if isinstance(got, Unread):
            return Problem(where, path, got.why)
        return got, shown_url(url, feeds.mask)

    def scope(self, row: Row) -> dict[str, Any]:
        """What ``name:`` and ``each_where:`` see: the row and the environment."""
        return {"row": row.scope(), "env": self.env}

    def name(self, doc: Document, index: int, call: Mapping[str, Any], row: Row) -> str | Refused:
        """The call's name rendered for ``row``, or the problem that stops it."""
        path = f"calls[{index}].name {row_label(row, str(call['name']), doc.file)}"
        try:
            name = render_text(str(call["name"]), self.scope(row), self.clock)
        except RenderError as e:
            if e.for_every_row(row.columns):  # the spec's problem: said once
                where = doc.where(("calls", index, "name"))
                return Refused(Problem(where, f"calls[{index}].name", str(e)), every_row=True)
            return Refused(Problem(row.location, path, str(e)), every_row=False)
        if not name or name != name.strip():
            shown = json.dumps(name)
            message = (
                f"renders to {shown}: a call name must not be blank or begin or end with spaces"
            )
            return Refused(Problem(row.location, path, message), every_row=False)
        if CONTROL.search(name):
            # A name is printed on terminals, in logs and progress lines: a row's escape
            # sequence or line break there could recolour a terminal or forge a line.
            shown = json.dumps(name)
            message = (
                f"renders to {shown}: a call name must not hold control characters "
                "(line breaks, tabs, escape sequences)"
            )
            return Refused(Problem(row.location, path, message), every_row=False)
        return name


def _data_path(
    spec_path: Path,
    written: str,
    where: Location,
    path: str,
    suffixes: tuple[str, ...] = DATA_SUFFIXES,
) -> Path | Problem:
    """The data file ``written`` in a spec, when it is allowed; else the problem."""
    suffix = Path(written).suffix.lower()
    if suffix not in suffixes:
        message = (
            f"'{written}' is not a roster this reads: give a .csv (with a header row), "
            ".json or .yaml/.yml file, or an inline list of mappings"
        )
        if suffixes == CALENDAR_SUFFIXES:
            message = f"'{written}' is not a calendar this reads: give an .ics file or a URL"
        return Problem(where, path, message)
    data = spec_path.parent / written
    shown = written if len(written) <= 80 else written[:60] + "..." + written[-16:]
    try:
        # The spec's folder as given: a symlinked spec reads rosters beside the link,
        # as it finds its profiles file, and they must lie inside the link's tree.
        root = _root(spec_path.parent)
        full = resolved(data)
        if not full.is_relative_to(root):
            what = "git work tree" if (root / ".git").exists() else "folder"
            message = f"'{shown}' is outside the spec's {what} ({root}): a roster must be inside it"
            return Problem(where, path, message)
        if not full.exists():
            message = f"no such data file: '{shown}' (relative to the spec's folder)"
            return Problem(where, path, message)
    except ValueError:  # a NUL byte
        return Problem(where, path, f"'{json.dumps(shown)[1:-1]}' is not a usable path")
    except OSError as e:
        why = e.strerror or str(e)
        return Problem(where, path, f"'{shown}' is not a usable path: {why}")
    return data


def _root(spec_folder: Path) -> Path:
    """The spec's git work tree, else its folder."""
    folder = resolved(spec_folder)
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _with_path(problem: Problem, path: str) -> Problem:
    return problem if problem.path else Problem(problem.location, path, problem.message)
