"""A calendar's events are checked before the library expands them: more events than the
bound, a rule with too many periods to walk (an event's or a time zone's) or too many
occurrences, a rule that cannot be read (or with an INTERVAL under 1), a time that is no
time, an end before the start (DTEND or DURATION) are located errors at the property's
line, found in bounded work (each hostile file runs in a memory-capped subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_callspec

from callspec.errors import ExitCode

SPEC = (
    "version: 1\ncalls:\n"
    '  - name: "{{ row.name }}"\n    each: {ical: team.ics}\n'
    '    from: "+14152224444"\n    to: "{{ row.phone }}"\n'
    "    answer_url: https://hooks.example.com/a.xml\n"
)


def _calendar(folder: Path, times: str, before: str = "") -> None:
    """team.ics with one event for ana; ``times`` (its DTSTART, DTEND, RRULE) from line 7
    (``before``: components written before it, from line 4)."""
    (folder / "team.ics").write_text(
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{before}"
        "BEGIN:VEVENT\r\nUID:one@test\r\nDTSTAMP:20261201T000000Z\r\n"
        f"{times}SUMMARY:ana\r\nATTENDEE;CN=ana:tel:+14155550101\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (folder / "page.yaml").write_text(SPEC)


def _stderr(folder: Path, command: str) -> list[str]:
    # A bounded address space: the old expansion of every occurrence since 1900 took
    # 200 MB to 1 GB and minutes; it now stops at the budget's count.
    args = [command, "page.yaml", "--at", "2026-12-10T00:00:00Z"]
    result = run_callspec(args, folder, timeout=120, memory=1024 * 1024 * 1024)
    assert result.returncode == ExitCode.INVALID, result.stderr
    return result.stderr.splitlines()


def _steps(rule: str, start: str, steps: str, end: str = "2026-12-10T00:00:00Z") -> str:
    return (
        f"the repeating rule takes too many steps to expand: FREQ={rule} every 1 from DTSTART "
        f"{start} to {end} is about {steps} steps, over the 1,000,000 the calendar's rules "
        "may take together (a rule is walked from its start, one period at a time); start "
        "the series later, nearer the time asked about, or repeat it at a coarser FREQ"
    )


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_rule_repeating_every_second_since_1900_is_refused_at_its_line(
    tmp_path: Path, command: str
):
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n",
    )
    assert _stderr(tmp_path, command) == [
        "team.ics:9:1: " + _steps("SECONDLY", "1900-01-01T00:00:00Z", "4,005,849,601"),
        "callspec: 1 problem; nothing was sent",
    ]


@pytest.mark.parametrize(
    ("rule", "steps"),
    [
        # Never matching (no February 30th): dateutil walks every second, every minute.
        ("SECONDLY;BYMONTH=2;BYMONTHDAY=30", "4,005,849,601"),
        ("MINUTELY;COUNT=999999999;BYMONTH=2;BYMONTHDAY=30", "66,764,161"),
        ("SECONDLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=3;BYMINUTE=3;BYSECOND=3", "4,005,849,601"),
    ],
)
def test_a_rule_walking_too_many_periods_is_refused_however_few_it_matches(
    tmp_path: Path, rule: str, steps: str
):
    _calendar(
        tmp_path,
        f"DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\nRRULE:FREQ={rule}\r\n",
    )
    assert _stderr(tmp_path, "validate") == [
        "team.ics:9:1: " + _steps(rule.split(";")[0], "1900-01-01T00:00:00Z", steps),
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_rule_with_more_occurrences_than_the_budget_is_refused_at_its_line(tmp_path: Path):
    # 46,000 days since 1900 (few steps), 24 occurrences each: over 100,000.
    hours = ",".join(str(h) for h in range(24))
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\n"
        f"RRULE:FREQ=DAILY;BYHOUR={hours}\r\n",
    )
    assert _stderr(tmp_path, "validate") == [
        "team.ics:9:1: the event repeats too often: more than 100,000 occurrences of the "
        "calendar's repeating events between their starts (DTSTART) and "
        "2026-12-10T00:00:00Z; a repeating event is expanded from its start, so start the "
        "series nearer the time asked about, or repeat it less often",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_twelve_hour_shift_series_since_1900_is_expanded(tmp_path: Path):
    # About 92,000 steps and occurrences: under both bounds.
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T120000Z\r\nRRULE:FREQ=HOURLY;INTERVAL=12\r\n",
    )
    args = ["validate", "page.yaml", "--at", "2026-12-10T00:00:00Z"]
    result = run_callspec(args, tmp_path, timeout=120, memory=1024 * 1024 * 1024)
    assert (result.returncode, result.stdout) == (ExitCode.OK, "OK: 1 call in 1 file valid\n")


def test_more_events_than_the_bound_are_refused_at_the_first_past_it(tmp_path: Path):
    # The old check stopped at 20,000 events while the library expanded every one: the
    # last (every second since 1900) ran for minutes.
    harmless = "".join(
        f"BEGIN:VEVENT\r\nUID:h{i}@test\r\nDTSTART:20261101T000000Z\r\n"
        "DTEND:20261101T010000Z\r\nSUMMARY:ana\r\nEND:VEVENT\r\n"
        for i in range(20_000)
    )
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n",
        before=harmless,
    )
    assert _stderr(tmp_path, "validate") == [
        f"team.ics:{3 + 6 * 20_000 + 1}:1: the calendar has 20,001 events: at most 20,000 "
        "are read (export a shorter range, or split it into calendars)",
        "callspec: 1 problem; nothing was sent",
    ]


ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Team/Zone\r\n"
    "BEGIN:STANDARD\r\nDTSTART:{start}\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\n"
    "RRULE:{rule}\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nTZOFFSETFROM:+0000\r\n"
    "TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
)
IN_ZONE = "DTSTART;TZID=Team/Zone:20261209T000000\r\nDTEND;TZID=Team/Zone:20261211T000000\r\n"


def test_a_time_zone_rule_repeating_every_minute_is_refused_at_its_line(tmp_path: Path):
    # Reading the event's time walked the zone's rule every minute from 1900: minutes.
    zone = ZONE.format(start="19000101T000000", rule="FREQ=MINUTELY")
    _calendar(tmp_path, IN_ZONE, before=zone)
    assert _stderr(tmp_path, "validate") == [
        "team.ics:10:1: the repeating rule takes too many steps to expand: FREQ=MINUTELY every "
        "1 from DTSTART 1900-01-01T00:00:00Z to 9999-12-31T00:00:00Z is about 4,260,186,721 "
        "steps, over the 10,000 a time zone's rule may take (a rule is walked from its start, "
        "one period at a time); a time zone's rule is walked from its start each time a time "
        "of the zone is read: start it later, end it (UNTIL), or repeat it at a coarser FREQ",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_yearly_time_zone_rule_since_1601_is_read(tmp_path: Path):
    # As Outlook writes its zones: 8,400 steps, under the zone bound.
    zone = ZONE.format(start="16011028T030000", rule="FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")
    _calendar(tmp_path, IN_ZONE, before=zone)
    args = ["validate", "page.yaml", "--at", "2026-12-10T00:00:00Z"]
    result = run_callspec(args, tmp_path, timeout=120, memory=1024 * 1024 * 1024)
    assert (result.returncode, result.stdout) == (ExitCode.OK, "OK: 1 call in 1 file valid\n")


@pytest.mark.parametrize("command", [["validate"], ["render"], ["explain"], ["run", "--dry-run"]])
@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("FREQ=FORTNIGHTLY", "Expected frequency, got: FORTNIGHTLY"),
        (
            "FREQ=DAILY;INTERVAL=99999999999999999999",
            "Integer 99999999999999999999 is outside the RFC 5545 range [-2147483648, 2147483647]",
        ),
    ],
)
def test_a_rule_that_cannot_be_read_is_located_not_an_internal_error(
    tmp_path: Path, command: list[str], rule: str, why: str
):
    _calendar(tmp_path, f"DTSTART:20261201T000000Z\r\nDTEND:20261201T010000Z\r\nRRULE:{rule}\r\n")
    args = [*command, "page.yaml", "--at", "2026-12-10T00:00:00Z"]
    result = run_callspec(args, tmp_path, timeout=120, memory=1024 * 1024 * 1024)
    assert result.returncode == ExitCode.INVALID, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"team.ics:9:1: the repeating rule cannot be read: '{rule}' ({why})"
    )


def test_a_broken_rule_holding_a_declared_secret_is_masked(tmp_path: Path):
    _calendar(
        tmp_path,
        "DTSTART:20261201T000000Z\r\nDTEND:20261201T010000Z\r\nRRULE:FREQ=secretpin1234\r\n",
    )
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars: {pin: secretpin1234}\n"
    )
    assert _stderr(tmp_path, "validate") == [
        "team.ics:9:1: the repeating rule cannot be read: 'FREQ=***' "
        "(Expected frequency, got: ***)",
        "callspec: 1 problem; nothing was sent",
    ]


def test_an_event_starting_before_1900_is_refused_at_its_line(tmp_path: Path):
    _calendar(tmp_path, "DTSTART:18991231T000000Z\r\nDTEND:20261214T140000Z\r\n")
    assert _stderr(tmp_path, "validate") == [
        "team.ics:7:1: the event starts (DTSTART 1899-12-31T00:00:00Z) outside the years a "
        "calendar may hold: from 1900-01-01T00:00:00Z, before 9000-01-01T00:00:00Z",
        "callspec: 1 problem; nothing was sent",
    ]


@pytest.mark.parametrize(
    ("duration", "why"),
    [
        (
            "-P30D",
            "the event ends (DURATION -P30D: 2026-11-09T00:00:00Z) before it starts "
            "(DTSTART 2026-12-09T00:00:00Z)",
        ),
        (
            "P99999999W",
            "the event lasts too long (DURATION P699999993D from DTSTART "
            "2026-12-09T00:00:00Z): it must end before 9000-01-01T00:00:00Z",
        ),
    ],
)
def test_a_duration_ending_before_the_start_or_past_the_years_is_located(
    tmp_path: Path, duration: str, why: str
):
    _calendar(tmp_path, f"DTSTART:20261209T000000Z\r\nDURATION:{duration}\r\n")
    assert _stderr(tmp_path, "validate") == [
        f"team.ics:8:1: {why}",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_rule_with_interval_0_is_refused_at_its_line(tmp_path: Path):
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T010000Z\r\nRRULE:FREQ=HOURLY;INTERVAL=0\r\n",
    )
    assert _stderr(tmp_path, "validate") == [
        "team.ics:9:1: the repeating rule's INTERVAL is 0: it must be 1 or more",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_rule_whose_count_ends_it_early_is_expanded(tmp_path: Path):
    # Every second since 1900, but only 10 times: nothing near the budget.
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\nRRULE:FREQ=SECONDLY;COUNT=10\r\n",
    )
    args = ["validate", "page.yaml", "--at", "2026-12-10T00:00:00Z"]
    result = run_callspec(args, tmp_path, memory=1024 * 1024 * 1024)
    assert result.returncode == ExitCode.OK, result.stderr


def test_an_event_that_ends_before_it_starts_is_located(tmp_path: Path):
    _calendar(tmp_path, "DTSTART:20261214T140000Z\r\nDTEND:20261207T140000Z\r\n")
    assert _stderr(tmp_path, "validate") == [
        "team.ics:8:1: the event ends (DTEND 2026-12-07T14:00:00Z) before it starts "
        "(DTSTART 2026-12-14T14:00:00Z)",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_broken_time_holding_a_declared_secret_is_masked_at_its_line(tmp_path: Path):
    _calendar(tmp_path, "DTSTART:secretpin1234\r\nDTEND:20261214T140000Z\r\n")
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars: {pin: secretpin1234}\n"
    )
    assert _stderr(tmp_path, "validate") == [
        "team.ics:7:1: DTSTART is not a date or a time: '***'",
        "callspec: 1 problem; nothing was sent",
    ]
