"""The times a rotation is written in: zones, wall-clock times, shift lengths, quiet hours.

Every rule about wall-clock time lives here.  A local time that a daylight-saving
change skips (02:30 on a spring-forward night in Europe) or repeats (02:30 on a
fall-back night) is read as RFC 5545 reads it, which is also what ``zoneinfo``
does with ``fold=0``: a skipped time takes the offset from before the change (so
it lands an hour later on the clock), a repeated time is its first occurrence.
An iCalendar export and a rotation therefore agree on every instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
#: The shortest shift: a daylight-saving change moves a wall-clock hand-off by up to an
#: hour, so shorter shifts could hand off out of order.
MIN_SHIFT = timedelta(hours=1)
#: The longest shift (a year): beyond it a "rotation" is a typo of units.
MAX_SHIFT = timedelta(days=366)

#: The instants a schedule is read at (``--at``) and the years a rotation may start and end
#: in: far from the ends of ``datetime`` (years 1 and 9999), where a hand-off, a day's
#: shifts or an hour's offset would leave its range.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_RANGE = "from 1900-01-01T00:00:00Z, before 9000-01-01T00:00:00Z"

_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$")
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NAMED_SHIFTS = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError saying so (with the nearest name) if unknown."""
    try:
        if name and not name.startswith(("/", ".")) and ".." not in name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    from zoneinfo import available_timezones  # reads the whole database: only on an error

    from callspec.spec.validate import suggest

    hint = suggest(name, sorted(available_timezones()))
    raise ValueError(f"'{name}' is not a time zone of the IANA database{hint}")


def parse_local(text: str) -> datetime:
    """``2026-12-07T09:00`` (or with a space, or with seconds): a naive wall-clock time."""
    match = _LOCAL.match(text.strip())
    if match is None:
        raise ValueError(
            f"'{text}' is not a local date and time: write YYYY-MM-DDTHH:MM "
            "(in the rotation's time zone, without an offset)"
        )
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError as e:
        raise ValueError(f"'{text}' is not a date and time: {e}") from e
    if not EARLIEST.year <= year < LATEST.year:
        raise ValueError(f"'{text}' is out of range: write a date {_RANGE}")
    return local


def parse_instant(text: str) -> datetime:
    """An instant with its offset (``2026-12-25T03:00:00Z``, ``...+01:00``), in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"'{text}' is not an instant: write a date, a time and an offset, "
            "e.g. 2026-12-25T03:00:00Z or 2026-12-25T04:00+01:00"
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = None  # 0001-01-01T00:00+01:00: before datetime's first instant
    if moment is None or not EARLIEST <= moment < LATEST:
        raise ValueError(f"'{text}' is out of range: write an instant {_RANGE}")
    return moment


def wall(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock time ``local`` in ``tz`` (RFC 5545's reading of a
    skipped or repeated time: see the module's docstring)."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def parse_shift(text: str) -> timedelta:
    """``daily``, ``weekly`` or a duration (``12h``, ``2d``, ``1w``, ``1d12h``, ``90m``)."""
    named = _NAMED_SHIFTS.get(text.strip().lower())
    if named is not None:
        return named
    match = _DURATION.match(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(
            f"'{text}' is not a shift: write daily, weekly, or a duration such as 12h, 2d, 1w"
        )
    weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
    try:
        length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    except OverflowError:
        length = MAX_SHIFT * 2  # more days than datetime counts: longer than any shift
    if not MIN_SHIFT <= length <= MAX_SHIFT:
        raise ValueError(f"'{text}' is not a shift from 1h to 366d")
    return length


def shift_words(length: timedelta) -> str:
    """A shift length as people say it: ``weekly``, ``daily``, ``12h``."""
    for name, value in _NAMED_SHIFTS.items():
        if length == value:
            return name
    hours, seconds = divmod(int(length.total_seconds()), 3600)
    return f"{hours}h" + (f"{seconds // 60}m" if seconds else "")


@dataclass(frozen=True)
class Quiet:
    """Quiet hours: a daily wall-clock range in a person's own time zone, which may
    cross midnight (``22:00-07:00``)."""

    start: time
    end: time
    time_zone: str

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.time_zone}"

    def active(self, instant: datetime) -> bool:
        """True when ``instant`` falls in these quiet hours, on the person's clock."""
        now = instant.astimezone(zone(self.time_zone)).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends(self, instant: datetime) -> datetime:
        """When the quiet hours that hold ``instant`` end (the next ``end`` on the clock)."""
        tz = zone(self.time_zone)
        local = instant.astimezone(tz).replace(tzinfo=None)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return wall(end, tz)


def parse_quiet(text: str, time_zone: str) -> Quiet:
    """``22:00-07:00`` in ``time_zone``."""
    start, sep, end = text.strip().partition("-")
    a, b = _CLOCK.match(start.strip()), _CLOCK.match(end.strip())
    if not sep or a is None or b is None or start.strip() == end.strip():
        raise ValueError(
            f"'{text}' is not quiet hours: write HH:MM-HH:MM in the person's time zone, "
            "e.g. 22:00-07:00"
        )
    return Quiet(
        time(int(a.group(1)), int(a.group(2))), time(int(b.group(1)), int(b.group(2))), time_zone
    )


def local_words(instant: datetime, tz_name: str) -> str:
    """``2026-12-20 09:00 EST`` (the wall clock of ``tz_name``, its abbreviation)."""
    local = instant.astimezone(zone(tz_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def iso(instant: datetime, tz_name: str | None = None) -> str:
    """ISO 8601 with offset, in ``tz_name`` (else UTC, written ``Z``)."""
    instant = instant.replace(microsecond=0)
    if tz_name is None:
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return instant.astimezone(zone(tz_name)).isoformat()
