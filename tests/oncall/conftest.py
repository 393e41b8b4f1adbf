"""The rotation tests' fixture: the team of issue 21 in a folder (see oncall_team.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from oncall_team import PROFILES, SPEC


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A folder with the team's profiles.yaml (the rotation) and page.yaml (the page)."""
    (tmp_path / "profiles.yaml").write_text(PROFILES)
    (tmp_path / "page.yaml").write_text(SPEC)
    return tmp_path
