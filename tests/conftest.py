"""Shared fixtures: ``run_cli``, the one CLI driver (``support.invoke``) run from a folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import Result
from support import RunCli, invoke

pytest_plugins = ["golden_plugin"]  # --update-golden: see tests/cli/test_golden.py


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``run_cli("validate", "x.yaml", cwd=..., env={...})``: a click Result (stdout, stderr)."""

    def run(
        *args: object, cwd: Path | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return invoke([str(a) for a in args], env)

    return run
