"""``callspec schema``: print one of the JSON Schemas, the single source of what is valid."""

from __future__ import annotations

import click

from callspec.cli.app import cli
from callspec.cli.common import handled
from callspec.schemas import SCHEMA_NAMES, SchemaName, schema_path


@cli.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="call")
@handled
def schema(name: SchemaName) -> None:
    """Print one of callspec's JSON Schemas (call, spec, profiles, report).

    \b
    Example:
      callspec schema call > call.schema.json
    """
    click.echo(schema_path(name).read_text(encoding="utf-8"), nl=False)
