"""A calendar's events are checked before the library expands them: a rule repeating too
often (or with an INTERVAL under 1), a time that is no time, an end before the start are
located errors at the property's line, found in bounded work."""

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


def _calendar(folder: Path, times: str) -> None:
    """team.ics with one event for ana; ``times`` (its DTSTART, DTEND, RRULE) from line 7."""
    (folder / "team.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
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


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_rule_repeating_every_second_since_1900_is_refused_at_its_line(
    tmp_path: Path, command: str
):
    _calendar(
        tmp_path,
        "DTSTART:19000101T000000Z\r\nDTEND:19000101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n",
    )
    assert _stderr(tmp_path, command) == [
        "team.ics:9:1: the event repeats too often: more than 100,000 occurrences of the "
        "calendar's repeating events between their starts (DTSTART) and "
        "2026-12-10T00:00:00Z; a repeating event is expanded from its start, so start the "
        "series nearer the time asked about, or repeat it less often",
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
