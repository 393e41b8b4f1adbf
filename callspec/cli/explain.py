"""``callspec explain``: each call's final arguments and where each one came from."""

from __future__ import annotations

import os
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
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table per call, or one JSON document.",
)
@handled
def explain(paths: tuple[Path, ...], plan: PlanOptions, fmt: Literal["text", "json"]) -> None:
    """Show each call's final arguments and where each came from. Send nothing.

    For every argument: its value (secrets masked) and where it was set (a
    profile of the extends chain, the spec's defaults, the call) with file and
    line, then the variables (and their level: a profile's, the spec's or the
    call's vars, --vars-file, --var) and environment variables its template read.
    Invalid specs are reported as validate reports them (exit 3).

    \b
    Examples:
      callspec explain specs/oncall.yaml --only page-primary
      callspec explain specs/ --var service=checkout --format json
    """
    from callspec.report.explain import explain_json, explain_text
    from callspec.spec.explain import explain as explain_calls  # loaded only when it runs

    calls = explain_calls(paths, plan, dict(os.environ))
    text = explain_json(calls) if fmt == "json" else explain_text(calls)
    click.echo(env_redactor().text(text), nl=fmt == "json")
