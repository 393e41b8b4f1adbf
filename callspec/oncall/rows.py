"""The rows of ``each: {rotation: ...}`` and ``each: {ical: ...}``: who is on call, as a roster.

A run resolves every schedule at one instant (``--at``, else the moment its plan
is built): each layer asked for, in order, gives the person on call then, as a
row with ``row.name``, ``row.phone``, ``row.layer`` and ``row.shift_ends``.  A
person on call in two layers is paged once, at the first.  A person in quiet
hours still makes a row (and a call in the report), held back with the reason,
unless the call is urgent (``urgent: true`` in ``each:``, or one of the
rotation's ``urgent_tags``); an escalation then moves on to the next.  A layer
with nobody on call is an error: a page must not silently ring fewer people.
Every person of a rotation a call pages (on call now or not) must have a number
the call's profile may ring (its ``countries:``), said at the person's phone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from callspec.errors import Location, Problem
from callspec.oncall.model import Person, Rotation, phone_issues
from callspec.oncall.resolve import FOREVER, on_call
from callspec.oncall.times import iso, local_words
from callspec.spec.loader import Document, format_path
from callspec.spec.problems import Found
from callspec.spec.rosters import Row
from callspec.spec.validate import quote, suggest

COLUMNS = ("name", "phone", "layer", "shift_ends")
#: Reads a calendar named in ``each: {ical: ...}``: (its text, how it is shown), the
#: problem that stops it, or None when it is not read in this run (a URL a command that
#: requests nothing does not fetch; said as a warning).  The spec stage gives it (a file
#: under a roster's rules, a URL through the network layer).
ReadCalendar = Callable[[str, Location, str], "tuple[str, str] | Problem | None"]


@dataclass(frozen=True)
class OnCall:
    """Someone a schedule has on call at the instant: who, in which layer, until when."""

    person: Person
    layer: str
    ends: datetime
    #: Where the fact was written: the person's entry, an override, a calendar event.
    location: Location


@dataclass
class Schedules:
    """The rotations a spec sees and the instant a run resolves them at."""

    at: datetime
    rotations: Mapping[str, Rotation]
    #: Names of rotations with problems (reported already): referring to one adds none.
    broken: frozenset[str] = frozenset()
    #: Calendars read so far, by how they were written (shared by a run's files).
    calendars: dict[str, Any] = field(default_factory=dict)
    read_calendar: ReadCalendar | None = None
    #: The countries the calling spec's profile allows (``countries:``; empty: any).
    countries: tuple[str, ...] = ()
    #: Masks secrets in the problems said of people's numbers.
    mask: Callable[[str], str] = str
    #: Each rotation's number problems under a list of countries (shared by a run's files).
    numbers: dict[tuple[str, str, tuple[str, ...]], list[Problem]] = field(default_factory=dict)
    #: Where warnings go (the plan's), when anywhere.
    notes: Found | None = None

    def rows(
        self, doc: Document, index: int, call: Mapping[str, Any]
    ) -> tuple[list[Row], list[Problem]]:
        """The rows of ``calls[index]``'s ``each:`` mapping, or the problems that stop it."""
        base: tuple[str | int, ...] = ("calls", index, "each")
        each = call["each"]

        def problem(key: str | tuple[str, int] | None, message: str) -> Problem:
            keys = key if isinstance(key, tuple) else (key,) if key is not None else ()
            path = (*base, *keys)
            return Problem(doc.where(path), format_path(path), message, path)

        if ("rotation" in each) == ("ical" in each):
            return [], [problem(None, "give either 'rotation' (a name) or 'ical' (a calendar)")]
        people_of = each.get("people") if "ical" in each else each.get("rotation")
        if "ical" not in each and "people" in each:
            return [], [problem("people", "'people' goes with 'ical' (a rotation names its own)")]
        rotation: Rotation | None = None
        if people_of is not None:
            key = "rotation" if "rotation" in each else "people"
            if people_of in self.broken:
                return [], []  # its own problems are reported where it is written
            rotation = self.rotations.get(str(people_of))
            if rotation is None:
                known = sorted(self.rotations)
                listed = f" (known: {', '.join(known)})" if known else " (none is defined)"
                hint = suggest(str(people_of), known)
                return [], [problem(key, f"no rotation {quote(str(people_of))}{hint}{listed}")]
        if rotation is not None:
            wrong = self._numbers(rotation, doc)
            if wrong:
                return [], wrong
        layers: Sequence[str] | None = each.get("layers")
        if "ical" in each:
            found = self._calendar(doc, base, str(each["ical"]), rotation, problem)
            if found is None:  # not read in this run (a warning says so)
                return [], []
            if isinstance(found, Problem):
                return [], [found]
            from callspec.oncall.ical import on_call_in

            entries, problems = on_call_in(found, self.at, layers, self.mask)
            if problems:
                return [], problems
        else:
            assert rotation is not None
            if layers is not None:
                names = [layer.name for layer in rotation.layers]
                unknown = [
                    problem(
                        ("layers", i),
                        f"no layer {quote(name)} in rotation "
                        f"'{rotation.name}'{suggest(name, names)} ({', '.join(names)})",
                    )
                    for i, name in enumerate(layers)
                    if name not in names
                ]
                if unknown:
                    return [], unknown
            entries, problems = _rotation_entries(rotation, self.at, layers, problem)
            if problems:
                return [], problems
        urgent = bool(each.get("urgent")) or bool(
            rotation is not None and set(call.get("tags", ())) & set(rotation.urgent_tags)
        )
        return _rows(entries, self.at, urgent, rotation), []

    def _numbers(self, rotation: Rotation, doc: Document) -> list[Problem]:
        """The people of ``rotation`` whose numbers the profile's countries refuse (the rules
        every call's numbers follow), each at their phone; warnings go to ``notes``.  Each
        person is checked, on call now or not: a pull request learns of them before their
        shift.  Worked out once per rotation and list of countries."""
        if not self.countries:
            return []  # any country: what a number needs was checked where it was read
        key = (rotation.file, rotation.name, self.countries)
        if key not in self.numbers:
            errors: list[Problem] = []
            warnings: list[Problem] = []
            for person in rotation.people.values():
                for issue in phone_issues(person.phone, self.countries, self.mask):
                    keys = ("rotations", rotation.name, "people", person.name, "phone")
                    where = person.phone_location or person.location
                    message = f"{issue.message} ({doc.file} pages rotation '{rotation.name}')"
                    found = Problem(where, format_path(keys), message, keys)
                    (warnings if issue.warning else errors).append(found)
            self.numbers[key] = errors
            if self.notes is not None:
                self.notes.extend(warnings)
        return self.numbers[key]

    def _calendar(
        self,
        doc: Document,
        base: tuple[str | int, ...],
        written: str,
        people: Rotation | None,
        problem: Callable[[str | tuple[str, int] | None, str], Problem],
    ) -> Any:
        """The parsed calendar (read once per run), the problem that stops it, or None when
        this run does not read it."""
        from callspec.oncall.ical import parse_calendar

        # A URL is read once per run; a file once per folder it is named from.
        url = written.lower().startswith(("http://", "https://"))
        key = written if url else f"{PurePath(doc.file).parent}/{written}"
        if key not in self.calendars:
            if self.read_calendar is None:
                return problem("ical", "calendars are not read here")
            got = self.read_calendar(
                written, doc.where((*base, "ical")), format_path((*base, "ical"))
            )
            if got is None:
                return None  # not kept: each call that names it is warned at its own line
            parsed = got if isinstance(got, Problem) else parse_calendar(*got, self.mask)
            self.calendars[key] = parsed
        found = self.calendars[key]
        if isinstance(found, Problem):
            return found
        return found.with_people(people)


def _rotation_entries(
    rotation: Rotation,
    at: datetime,
    layers: Sequence[str] | None,
    problem: Callable[[str | tuple[str, int] | None, str], Problem],
) -> tuple[list[OnCall], list[Problem]]:
    entries, problems = [], []
    for piece in on_call(rotation, at, layers):
        if piece.person is None:
            tz = rotation.time_zone
            until = "" if piece.end == FOREVER else f" until {local_words(piece.end, tz)}"
            problems.append(
                problem(
                    "rotation",
                    f"nobody is on call in layer '{piece.layer}' of rotation '{rotation.name}' "
                    f"at {local_words(at, tz)} ({iso(at)}){until}: the page would ring nobody",
                )
            )
            continue
        where = piece.override.location if piece.override else piece.person.location
        entries.append(OnCall(piece.person, piece.layer, piece.end, where))
    return entries, problems


def quiet_reason(person: Person, at: datetime, urgent: bool) -> str | None:
    """Why ``person`` is not rung at ``at`` (quiet hours, the call not urgent), or None."""
    quiet = person.quiet
    if quiet is None or urgent or not quiet.active(at):
        return None
    ends = local_words(quiet.ends(at), quiet.time_zone)
    return (
        f"quiet hours: {person.name} is not paged {quiet} (until {ends}) by a call that is not "
        "urgent (urgent: true in each:, or a tag of the rotation's urgent_tags)"
    )


def _rows(
    entries: Sequence[OnCall], at: datetime, urgent: bool, rotation: Rotation | None
) -> list[Row]:
    """One row per person, at their first layer."""
    rows: list[Row] = []
    seen: set[str] = set()
    tz = rotation.time_zone if rotation is not None else None
    for entry in entries:
        if entry.person.name in seen:
            continue
        seen.add(entry.person.name)
        values = {
            "name": entry.person.name,
            "phone": entry.person.phone,
            "layer": entry.layer,
            "shift_ends": "" if entry.ends == FOREVER else iso(entry.ends, tz),
        }
        held = quiet_reason(entry.person, at, urgent)
        rows.append(Row(len(rows), entry.location, values, COLUMNS, "each:", held=held))
    return rows
