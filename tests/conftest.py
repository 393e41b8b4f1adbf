"""Shared fixtures: ``run_cli``, the one CLI driver (``support.invoke``) run from a folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import Result
from support import RunCli, invoke

# golden_plugin: --update-golden (tests/cli/test_golden.py); simulation_plugin: the
# handler and sandboxes of the --simulate tests.
pytest_plugins = ["golden_plugin", "simulation_plugin"]


@pytest.fixture(autouse=True)
def _in_an_empty_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test starts in an empty folder of its own: what a command writes by default
    (``.callspec/runs/...``) never lands in the checkout, and no test reads the checkout
    through a relative path by chance (``ROOT`` names it).  The folder sits beside the
    test's ``tmp_path``, not above it, so paths there print as the test wrote them."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


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
