"""``callspec import postman``: Postman v2.1 Make-a-call items to a spec."""

from __future__ import annotations

import json
from pathlib import Path

import click

from callspec.cli.app import cli
from callspec.cli.common import handled
from callspec.errors import Location, Problem, SpecError, UsageError


@cli.group(name="import")
def import_() -> None:
    """Turn other tools' requests into call specs.

    \b
    Example:
      callspec import postman plivo.postman_collection.json -o specs/imported.yaml
    """


@import_.command()
@click.argument("collection", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Spec file to write (default: stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@handled
def postman(collection: Path, output: Path | None, force: bool) -> None:
    """Make-a-call requests of a Postman v2.1 collection as a spec; others listed as skipped.

    \b
    Example:
      callspec import postman plivo.postman_collection.json -o specs/imported.yaml
    """
    from callspec.spec.postman import import_collection

    if output is not None and output.exists() and not force:
        raise UsageError(f"{output} exists; nothing was written (--force overwrites it)")
    try:
        data = json.loads(collection.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SpecError([Problem(Location(str(collection)), "", f"cannot read JSON: {e}")]) from e
    imported = import_collection(data, collection.name)
    for title, why in imported.skipped:
        click.echo(f"callspec: skipped {title!r}: {why}", err=True)
    for note in imported.notes:
        click.echo(f"callspec: {note}", err=True)
    if output is None:
        click.echo(imported.text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(imported.text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from e
    n = imported.calls
    click.echo(f"wrote {output}: {n} call{'s' if n != 1 else ''}, {len(imported.skipped)} skipped")
