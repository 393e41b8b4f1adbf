"""The schedule exported as .ics (``callspec oncall --format ics``) and read back with
``each: {ical: ...}`` gives the same people at the same instants: the issue's ten."""

from __future__ import annotations

from pathlib import Path

import pytest
from oncall_team import SPEC
from support import invoke
from test_resolution import TABLE

from callspec.errors import ExitCode
from callspec.oncall.times import parse_instant
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan


@pytest.fixture
def exported(team: Path) -> Path:
    """The team's folder with backend.ics: a year of shifts from the first hand-off's day."""
    args = ["oncall", "backend", str(team / "page.yaml"), "--at", "2026-12-07T00:00:00Z"]
    result = invoke([*args, "--days", "366", "--format", "ics"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout.startswith("BEGIN:VCALENDAR")
    (team / "backend.ics").write_text(result.stdout)
    return team


def _calls(folder: Path, spec: str, at: str) -> list[tuple[str, ...]]:
    (folder / "from-calendar.yaml").write_text(spec)
    plan = build_plan([folder / "from-calendar.yaml"], PlanOptions(at=parse_instant(at)), {})
    return [
        (c.name, c.body["to"], c.body["answer_url"].split("ends=")[1], "held" if c.held else "")
        for c in plan.calls
    ]


@pytest.mark.parametrize(("at", "expected"), TABLE, ids=[at for at, _ in TABLE])
def test_the_calendar_with_the_rotation_s_people_pages_as_the_rotation(
    exported: Path, at: str, expected: list[tuple[str, ...]]
):
    spec = SPEC.replace(
        "{rotation: backend, layers: [primary, secondary]}",
        "{ical: backend.ics, people: backend, layers: [primary, secondary]}",
    )
    assert _calls(exported, spec, at) == expected


@pytest.mark.parametrize(("at", "expected"), TABLE, ids=[at for at, _ in TABLE])
def test_the_calendar_alone_gives_the_same_people_and_phones(
    exported: Path, at: str, expected: list[tuple[str, ...]]
):
    spec = SPEC.replace(
        "{rotation: backend, layers: [primary, secondary]}",
        "{ical: backend.ics, layers: [primary, secondary]}",
    )
    assert [c[:2] for c in _calls(exported, spec, at)] == [e[:2] for e in expected]


def test_a_recurring_event_with_an_exception_is_expanded_by_the_library(tmp_path: Path):
    # A weekly recurring "primary" event for ana, with one week moved to ben.
    (tmp_path / "team.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20261201T000000Z\r\n"
        "DTSTART;TZID=America/New_York:20261207T090000\r\n"
        "DTEND;TZID=America/New_York:20261208T090000\r\n"
        "RRULE:FREQ=WEEKLY\r\nSUMMARY:ana\r\nATTENDEE;CN=ana:tel:+14155550101\r\n"
        "CATEGORIES:primary\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20261201T000000Z\r\n"
        "RECURRENCE-ID;TZID=America/New_York:20261214T090000\r\n"
        "DTSTART;TZID=America/New_York:20261214T090000\r\n"
        "DTEND;TZID=America/New_York:20261215T090000\r\n"
        "SUMMARY:ben\r\nATTENDEE;CN=ben:tel:+14155550102\r\n"
        "CATEGORIES:primary\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    spec = (
        "version: 1\ncalls:\n"
        '  - name: "{{ row.name }}"\n    each: {ical: team.ics}\n'
        '    from: "+14152224444"\n    to: "{{ row.phone }}"\n'
        "    answer_url: https://hooks.example.com/a.xml?ends={{ row.shift_ends }}\n"
    )
    assert _calls(tmp_path, spec, "2026-12-07T15:00:00Z") == [
        ("ana", "+14155550101", "2026-12-08T14:00:00Z", "")
    ]
    assert _calls(tmp_path, spec, "2026-12-14T15:00:00Z") == [
        ("ben", "+14155550102", "2026-12-15T14:00:00Z", "")
    ]
    # After the spring change, the series' 09:00 is 13:00 UTC.
    assert _calls(tmp_path, spec, "2027-03-15T13:30:00Z") == [
        ("ana", "+14155550101", "2027-03-16T13:00:00Z", "")
    ]
    assert _calls(tmp_path, spec, "2026-12-09T15:00:00Z") == []


def test_a_calendar_event_without_a_phone_is_located(tmp_path: Path):
    (tmp_path / "team.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:one@test\r\nDTSTAMP:20261201T000000Z\r\n"
        "DTSTART:20261207T140000Z\r\nDTEND:20261214T140000Z\r\nSUMMARY:ana\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (tmp_path / "page.yaml").write_text(
        "version: 1\ncalls:\n"
        '  - name: "{{ row.name }}"\n    each: {ical: team.ics}\n'
        '    from: "+14152224444"\n    to: "{{ row.phone }}"\n'
        "    answer_url: https://hooks.example.com/a.xml\n"
    )
    result = invoke(["validate", str(tmp_path / "page.yaml"), "--at", "2026-12-08T00:00:00Z"])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.replace(str(tmp_path) + "/", "").splitlines() == [
        "team.ics:5:1: the event on call until 2026-12-14T14:00:00Z has no phone for 'ana' "
        "(a tel: attendee, or a person of the rotation named by 'people:')",
        "callspec: 1 problem; nothing was sent",
    ]


def test_two_folders_calendars_of_one_name_are_each_read(tmp_path: Path):
    for team, phone in (("a", "+14155550101"), ("b", "+14155550102")):
        folder = tmp_path / team
        folder.mkdir()
        (folder / "team.ics").write_text(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{team}@test\r\nDTSTAMP:20261201T000000Z\r\n"
            "DTSTART:20261207T140000Z\r\nDTEND:20261214T140000Z\r\n"
            f"ATTENDEE;CN={team}:tel:{phone}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        (folder / "page.yaml").write_text(
            "version: 1\ncalls:\n"
            f'  - name: "{team}-{{{{ row.name }}}}"\n    each: {{ical: team.ics}}\n'
            '    from: "+14152224444"\n    to: "{{ row.phone }}"\n'
            "    answer_url: https://hooks.example.com/a.xml\n"
        )
    paths = [tmp_path / "a" / "page.yaml", tmp_path / "b" / "page.yaml"]
    plan = build_plan(paths, PlanOptions(at=parse_instant("2026-12-08T00:00:00Z")), {})
    assert [(c.name, c.body["to"]) for c in plan.calls] == [
        ("a-a", "+14155550101"),
        ("b-b", "+14155550102"),
    ]
