"""Who is on call at an instant, through the real plan: hand-offs, the override, DST,
quiet hours (the issue's table of ten instants)."""

from __future__ import annotations

from pathlib import Path

import pytest
from oncall_team import ANA, BEN, CLEO, DEV

from callspec.oncall.times import parse_instant
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

HELD = "held"
# (instant, [(call name, phone, shift end, held?)]): primary first, then secondary.
TABLE = [
    # The first hand-off, Monday 09:00 EST; 06:00 in Los Angeles: ana is in quiet hours.
    ("2026-12-07T14:00:00Z",
     [("primary-ana", ANA, "2026-12-14T09:00:00-05:00", HELD),
      ("secondary-ben", BEN, "2026-12-14T09:00:00-05:00", "")]),
    # Mid-week, noon in Los Angeles: ana is paged.
    ("2026-12-10T20:00:00Z",
     [("primary-ana", ANA, "2026-12-14T09:00:00-05:00", ""),
      ("secondary-ben", BEN, "2026-12-14T09:00:00-05:00", "")]),
    # One second before the second hand-off: still ana (05:59 in LA: held).
    ("2026-12-14T13:59:59Z",
     [("primary-ana", ANA, "2026-12-14T09:00:00-05:00", HELD),
      ("secondary-ben", BEN, "2026-12-14T09:00:00-05:00", "")]),
    # The hand-off itself: ben and cleo.
    ("2026-12-14T14:00:00Z",
     [("primary-ben", BEN, "2026-12-16T18:00:00-05:00", ""),
      ("secondary-cleo", CLEO, "2026-12-21T09:00:00-05:00", "")]),
    # The override's first second: cleo covers ben (and is secondary too: paged once).
    ("2026-12-16T23:00:00Z",
     [("primary-cleo", CLEO, "2026-12-18T09:00:00-05:00", "")]),
    # The override's end, 09:00 EST: ben again, to the end of his week.
    ("2026-12-18T14:00:00Z",
     [("primary-ben", BEN, "2026-12-21T09:00:00-05:00", ""),
      ("secondary-cleo", CLEO, "2026-12-21T09:00:00-05:00", "")]),
    # The Monday after spring forward (March 14, 2027): 08:59:59 EDT, before the hand-off.
    ("2027-03-15T12:59:59Z",
     [("primary-ben", BEN, "2027-03-15T09:00:00-04:00", ""),
      ("secondary-cleo", CLEO, "2027-03-15T09:00:00-04:00", "")]),
    # 09:00 EDT is 13:00 UTC now: the hand-off kept its wall-clock time.
    ("2027-03-15T13:00:00Z",
     [("primary-cleo", CLEO, "2027-03-22T09:00:00-04:00", ""),
      ("secondary-dev", DEV, "2027-03-22T09:00:00-04:00", "")]),
    # The Monday after fall back (November 7, 2027): 13:30 UTC is 08:30 EST, before it.
    ("2027-11-08T13:30:00Z",
     [("primary-dev", DEV, "2027-11-08T09:00:00-05:00", ""),
      ("secondary-ana", ANA, "2027-11-08T09:00:00-05:00", HELD)]),
    ("2027-11-08T14:00:00Z",
     [("primary-ana", ANA, "2027-11-15T09:00:00-05:00", HELD),
      ("secondary-ben", BEN, "2027-11-15T09:00:00-05:00", "")]),
]  # fmt: skip


@pytest.mark.parametrize(("at", "expected"), TABLE, ids=[at for at, _ in TABLE])
def test_who_is_paged_at_each_instant(team: Path, at: str, expected: list[tuple[str, ...]]):
    plan = build_plan([team / "page.yaml"], PlanOptions(at=parse_instant(at)), {})
    found = [
        (
            call.name,
            call.body["to"],
            call.body["answer_url"].split("ends=")[1],
            HELD if call.held else "",
        )
        for call in plan.calls
    ]
    assert found == expected


def test_a_held_call_says_whose_quiet_hours_and_until_when(team: Path):
    plan = build_plan([team / "page.yaml"], PlanOptions(at=parse_instant("2026-12-07T14:00Z")), {})
    assert plan.calls[0].held == (
        "quiet hours: ana is not paged 22:00-07:00 America/Los_Angeles (until 2026-12-07 07:00 "
        "PST) by a call that is not urgent (urgent: true in each:, or a tag of the rotation's "
        "urgent_tags)"
    )


def test_an_urgent_call_rings_through_quiet_hours(team: Path):
    spec = (
        (team / "page.yaml")
        .read_text()
        .replace("[primary, secondary]}", "[primary], urgent: true}")
    )
    (team / "page.yaml").write_text(spec)
    plan = build_plan([team / "page.yaml"], PlanOptions(at=parse_instant("2026-12-07T14:00Z")), {})
    assert [(c.name, c.held) for c in plan.calls] == [("primary-ana", None)]


def test_a_tag_of_the_rotation_s_urgent_tags_rings_through(team: Path):
    profiles = (team / "profiles.yaml").read_text() + "    urgent_tags: [sev1]\n"
    (team / "profiles.yaml").write_text(profiles)
    spec = (team / "page.yaml").read_text().replace("    each:", "    tags: [sev1]\n    each:")
    (team / "page.yaml").write_text(spec)
    plan = build_plan([team / "page.yaml"], PlanOptions(at=parse_instant("2026-12-07T14:00Z")), {})
    assert [c.held for c in plan.calls] == [None, None]


def test_the_clock_is_read_once_when_no_instant_is_given(team: Path):
    ticks = []

    def clock():
        ticks.append(1)
        return parse_instant("2026-12-10T20:00:00Z")

    plan = build_plan([team / "page.yaml"], PlanOptions(clock=clock), {})
    assert [c.name for c in plan.calls] == ["primary-ana", "secondary-ben"]
    assert len(ticks) == 1
