"""A parsed calendar's checks before the libraries expand it, each a located error.

``validate`` runs on pull requests with specs (and calendars) nobody vetted, so what
the libraries would spend on a calendar is bounded here first, by arithmetic and by
bounded counting: an event's times (a time that is no time, an end before its start, a
start outside 1900 to 9000, a DURATION that ends past 9000), and every repeating rule
of the file (events' and time zones' ``STANDARD``/``DAYLIGHT`` alike): one that cannot
be read, an INTERVAL under 1, more than :data:`MAX_STEPS` periods for ``dateutil`` to
walk (whatever they match), more than :data:`MAX_OCCURRENCES` occurrences.  The number
of events is bounded by :func:`callspec.oncall.ical.parse_calendar`, before parsing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from callspec.errors import Location, Problem
from callspec.oncall.times import EARLIEST, LATEST, UTC, iso
from callspec.text import outside

#: At most this many events in a calendar (a feed is outside text): more is refused.
MAX_EVENTS = 20_000
#: At most this many periods (FREQ times INTERVAL) for ``dateutil`` to walk, the file's rules
#: together: it steps through every period from a rule's DTSTART, matching or not, so a
#: rule every second since 1900 (that never matches: February 30th) takes minutes.  A
#: 12-hour shift series since 1900 is about 92,000.
MAX_STEPS = 1_000_000
#: At most this many occurrences of a calendar's repeating rules, from each series' start to
#: the instant asked about: the library expands a rule from its DTSTART (and keeps what it
#: made), so one period may hold thousands (every BYHOUR, BYMINUTE, BYSECOND of a day).
MAX_OCCURRENCES = 100_000
#: Seconds in one period of each FREQ (a month and a year: their Gregorian means).
PERIOD = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3_600,
    "DAILY": 86_400,
    "WEEKLY": 604_800,
    "MONTHLY": 2_629_746,
    "YEARLY": 31_556_952,
}
#: How far a time zone's rule is counted (to its UNTIL, else ``dateutil``'s last year): any
#: time of the zone (an event's DTEND far ahead) may be read, walking the rule up to it.
_ZONE_END = datetime(9999, 12, 31, tzinfo=UTC)
#: At most this many steps (and occurrences) for one rule of a time zone (its STANDARD or
#: DAYLIGHT), to the end of its zone: reading any time of the zone walks the rule from its
#: start to that time.  A yearly rule since 1601 (as Outlook writes them) is 8,400.
MAX_ZONE_STEPS = 10_000
_ZONE_BOUND = (MAX_ZONE_STEPS, "a time zone's rule may take")
_CAP = 100  # a broken rule's text, as shown
_FIX_EVENT = "start the series later, nearer the time asked about, or repeat it at a coarser FREQ"
_FIX_ZONE = (
    "a time zone's rule is walked from its start each time a time of the zone is read: "
    "start it later, end it (UNTIL), or repeat it at a coarser FREQ"
)


@dataclass
class _Budget:
    """What the file's rules may still cost (mutable: spent rule by rule)."""

    steps: int = MAX_STEPS
    occurrences: int = MAX_OCCURRENCES


def checked(
    component: Any,
    lines: dict[str, tuple[dict[str, int], ...]],
    display: str,
    at: datetime,
    mask: Callable[[str], str],
) -> list[Problem]:
    """The problems of the calendar ``component`` (``lines``: each component's
    properties' lines, by component name, in the file's order), each at its line: its
    time zones' first (reading an event's time walks its zone's rules), then its events'."""
    zones = _parts(component, lines, display, at, mask, ("STANDARD", "DAYLIGHT"))
    return zones or _parts(component, lines, display, at, mask, ("VEVENT",))


def _parts(
    component: Any,
    lines: dict[str, tuple[dict[str, int], ...]],
    display: str,
    at: datetime,
    mask: Callable[[str], str],
    names: tuple[str, ...],
) -> list[Problem]:
    problems: list[Problem] = []
    budget = _Budget() if "VEVENT" in names else _Budget(MAX_STEPS, MAX_STEPS)
    seen: dict[str, int] = {}
    for part in component.walk():
        name = str(part.name).upper()
        if name not in names:
            continue
        index = seen[name] = seen.get(name, -1) + 1
        own = lines.get(name, ())
        at_lines = own[index] if index < len(own) else {}

        def where(prop: str, at_lines: dict[str, int] = at_lines) -> Location:
            return Location(display, at_lines.get(prop, at_lines.get("BEGIN", 1)), 1)

        event = name == "VEVENT"
        found = _times(part, event, mask)
        if isinstance(found, tuple):
            problems.append(Problem(where(found[0]), "", found[1]))
            continue
        if "DTSTART" not in found:
            continue
        rules = part.get("rrule", [])
        for rule in rules if isinstance(rules, list) else [rules]:
            why = _rule(rule, found["DTSTART"], at if event else _ZONE_END, budget, mask, event)
            if why is not None:
                problems.append(Problem(where("RRULE"), "", why))
                break
    return problems


def _times(
    part: Any, event: bool, mask: Callable[[str], str]
) -> dict[str, datetime] | tuple[str, str]:
    """A component's DTSTART and DTEND (UTC), or the property and what is wrong with it."""
    times: dict[str, datetime] = {}
    for name in ("DTSTART", "DTEND"):
        if name not in part:
            continue
        try:
            times[name] = instant(part.decoded(name))
        except (KeyError, ValueError):
            why = f"{name} is not a date or a time: '{outside(_raw(part[name]), mask)}'"
            return name, why
    start = times.get("DTSTART")
    if not event or start is None:
        return times
    if not EARLIEST <= start < LATEST:
        return "DTSTART", (
            f"the event starts (DTSTART {iso(start)}) outside the years a calendar may hold: "
            f"from {iso(EARLIEST)}, before {iso(LATEST)}"
        )
    if "DTEND" in times and times["DTEND"] < start:
        return "DTEND", (
            f"the event ends (DTEND {iso(times['DTEND'])}) before it starts (DTSTART {iso(start)})"
        )
    if "DURATION" in part and "DTEND" not in times:
        raw = outside(_raw(part["DURATION"]), mask)
        try:
            length = part.decoded("DURATION")
            end = start + length if isinstance(length, timedelta) else None
        except (KeyError, ValueError, OverflowError):
            end = LATEST  # past the years the calendar may hold: said below
        if end is None:
            return "DURATION", f"DURATION is not a duration: '{raw}'"
        if end < start:
            return "DURATION", (
                f"the event ends (DURATION {raw}: {iso(end)}) before it starts "
                f"(DTSTART {iso(start)})"
            )
        if end >= LATEST:
            return "DURATION", (
                f"the event lasts too long (DURATION {raw} from DTSTART {iso(start)}): "
                f"it must end before {iso(LATEST)}"
            )
    return times


def _rule(
    rule: Any,
    start: datetime,
    end: datetime,
    budget: _Budget,
    mask: Callable[[str], str],
    event: bool,
) -> str | None:
    """Why ``rule`` (an RRULE from ``start``, expanded up to ``end``; of an event, else of
    a time zone) is refused, else None with what it costs taken from ``budget``:
    unreadable, an INTERVAL under 1, more periods to walk or occurrences to make than the
    file has left."""
    from icalendar.prop import vBroken

    if isinstance(rule, vBroken):  # kept as text by the parser; its error says why
        raw = outside(str(rule), mask, _CAP)
        return f"the repeating rule cannot be read: '{raw}' ({outside(rule.parse_error, mask)})"
    freq = str(rule.get("FREQ", [""])[0]).upper()
    if freq not in PERIOD:
        known = ", ".join(PERIOD)
        return f"the repeating rule has no FREQ of {known}: '{outside(freq, mask, _CAP)}'"
    interval = int(rule.get("INTERVAL", [1])[0])
    if interval < 1:
        return f"the repeating rule's INTERVAL is {interval}: it must be 1 or more"
    with contextlib.suppress(TypeError, ValueError, IndexError):
        if "UNTIL" in rule:
            end = min(end, instant(rule["UNTIL"][0]))
    steps = max(0, int((end - start).total_seconds()) // (PERIOD[freq] * interval)) + 1
    if "COUNT" in rule and not any(str(key).upper().startswith("BY") for key in rule):
        steps = min(steps, int(rule["COUNT"][0]))  # every period matches: COUNT ends it
    bound = (MAX_STEPS, "the calendar's rules may take together") if event else _ZONE_BOUND
    if steps > min(budget.steps, bound[0]):
        return (
            f"the repeating rule takes too many steps to expand: FREQ={freq} every "
            f"{interval} from DTSTART {iso(start)} to {iso(end)} is about {steps:,} steps, "
            f"over the {bound[0]:,} {bound[1]} (a rule is walked from its start, one period "
            f"at a time); {_FIX_EVENT if event else _FIX_ZONE}"
        )
    budget.steps -= steps
    count = _occurrences(rule, start, end, min(budget.occurrences, bound[0]))
    if isinstance(count, Exception):
        return f"the repeating rule cannot be read: {outside(count, mask)}"
    if not event and count > min(budget.occurrences, bound[0]):
        return (
            f"the time zone's rule repeats too often: more than {bound[0]:,} times from "
            f"DTSTART {iso(start)} to {iso(end)}; {_FIX_ZONE}"
        )
    if count > budget.occurrences:
        return (
            f"the event repeats too often: more than {MAX_OCCURRENCES:,} occurrences of the "
            "calendar's repeating events between their starts (DTSTART) and "
            f"{iso(end)}; a repeating event is expanded from its start, so start the series "
            "nearer the time asked about, or repeat it less often"
        )
    budget.occurrences -= count
    return None


def _occurrences(rule: Any, start: datetime, end: datetime, budget: int) -> int | Exception:
    """How many times ``rule`` repeats from ``start`` up to ``end``, counted up to one more
    than ``budget`` (UTC, its own COUNT applied here: an upper bound), or why it cannot."""
    from dateutil.rrule import rrulestr
    from icalendar import vRecur

    limit = budget + 1  # one more than allowed: enough to know it is too many
    if "COUNT" in rule:
        limit = min(limit, int(rule["COUNT"][0]))
    bare = vRecur({k: v for k, v in rule.items() if k not in ("COUNT", "UNTIL")})
    count = 0
    try:
        text = bare.to_ical().decode("utf-8")  # type: ignore[no-untyped-call]
        first = start.astimezone(UTC).replace(tzinfo=None)
        stop = end.astimezone(UTC).replace(tzinfo=None)
        for _ in rrulestr(text, dtstart=first).replace(until=stop):
            count += 1
            if count >= limit:
                break
    except (TypeError, ValueError) as e:
        return e
    return count


def instant(value: Any) -> datetime:
    """A DTSTART/DTEND/UNTIL as a UTC instant (a date: its midnight, UTC; a floating
    time: read as UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError(f"{value!r} is not a date")


def _raw(value: Any) -> str:
    raw = value.to_ical() if hasattr(value, "to_ical") else value
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
