"""Every command's ``--help`` has a summary line and an example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from support import ROOT, invoke

from callspec.cli import cli
from callspec.cli.app import COMMANDS
from callspec.errors import ExitCode
from callspec.sandbox.server import Sandbox, SandboxConfig


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_summary_and_an_example(name: str) -> None:
    result = invoke([name, "--help"])
    assert result.exit_code == 0
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.get_short_help_str(limit=200).strip(), f"{name} has no summary line"
    assert "Example" in result.stdout, f"{name} --help shows no example"
    assert f"callspec {name}" in result.stdout.split("Example", 1)[1]


def test_the_group_lists_every_command() -> None:
    result = invoke(["--help"])
    for name in COMMANDS:
        assert name in result.stdout


def test_the_sandbox_helps_example_run_places_its_calls(tmp_path: Path) -> None:
    """`callspec sandbox --help` ends its example with the run that sends to it: with the
    credentials it names (the sandbox's own) and the example specs' secret, that run places
    the calls; without them it would be refused before sending (exit 4)."""
    shown = invoke(["sandbox", "--help"]).stdout
    exports = dict(re.findall(r"^ +export (PLIVO_AUTH_\w+|PAGER_PIN)=(\S+)", shown, re.M))
    [run] = re.findall(r"^ +callspec (run .*)$", shown, re.M)
    args = shlex.split(run)
    assert args[1:] == ["specs/", "--api-url", "http://127.0.0.1:8555"]
    box = Sandbox(SandboxConfig(port=0)).start()  # as `callspec sandbox` starts it, any port
    try:
        spec = ROOT / "specs" / "oncall.yaml"
        argv = [args[0], str(spec), "--api-url", box.url, "--report", str(tmp_path / "r.json")]
        refused = invoke(argv)
        assert refused.exit_code == ExitCode.REFUSED
        placed = invoke(argv, exports)
        assert placed.exit_code == ExitCode.OK, placed.stderr
    finally:
        box.stop()
    assert sorted(exports) == ["PAGER_PIN", "PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"]
    assert len([c for c in box.calls if c.get("placed")]) == 2
