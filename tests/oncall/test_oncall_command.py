"""``callspec oncall NAME [PATHS] [--at T] [--days N] [--format table|json|ics]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import invoke

from callspec.errors import ExitCode


def test_who_is_on_call_at_an_instant(team: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(team)  # no PATHS: the profiles file found from here
    result = invoke(["oncall", "backend", "--at", "2026-12-17T00:00:00Z"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout.splitlines() == [
        "rotation backend (America/New_York, weekly hand-offs): on call at 2026-12-16 19:00 "
        "EST (2026-12-17T00:00:00Z)",
        "layer      name  phone         from                  until                 note",
        "primary    cleo  +14155550103  2026-12-16 18:00 EST  2026-12-18 09:00 EST  covers ben",
        "secondary  cleo  +14155550103  2026-12-14 09:00 EST  2026-12-21 09:00 EST",
    ]


def test_quiet_hours_are_noted_at_the_instant(team: Path):
    result = invoke(["oncall", "backend", str(team / "page.yaml"), "--at", "2026-12-07T14:00Z"])
    assert result.stdout.splitlines()[2] == (
        "primary    ana   +14155550101  2026-12-07 09:00 EST  2026-12-14 09:00 EST  "
        "in quiet hours 22:00-07:00 America/Los_Angeles"
    )


def test_every_shift_for_days_as_json(team: Path):
    args = ["oncall", "backend", str(team / "profiles.yaml"), "--at", "2026-12-16T00:00:00Z"]
    result = invoke([*args, "--days", "3", "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.stderr
    entries = json.loads(result.stdout)
    assert [(e["layer"], e["name"], e["start"], e["end"], e["covers"]) for e in entries] == [
        ("primary", "ben", "2026-12-14T14:00:00Z", "2026-12-16T23:00:00Z", None),
        ("secondary", "cleo", "2026-12-14T14:00:00Z", "2026-12-21T14:00:00Z", None),
        ("primary", "cleo", "2026-12-16T23:00:00Z", "2026-12-18T14:00:00Z", "ben"),
        ("primary", "ben", "2026-12-18T14:00:00Z", "2026-12-21T14:00:00Z", None),
    ]
    assert entries[0]["phone"] == "+14155550102"


def test_a_gap_is_shown_as_nobody(team: Path):
    args = ["oncall", "backend", str(team / "page.yaml"), "--at", "2026-12-06T14:00:00Z"]
    result = invoke([*args, "--days", "2", "--format", "json"])
    entries = json.loads(result.stdout)
    assert [(e["layer"], e["name"], e["start"], e["end"]) for e in entries[:2]] == [
        ("primary", None, "2026-12-06T14:00:00Z", "2026-12-07T14:00:00Z"),
        ("secondary", None, "2026-12-06T14:00:00Z", "2026-12-07T14:00:00Z"),
    ]
    table = invoke([*args, "--days", "2"]).stdout.splitlines()
    assert table[2] == (
        "primary    -     -             2026-12-06 09:00 EST  2026-12-07 09:00 EST  "
        "GAP: nobody is on call"
    )


def test_an_unknown_rotation_names_the_nearest(team: Path):
    result = invoke(["oncall", "backnd", str(team / "page.yaml")])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        f"callspec: no rotation 'backnd' in {team}/page.yaml, {team}/profiles.yaml; did you "
        "mean 'backend'? (rotations: backend)\n"
    )


def test_a_bad_instant_is_a_usage_error(team: Path):
    result = invoke(["oncall", "backend", str(team / "page.yaml"), "--at", "2026-12-25 03:00"])
    assert result.exit_code == ExitCode.USAGE
    assert "'2026-12-25 03:00' is not an instant: write a date, a time and an offset" in (
        result.stderr
    )


def test_at_is_refused_for_a_live_run(team: Path):
    result = invoke(["run", str(team / "page.yaml"), "--at", "2026-12-25T03:00:00Z"])
    assert result.exit_code == ExitCode.USAGE
    assert "--at goes with --dry-run or --sandbox" in result.stderr


def test_quiet_hours_are_noted_in_the_json(team: Path):
    args = ["oncall", "backend", str(team / "page.yaml"), "--at", "2026-12-07T14:00:00Z"]
    result = invoke([*args, "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert [(e["layer"], e["name"], e["quiet"]) for e in json.loads(result.stdout)] == [
        ("primary", "ana", "22:00-07:00 America/Los_Angeles"),
        ("secondary", "ben", None),
    ]


def test_explain_at_an_instant_shows_who_is_on_call_then(team: Path):
    # The week after the first hand-off: ben is primary, cleo secondary.
    result = invoke(["explain", str(team / "page.yaml"), "--at", "2026-12-15T14:00:00Z"])
    assert result.exit_code == ExitCode.OK, result.stderr
    lines = result.stdout.splitlines()
    calls = [line.split()[1] for line in lines if line and not line.startswith(" ")]
    assert calls == ["primary-ben", "secondary-cleo"]
    assert "ends=2026-12-21T09:00:00-05:00" in result.stdout
