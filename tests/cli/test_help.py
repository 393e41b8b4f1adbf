"""Every command's ``--help`` has a summary line and an example."""

from __future__ import annotations

import click
import pytest
from support import invoke

from callspec.cli import cli
from callspec.cli.app import COMMANDS


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
