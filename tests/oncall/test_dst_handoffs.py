"""Hand-offs keep their wall-clock time in the rotation's time zone across daylight-saving
changes: 09:00 the Monday after the change, and 02:30 on the very day clocks change (a
time that does not exist in spring, and one that happens twice in Berlin's autumn), in
both directions.  A skipped time is read as RFC 5545 reads it (the offset before the
change: 02:30 becomes 03:30), a repeated one is its first occurrence."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callspec.oncall.model import Rotation, read_rotations
from callspec.oncall.resolve import shifts
from callspec.oncall.times import parse_instant
from callspec.spec.loader import load_bytes


def _rotation(zone: str, start: str, shift: str) -> Rotation:
    text = f"""\
rotations:
  r:
    time_zone: {zone}
    start: "{start}"
    shift: {shift}
    layers: {{primary: [a, b]}}
    people: {{a: {{phone: "+14155550101"}}, b: {{phone: "+14155550102"}}}}
"""
    rotations, problems = read_rotations(load_bytes(text.encode(), "r.yaml"))
    assert problems == []
    return rotations["r"]


def _handoffs(rotation: Rotation, a: str, b: str) -> list[str]:
    found = shifts(rotation, parse_instant(a), parse_instant(b))
    return [s.start.strftime("%Y-%m-%dT%H:%MZ") for s in found if s.start >= parse_instant(a)]


def test_weekly_09_00_the_monday_after_spring_forward():
    rotation = _rotation("America/New_York", "2027-03-01T09:00", "weekly")
    # EST (-5) on March 8, EDT (-4) from March 14: 09:00 both Mondays.
    assert _handoffs(rotation, "2027-03-08T00:00Z", "2027-03-23T00:00Z") == [
        "2027-03-08T14:00Z",
        "2027-03-15T13:00Z",
        "2027-03-22T13:00Z",
    ]


def test_weekly_09_00_the_monday_after_fall_back():
    rotation = _rotation("America/New_York", "2027-10-25T09:00", "weekly")
    assert _handoffs(rotation, "2027-10-25T00:00Z", "2027-11-09T00:00Z") == [
        "2027-10-25T13:00Z",
        "2027-11-01T13:00Z",
        "2027-11-08T14:00Z",
    ]


@pytest.mark.parametrize(
    ("zone", "start", "window", "expected"),
    [
        # Berlin springs forward 02:00 -> 03:00 on March 28: 02:30 does not exist that day
        # and is 03:30 CEST; that day's shift lasts 23 hours.
        ("Europe/Berlin", "2027-03-20T02:30", ("2027-03-27T00:00Z", "2027-03-30T00:00Z"),
         ["2027-03-27T01:30Z", "2027-03-28T01:30Z", "2027-03-29T00:30Z"]),
        # Berlin falls back 03:00 -> 02:00 on October 31: 02:30 happens twice; the hand-off
        # is the first (CEST), that day's shift lasts 25 hours.
        ("Europe/Berlin", "2027-10-20T02:30", ("2027-10-30T00:00Z", "2027-11-02T00:00Z"),
         ["2027-10-30T00:30Z", "2027-10-31T00:30Z", "2027-11-01T01:30Z"]),
        # New York springs forward 02:00 -> 03:00 on March 14: 02:30 is 03:30 EDT.
        ("America/New_York", "2027-03-10T02:30", ("2027-03-13T00:00Z", "2027-03-16T00:00Z"),
         ["2027-03-13T07:30Z", "2027-03-14T07:30Z", "2027-03-15T06:30Z"]),
        # New York falls back 02:00 -> 01:00 on November 7: 02:30 EST, once.
        ("America/New_York", "2027-11-01T02:30", ("2027-11-06T00:00Z", "2027-11-09T00:00Z"),
         ["2027-11-06T06:30Z", "2027-11-07T07:30Z", "2027-11-08T07:30Z"]),
    ],
    ids=["berlin-spring", "berlin-autumn", "new-york-spring", "new-york-autumn"],
)  # fmt: skip
def test_daily_02_30_on_the_day_clocks_change(
    zone: str, start: str, window: tuple[str, str], expected: list[str]
):
    assert _handoffs(_rotation(zone, start, "daily"), *window) == expected


def test_a_12h_shift_hands_off_at_09_00_and_21_00_on_the_clock_across_a_change():
    rotation = _rotation("America/New_York", "2027-03-13T09:00", "12h")
    found = shifts(rotation, parse_instant("2027-03-13T14:00Z"), parse_instant("2027-03-15T02:00Z"))
    local = [
        s.start.astimezone(ZoneInfo("America/New_York")).strftime("%d %H:%M %Z") for s in found
    ]
    assert local == ["13 09:00 EST", "13 21:00 EST", "14 09:00 EDT", "14 21:00 EDT"]


def test_nobody_is_on_call_before_the_start():
    rotation = _rotation("America/New_York", "2027-03-01T09:00", "weekly")
    assert shifts(rotation, datetime.fromisoformat("2027-02-01T00:00+00:00"),
                  parse_instant("2027-03-01T13:59Z")) == []  # fmt: skip
