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
    from callspec.errors import Problem
    from callspec.report.problems import Severity
    from callspec.spec.plan import Plan, PlanOptions


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
) -> None:
    """Load, render and validate specs; send nothing. Exit 3 when any is invalid.

    \b
    Examples:
      callspec validate specs/
      callspec validate specs/ --format github    # annotations on a pull request
      callspec validate --changed a.yaml ci.yml   # what pre-commit runs
    """
    from callspec.errors import Location, Problem, SpecError, UsageError
    from callspec.spec.plan import build_plan  # loaded only when it runs

    # Problems and the one-line summary are all validate prints: --quiet (shared with run
    # and check) changes nothing here, so one flag fits every command of a CI recipe.
    del quiet
    environ = dict(os.environ)
    if changed:
        from callspec.spec.files import hook_targets

        targets = hook_targets(paths, environ)
        _check_profiles(targets.profiles, fmt, environ)
        paths = targets.specs
        if not paths:
            if fmt == "text":
                click.echo("OK: no spec among the changed files")
            elif fmt == "json":
                click.echo("[]")
            return
    if fmt == "text":
        click.echo(valid_summary(build_plan(paths, plan, environ)))
        return
    # Machine formats: every problem and warning on stdout in that format, nothing else.
    try:
        built = build_plan(paths, replace(plan, warnings=None), environ)
    except SpecError as e:
        _print_problems(fmt, [("error", p) for p in e.problems], environ)
        sys.exit(e.exit_code)
    except UsageError as e:  # stdout stays JSON (or annotations) whatever went wrong
        _print_problems(fmt, [("error", Problem(Location(""), "", str(e)))], environ)
        sys.exit(e.exit_code)
    _print_problems(fmt, [("warning", p) for p in built.warnings], environ)


def _check_profiles(
    files: tuple[Path, ...], fmt: Literal["text", "json", "github"], environ: dict[str, str]
) -> None:
    """Each changed profiles file on its own (a file no spec uses is checked too)."""
    from callspec.errors import SpecError
    from callspec.spec.files import display_path
    from callspec.spec.profiles import ProfilesFile

    problems: list[Problem] = []
    for path in files:
        try:
            ProfilesFile.load(path, display_path(path), env_redactor().text)
        except SpecError as e:
            problems.extend(e.problems)
    if not problems:
        return
    if fmt == "text":
        raise SpecError(problems)
    _print_problems(fmt, [("error", p) for p in problems], environ)
    sys.exit(SpecError.exit_code)


def _print_problems(
    fmt: Literal["json", "github"],
    items: list[tuple[Severity, Problem]],
    environ: dict[str, str],
) -> None:
    from callspec.report.problems import github_commands, problems_json

    mask = env_redactor()
    if fmt == "json":
        click.echo(mask.text(problems_json(items)))
    else:
        for line in github_commands(items, environ):
            click.echo(mask.text(line))


def valid_summary(plan: Plan) -> str:
    """``OK: 5 calls in 4 files valid``."""
    n, f = len(plan.calls), len(plan.files)
    return f"OK: {n} call{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''} valid"
