"""``--at`` and a rotation's dates are bounded (far from datetime's ends, where a hand-off
overflowed into an internal error), and so is a shift's length."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import invoke

from callspec.errors import ExitCode

RANGE = "from 1900-01-01T00:00:00Z, before 9000-01-01T00:00:00Z"


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
@pytest.mark.parametrize(
    "command", [["oncall", "backend"], ["validate"], ["render"], ["explain"], ["run", "--dry-run"]]
)
def test_an_instant_out_of_range_is_a_usage_error(team: Path, command: list[str], at: str):
    result = invoke([*command, str(team / "page.yaml"), "--at", at])
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert f"'{at}' is out of range: write an instant {RANGE}" in result.stderr


def test_a_shift_of_more_days_than_datetime_counts_is_located(team: Path):
    from oncall_team import PROFILES

    (team / "profiles.yaml").write_text(
        PROFILES.replace("shift: weekly", "shift: 999999999999999999999d")
    )
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert result.exit_code == ExitCode.INVALID, result.stderr
    assert result.stderr.replace(str(team) + "/", "").splitlines() == [
        "profiles.yaml:9:12: rotations.backend.shift: '999999999999999999999d' is not a shift "
        "from 1h to 366d",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_rotation_starting_in_year_1_is_located(team: Path):
    from oncall_team import PROFILES

    (team / "profiles.yaml").write_text(
        PROFILES.replace('start: "2026-12-07T09:00"', 'start: "0001-01-01T00:00"')
    )
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert result.exit_code == ExitCode.INVALID, result.stderr
    assert result.stderr.replace(str(team) + "/", "").splitlines() == [
        "profiles.yaml:8:12: rotations.backend.start: '0001-01-01T00:00' is out of range: "
        f"write a date {RANGE}",
        "callspec: 1 problem; nothing was sent",
    ]
