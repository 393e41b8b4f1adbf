"""``callspec init``: a starter profiles file and spec in a folder."""

from __future__ import annotations

from pathlib import Path

import click

from callspec.cli.app import cli
from callspec.cli.common import handled


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
@handled
def init(folder: Path) -> None:
    """Write a starter profiles.yaml and specs/example.yaml; overwrite nothing.

    The profiles file reads credentials from $PLIVO_AUTH_ID and $PLIVO_AUTH_TOKEN;
    .callspec/ (where runs write their reports) is added to .gitignore.

    \b
    Example:
      callspec init oncall && callspec validate oncall/specs/
    """
    from callspec.spec.starter import next_steps, write_starter

    for path in write_starter(folder):
        click.echo(f"wrote {path}")
    click.echo(next_steps(folder))
