"""A spec without rotations loads nothing of callspec.oncall (nor zoneinfo or the calendar
libraries); one with a rotation loads the package but not icalendar, which only a
calendar read or written needs.  Checked by what is imported, never by timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import ROOT

MINE = ("callspec.oncall", "zoneinfo", "icalendar", "recurring_ical_events")
PROBE = """
import runpy, sys
sys.argv = ["callspec", *sys.argv[1:]]
try:
    runpy.run_module("callspec", run_name="__main__")
except SystemExit:
    pass
print("LOADED:" + ",".join(m for m in {mine!r} if m in sys.modules), file=sys.stderr)
"""


def _loaded(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(mine=MINE), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    assert "OK:" in done.stdout, done.stderr
    return done.stderr.rsplit("LOADED:", 1)[1].strip()


def test_a_spec_without_rotations_loads_nothing_of_oncall() -> None:
    assert _loaded("validate", "specs/oncall.yaml") == ""
    assert _loaded("validate", "specs/") == ""


def test_a_spec_with_a_rotation_loads_oncall_but_no_calendar_library(team: Path) -> None:
    at = "2026-12-10T20:00:00Z"
    assert _loaded("validate", str(team / "page.yaml"), "--at", at) == "callspec.oncall,zoneinfo"
