"""``callspec render``: the exact requests the specs make, credentials masked."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from callspec.cli.app import cli
from callspec.cli.common import env_redactor, handled, plan_options

if TYPE_CHECKING:
    from callspec.spec.plan import PlanOptions


@cli.command()
@plan_options
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["json", "yaml", "curl"]),
    default="json",
    show_default=True,
    help="How to print the requests.",
)
@click.option("--api-url", metavar="URL", help="Base URL instead of the profile's or Plivo's.")
@handled
def render(
    paths: tuple[Path, ...],
    plan: PlanOptions,
    fmt: Literal["json", "yaml", "curl"],
    api_url: str | None,
) -> int:
    """Print the exact requests the specs make, credentials masked; send nothing.

    The curl format reads the token from $PLIVO_AUTH_TOKEN (and the auth ID from
    $PLIVO_AUTH_ID when the profile does not give it).

    \b
    Example:
      callspec render specs/seed.yaml --format curl
    """
    from callspec.commands.findings import write_findings
    from callspec.commands.render import RenderRequest, render  # loaded only when it runs

    # (--api-url is checked once the profiles are loaded: their secrets are masked)
    environ = dict(os.environ)
    result = render(RenderRequest(paths, plan, fmt, api_url), environ)
    write_findings(result, "text", sys.stdout, sys.stderr, env_redactor(), environ)
    return result.exit_code()
