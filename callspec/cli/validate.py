"""``callspec validate``: load, render and validate specs; send nothing."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from callspec.cli.app import cli
from callspec.cli.common import env_redactor, format_option, handled, plan_options, quiet_option

if TYPE_CHECKING:
    from callspec.spec.plan import PlanOptions


@cli.command()
@plan_options
@format_option()
@click.option(
    "--changed",
    is_flag=True,
    help="PATHS are changed files (a pre-commit hook): YAML that is no spec is skipped, "
    "a changed profiles file checks the specs that use it.",
)
@quiet_option
@handled
def validate(
    paths: tuple[Path, ...],
    plan: PlanOptions,
    fmt: Literal["text", "json", "github"],
    changed: bool,
    quiet: bool,
) -> int:
    """Load, render and validate specs; send nothing. Exit 3 when any is invalid.

    \b
    Examples:
      callspec validate specs/
      callspec validate specs/ --format github    # annotations on a pull request
      callspec validate --changed a.yaml ci.yml   # what pre-commit runs
    """
    from callspec.commands.findings import write_findings
    from callspec.commands.validate import ValidateRequest, validate  # loaded when it runs

    # Problems and the one-line summary are all validate prints: --quiet (shared with run
    # and check) changes nothing here, so one flag fits every command of a CI recipe.
    del quiet
    if fmt != "text":  # machine formats: every problem and warning on stdout, nothing else
        plan = replace(plan, warnings=None)
    environ = dict(os.environ)
    result = validate(ValidateRequest(paths, plan, changed), environ)
    write_findings(result, fmt, sys.stdout, sys.stderr, env_redactor(), environ)
    return result.exit_code()
