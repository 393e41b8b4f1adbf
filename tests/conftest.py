"""Shared fixtures: the CLI driven in-process through click's CliRunner."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callspec.cli import cli

pytest_plugins = ["golden_plugin"]  # --update-golden: see tests/test_golden.py
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "tests" / "examples"

# Variables that change what a spec resolves to: unset for every run unless a test sets them.
CLEAN_ENV: dict[str, str | None] = {
    "CALLSPEC_PROFILES": None,
    "PLIVO_AUTH_ID": None,
    "PLIVO_AUTH_TOKEN": None,
    "PAGER_PIN": None,
    "CALLSPEC_TEST_SURELY_UNSET": None,
}

RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``run_cli("validate", "x.yaml", cwd=..., env={...})``: a click Result (stdout, stderr)."""

    def run(
        *args: object, cwd: Path | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(cli, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})})
        # No Python traceback reaches a user: any exception must have become an exit code.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert "Traceback" not in result.output
        return result

    return run
