"""iCalendar: a rotation's shifts written as a calendar, and who a calendar has on call.

With :mod:`.icalcheck` (what a calendar may cost, checked before it is expanded), the
only module that loads ``icalendar`` and ``recurring-ical-events`` (about 70 ms), and
only when a calendar is written or read.  Recurring events, their exceptions
(``RECURRENCE-ID``, ``EXDATE``) and time zones are the libraries' to expand, never
this module's.

An event is one person on call from ``DTSTART`` to ``DTEND``: the person is the
attendee's ``CN`` (else the summary), the phone a ``tel:`` attendee (else the
``people:`` rotation's entry for that name), the layer the first of its
``CATEGORIES`` (else ``oncall``).  The export writes exactly that, so a schedule
exported and read back gives the same people at the same instants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from callspec.errors import Location, Problem
from callspec.oncall.icalcheck import MAX_EVENTS, checked, instant
from callspec.oncall.model import Person, Rotation, phone_issues
from callspec.oncall.resolve import FOREVER, Shift
from callspec.oncall.rows import OnCall
from callspec.oncall.times import UTC, iso
from callspec.text import escape_controls, outside

DEFAULT_LAYER = "oncall"
_MAX_NAME = 100


def export(rotation: Rotation, shifts: Sequence[Shift], stamp: datetime) -> str:
    """The shifts as an iCalendar document (``stamp``: its DTSTAMP, the export's instant)."""
    from icalendar import Calendar, Event, vCalAddress, vText

    calendar = Calendar()
    calendar.add("prodid", "-//callspec//oncall//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{rotation.name} on call")
    for shift in shifts:
        if shift.person is None:
            continue
        person = shift.person
        event = Event()
        uid = hashlib.sha256(
            f"{rotation.name}|{shift.layer}|{person.name}|{iso(shift.start)}".encode()
        ).hexdigest()[:32]
        event.add("uid", f"{uid}@callspec")
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC) if shift.end != FOREVER else stamp)
        event.add("summary", f"{shift.layer}: {person.name}")
        event.add("categories", [shift.layer])
        attendee = vCalAddress(f"tel:{person.phone}")
        attendee.params["cn"] = vText(person.name)
        event.add("attendee", attendee, encode=False)
        notes = []
        if shift.covers:
            notes.append(f"covers {shift.covers}")
        if person.quiet is not None:
            notes.append(f"quiet hours {person.quiet}")
        if notes:
            event.add("description", "; ".join(notes))
        calendar.add_component(event)
    text: str = calendar.to_ical().decode("utf-8")
    return text


@dataclass(frozen=True)
class Calendar:
    """A parsed calendar: its events' component and where each was written."""

    display: str
    component: Any
    lines: dict[str, int]
    people: Rotation | None = None
    #: Each component's properties' lines (its first: ``BEGIN``), by the component's name
    #: (``VEVENT``, ``STANDARD``...), in the calendar's order.
    parts: dict[str, tuple[dict[str, int], ...]] = field(default_factory=dict)

    def with_people(self, people: Rotation | None) -> Calendar:
        return replace(self, people=people)


def parse_calendar(text: str, display: str, mask: Callable[[str], str] = str) -> Calendar | Problem:
    """``text`` as a calendar, or the problem (at its line) that stops it: more than
    :data:`MAX_EVENTS` events (before parsing them), or what the library could not read
    (its words quote the text: outside text, masked with ``mask``, cut, escaped)."""
    from icalendar import Calendar as ICalendar

    parts = _property_lines(text)
    events = parts.get("VEVENT", ())
    if len(events) > MAX_EVENTS:
        where = Location(display, events[MAX_EVENTS]["BEGIN"], 1)
        why = (
            f"the calendar has {len(events):,} events: at most {MAX_EVENTS:,} are read "
            "(export a shorter range, or split it into calendars)"
        )
        return Problem(where, "", why)
    try:
        component = ICalendar.from_ical(text)
    except Exception as e:  # the library's many error types for a broken feed
        why = outside(e, mask)
        return Problem(Location(display, 1, 1), "", f"not an iCalendar file: {why}")
    return Calendar(display, component, _event_lines(text), parts=parts)


def _event_lines(text: str) -> dict[str, int]:
    """The line of each event's UID, to say where a problem of an event was written."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.upper().startswith("UID:"):
            lines.setdefault(line[4:].strip(), number)
    return lines


def _property_lines(text: str) -> dict[str, tuple[dict[str, int], ...]]:
    """Each component's properties' first lines (folded lines belong to the one above),
    by the component's name, in the text's order (the order ``walk`` finds them in)."""
    parts: dict[str, list[dict[str, int]]] = {}
    open_parts: list[dict[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            continue
        upper = line.upper()
        name = upper.split(":", 1)[0].split(";", 1)[0].strip()
        if name == "BEGIN":
            current = {"BEGIN": number}
            parts.setdefault(upper.split(":", 1)[-1].strip(), []).append(current)
            open_parts.append(current)
        elif name == "END":
            if open_parts:
                open_parts.pop()
        elif open_parts:
            open_parts[-1].setdefault(name, number)
    return {name: tuple(found) for name, found in parts.items()}


def on_call_in(
    calendar: Calendar, at: datetime, layers: Sequence[str] | None, mask: Callable[[str], str] = str
) -> tuple[list[OnCall], list[Problem]]:
    """Who ``calendar`` has on call at ``at``: in ``layers``' order (else by start), and
    the problems of the events that hold ``at`` (or that stop the calendar being read:
    a broken time, an end before the start, a rule repeating too often to expand)."""
    import recurring_ical_events

    problems = checked(calendar.component, calendar.parts, calendar.display, at, mask)
    if problems:
        return [], problems
    try:
        query = recurring_ical_events.of(calendar.component)
        events = query.between(at - timedelta(seconds=1), at + timedelta(seconds=1))
    except Exception as e:  # a broken rule in a feed (the library's words: outside text)
        message = f"the calendar's events cannot be expanded: {outside(e, mask)}"
        return [], [Problem(Location(calendar.display, 1, 1), "", message)]
    entries: list[tuple[datetime, OnCall]] = []
    for event in events:
        try:
            start = instant(event.decoded("dtstart"))
            end = instant(event.decoded("dtend")) if "dtend" in event else start
        except (KeyError, ValueError):
            continue  # an event without a time holds no instant (a broken one: checked)
        if not start <= at < end:
            continue
        found = _entry(calendar, event, end)
        if isinstance(found, Problem):
            problems.append(found)
        elif layers is None or found.layer in layers:
            entries.append((start, found))
    order = {name: i for i, name in enumerate(layers or ())}
    entries.sort(key=lambda item: (order.get(item[1].layer, 0), item[0], item[1].person.name))
    return [entry for _, entry in entries], problems


def _entry(calendar: Calendar, event: Any, end: datetime) -> OnCall | Problem:
    uid = str(event.get("uid", ""))
    where = Location(calendar.display, calendar.lines.get(uid, 1), 1)
    attendees = event.get("attendee", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    name = next((str(a.params["cn"]) for a in attendees if "cn" in a.params), None)
    if name is None:
        name = str(event.get("summary", "")).strip()
    name = escape_controls(name)[:_MAX_NAME]
    phone = next((str(a)[4:].strip() for a in attendees if str(a).lower().startswith("tel:")), None)
    categories = event.get("categories")
    layer = DEFAULT_LAYER
    if categories is not None:
        first = categories[0] if isinstance(categories, list) else categories
        cats = list(getattr(first, "cats", []))
        layer = str(cats[0]) if cats else DEFAULT_LAYER
    people = calendar.people
    known = people.people.get(name) if people is not None else None
    if known is not None:
        return OnCall(replace(known, phone=phone or known.phone), layer, end, where)
    if not name or phone is None:
        why = "no name" if not name else f"no phone for '{name}'"
        hint = (
            " (a tel: attendee, or a person of the rotation named by 'people:')"
            if name
            else " (an attendee's CN or a summary)"
        )
        return Problem(where, "", f"the event on call until {iso(end)} has {why}{hint}")
    # The number rules of every call (a profile's countries apply where the row is paged).
    wrong = next((i.message for i in phone_issues(phone) if not i.warning), None)
    if wrong is not None:
        return Problem(where, "", f"the event on call until {iso(end)}: {name}'s phone {wrong}")
    return OnCall(Person(name, phone, "UTC", None, where), layer, end, where)
