"""``callspec oncall``: who is on call in a rotation, at an instant or shift by shift."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from callspec.cli.app import cli
from callspec.cli.common import env_redactor, handled, parsed

if TYPE_CHECKING:
    from callspec.oncall.show import Format


def _instant(text: str) -> Any:
    from callspec.oncall.times import parse_instant

    return parse_instant(text)


@cli.command()
@click.argument("name")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--profiles",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Profiles file (default: $CALLSPEC_PROFILES, else the nearest profiles.yaml).",
)
@click.option(
    "--at",
    metavar="TIME",
    callback=parsed(_instant),
    help="The instant, e.g. 2026-12-25T03:00:00Z (default: now).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    help="Every shift from --at for this many days, instead of who is on call at --at.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ics"]),
    default="table",
    show_default=True,
    help="A table, a JSON list of {layer, name, phone, start, end}, or an iCalendar file.",
)
@handled
def oncall(
    name: str,
    paths: tuple[Path, ...],
    profiles: Path | None,
    at: datetime | None,
    days: int | None,
    fmt: Format,
) -> None:
    """Show who is on call in rotation NAME: at --at (default now), or every shift of --days.

    NAME is a rotation of the specs' or profiles files' `rotations:` (PATHS: spec
    files, folders or a profiles file; none: the nearest profiles.yaml). Overrides
    are applied, quiet hours and gaps noted. Exit 3 when a file is invalid.

    \b
    Examples:
      callspec oncall backend
      callspec oncall backend specs/ --at 2026-12-25T03:00:00Z
      callspec oncall backend --days 28 --format ics > backend.ics
    """
    from callspec.oncall.show import OncallRequest, write
    from callspec.oncall.show import oncall as find_shifts

    request = OncallRequest(name, paths, profiles, at, days)
    result = find_shifts(request, dict(os.environ), lambda: datetime.now(timezone.utc))
    write(result, fmt, sys.stdout, env_redactor().text)
