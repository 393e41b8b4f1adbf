"""iCalendar: a rotation's shifts written as a calendar, and who a calendar has on call.

The only module that loads ``icalendar`` and ``recurring-ical-events`` (about 70 ms),
and only when a calendar is written or read.  Recurring events, their exceptions
(``RECURRENCE-ID``, ``EXDATE``) and time zones are the libraries' to expand, never
this module's.

An event is one person on call from ``DTSTART`` to ``DTEND``: the person is the
attendee's ``CN`` (else the summary), the phone a ``tel:`` attendee (else the
``people:`` rotation's entry for that name), the layer the first of its
``CATEGORIES`` (else ``oncall``).  The export writes exactly that, so a schedule
exported and read back gives the same people at the same instants.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from callspec.errors import Location, Problem
from callspec.oncall.model import Person, Rotation, phone_issues
from callspec.oncall.resolve import FOREVER, Shift
from callspec.oncall.rows import OnCall
from callspec.oncall.times import UTC, iso
from callspec.text import escape_controls, outside

DEFAULT_LAYER = "oncall"
#: At most this many events of a calendar are looked at (a feed is outside text).
MAX_EVENTS = 20_000
#: At most this many occurrences of a calendar's repeating rules, from each series' start to
#: the instant asked about: the library expands a rule from its DTSTART (and keeps what it
#: made), so a rule repeating every second since 1900 would take minutes and gigabytes.
MAX_OCCURRENCES = 100_000
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
    #: Each VEVENT's properties' lines (its first: ``BEGIN``), in the calendar's order.
    events: tuple[dict[str, int], ...] = ()

    def with_people(self, people: Rotation | None) -> Calendar:
        return replace(self, people=people)


def parse_calendar(text: str, display: str, mask: Callable[[str], str] = str) -> Calendar | Problem:
    """``text`` as a calendar, or the problem (at its line) that stops it; the library's
    words quote the text (outside text: masked with ``mask``, cut, escaped)."""
    from icalendar import Calendar as ICalendar

    try:
        component = ICalendar.from_ical(text)
    except Exception as e:  # the library's many error types for a broken feed
        why = outside(e, mask)
        return Problem(Location(display, 1, 1), "", f"not an iCalendar file: {why}")
    return Calendar(display, component, _event_lines(text), events=_property_lines(text))


def _event_lines(text: str) -> dict[str, int]:
    """The line of each event's UID, to say where a problem of an event was written."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.upper().startswith("UID:"):
            lines.setdefault(line[4:].strip(), number)
    return lines


def _property_lines(text: str) -> tuple[dict[str, int], ...]:
    """Each VEVENT's properties' first lines (folded lines belong to the one above)."""
    events: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            continue
        upper = line.upper()
        if upper.startswith("BEGIN:VEVENT"):
            current = {"BEGIN": number}
            events.append(current)
        elif upper.startswith("END:VEVENT"):
            current = None
        elif current is not None:
            name = upper.split(":", 1)[0].split(";", 1)[0].strip()
            current.setdefault(name, number)
    return tuple(events)


def _instant(value: Any) -> datetime:
    """An event's DTSTART/DTEND as a UTC instant (a date: its midnight, UTC; a floating
    time: read as UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError(f"{value!r} is not a date")


def on_call_in(
    calendar: Calendar, at: datetime, layers: Sequence[str] | None, mask: Callable[[str], str] = str
) -> tuple[list[OnCall], list[Problem]]:
    """Who ``calendar`` has on call at ``at``: in ``layers``' order (else by start), and
    the problems of the events that hold ``at`` (or that stop the calendar being read:
    a broken time, an end before the start, a rule repeating too often to expand)."""
    import recurring_ical_events

    problems = _checked(calendar, at, mask)
    if problems:
        return [], problems
    try:
        query = recurring_ical_events.of(calendar.component)
        events = query.between(at - timedelta(seconds=1), at + timedelta(seconds=1))
    except Exception as e:  # a broken rule in a feed (the library's words: outside text)
        message = f"the calendar's events cannot be expanded: {outside(e, mask)}"
        return [], [Problem(Location(calendar.display, 1, 1), "", message)]
    entries: list[tuple[datetime, OnCall]] = []
    for count, event in enumerate(events):
        if count >= MAX_EVENTS:
            break
        try:
            start = _instant(event.decoded("dtstart"))
            end = _instant(event.decoded("dtend")) if "dtend" in event else start
        except (KeyError, ValueError):
            continue  # an event without a time holds no instant (a broken one: _checked)
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


def _checked(calendar: Calendar, at: datetime, mask: Callable[[str], str]) -> list[Problem]:
    """The problems of the calendar's events, each at its property's line, before the
    library expands them: a DTSTART or DTEND that is no time, an end before the start, a
    repeating rule with an INTERVAL under 1, or rules with more than
    :data:`MAX_OCCURRENCES` occurrences between their starts and ``at`` (counted lazily,
    so a hostile rule costs that many steps, never more)."""
    problems: list[Problem] = []
    budget = MAX_OCCURRENCES
    for index, event in enumerate(calendar.component.walk("VEVENT")):
        if index >= MAX_EVENTS:
            break
        lines = calendar.events[index] if index < len(calendar.events) else {}

        def where(name: str, lines: dict[str, int] = lines) -> Location:
            return Location(calendar.display, lines.get(name, lines.get("BEGIN", 1)), 1)

        times: dict[str, datetime] = {}
        for name in ("DTSTART", "DTEND"):
            if name not in event:
                continue
            try:
                times[name] = _instant(event.decoded(name))
            except (KeyError, ValueError):
                raw = event[name].to_ical() if hasattr(event[name], "to_ical") else event[name]
                raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                why = f"{name} is not a date or a time: '{outside(raw, mask)}'"
                problems.append(Problem(where(name), "", why))
        if "DTSTART" in times and "DTEND" in times and times["DTEND"] < times["DTSTART"]:
            problems.append(
                Problem(
                    where("DTEND"),
                    "",
                    f"the event ends (DTEND {iso(times['DTEND'])}) before it starts "
                    f"(DTSTART {iso(times['DTSTART'])})",
                )
            )
        if problems or "DTSTART" not in times:
            continue
        rules = event.get("rrule", [])
        for rule in rules if isinstance(rules, list) else [rules]:
            found = _occurrences(rule, times["DTSTART"], at, budget, mask)
            if isinstance(found, str):
                problems.append(Problem(where("RRULE"), "", found))
                break
            budget -= found
    return problems


def _occurrences(
    rule: Any, start: datetime, at: datetime, budget: int, mask: Callable[[str], str]
) -> int | str:
    """How many times ``rule`` (an RRULE from ``start``) repeats up to ``at``, or why it is
    refused: an INTERVAL under 1, or more than ``budget`` occurrences.  Counted in UTC
    without the rule's own COUNT and UNTIL (applied here), as an upper bound."""
    from dateutil.rrule import rrulestr
    from icalendar import vRecur

    try:
        interval = int(rule.get("INTERVAL", [1])[0])
    except (TypeError, ValueError, IndexError):
        interval = 1  # the library says what is wrong with it
    if interval < 1:
        return f"the repeating rule's INTERVAL is {interval}: it must be 1 or more"
    limit = budget + 1  # one more than allowed: enough to know it is too many
    if "COUNT" in rule:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            limit = min(limit, int(rule["COUNT"][0]))
    stop = at.astimezone(UTC).replace(tzinfo=None)  # occurrences after ``at`` cost nothing
    if "UNTIL" in rule:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            stop = min(stop, _instant(rule["UNTIL"][0]).replace(tzinfo=None))
    bare = vRecur({k: v for k, v in rule.items() if k not in ("COUNT", "UNTIL")})
    try:
        text = bare.to_ical().decode("utf-8")  # type: ignore[no-untyped-call]
        first = start.astimezone(UTC).replace(tzinfo=None)
        steps = rrulestr(text, dtstart=first).replace(until=stop)
        count = 0
        for _ in steps:
            count += 1
            if count >= limit:
                break
    except (TypeError, ValueError) as e:
        return f"the repeating rule cannot be read: {outside(e, mask)}"
    if count > budget:
        return (
            f"the event repeats too often: more than {MAX_OCCURRENCES:,} occurrences of the "
            "calendar's repeating events between their starts (DTSTART) and "
            f"{iso(at)}; a repeating event is expanded from its start, so start the series "
            "nearer the time asked about, or repeat it less often"
        )
    return count


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
