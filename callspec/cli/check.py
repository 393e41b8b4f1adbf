"""``callspec check``: request each call's answer_url as Plivo would, and check its XML."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from callspec.cli.app import cli
from callspec.cli.common import (
    F,
    FiniteFloat,
    env_redactor,
    format_option,
    handled,
    plan_options,
    quiet_option,
)

if TYPE_CHECKING:
    from callspec.errors import Problem
    from callspec.redact import Redactor
    from callspec.spec.plan import PlanOptions

# callspec.check.checker's, without importing it (and the HTTP stack) for --help
DEFAULT_CHECK_TIMEOUT = 5.0
DEFAULT_CHECK_DEADLINE = 60.0


def check_options(func: F) -> F:
    """``--check-callbacks``, ``--check-timeout`` and ``--check-deadline``: shared by
    ``check`` and ``run --check``."""
    decorated: Any = click.option(
        "--check-deadline",
        type=FiniteFloat(0, 3600, min_open=True),
        default=DEFAULT_CHECK_DEADLINE,
        show_default=True,
        metavar="SECONDS",
        help="Time for the whole check, every URL together; a URL not done by then fails.",
    )(func)
    decorated = click.option(
        "--check-timeout",
        type=FiniteFloat(0, 60, min_open=True),
        default=DEFAULT_CHECK_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Time for each check request: connecting, redirects and the body together.",
    )(decorated)
    return click.option(  # type: ignore[no-any-return]
        "--check-callbacks",
        is_flag=True,
        help="Also request ring_url, hangup_url, machine_detection_url and callback_url "
        "(their handlers may act on what they receive).",
    )(decorated)


@cli.command()
@plan_options
@format_option(
    "How to print: text, a JSON object (checks, problems), or GitHub annotations on stdout."
)
@check_options
@quiet_option
@handled
def check(
    paths: tuple[Path, ...],
    plan: PlanOptions,
    fmt: Literal["text", "json", "github"],
    check_callbacks: bool,
    check_timeout: float,
    check_deadline: float,
    quiet: bool,
) -> None:
    """Request each answer_url as Plivo would; check its XML. Exit 3 when a check fails.

    Each call's answer_url and fallback_url (with --check-callbacks also its ring_url,
    hangup_url, machine_detection_url and callback_url) is requested once per distinct
    (URL, method), with the parameters Plivo sends and the header X-Callspec-Check: 1,
    following at most 3 redirects, within --check-timeout, up to 1 MiB; the whole check
    within --check-deadline. No credential from the environment (~/.netrc) is ever sent.
    The body of an answer_url or fallback_url must be valid Plivo XML; each <Redirect> in
    it is checked too. Places no call.

    \b
    Examples:
      callspec check specs/
      callspec check specs/oncall.yaml --check-callbacks
      callspec check specs/ --format github    # annotations on a pull request
      callspec check specs/ --quiet            # only problems and the totals line
    """
    from callspec.check.checker import CheckOptions, check_plan, check_problems, document_of
    from callspec.errors import ExitCode, Location, Problem, SpecError, UsageError
    from callspec.report.checks import check_rows, check_totals
    from callspec.spec.plan import build_plan

    environ = dict(os.environ)
    options = CheckOptions(
        callbacks=check_callbacks, timeout=check_timeout, deadline=check_deadline
    )
    if fmt == "text":
        built = build_plan(paths, plan, environ)
    else:
        try:
            built = build_plan(paths, replace(plan, warnings=None), environ)
        except SpecError as e:
            _print(fmt, [], [("error", p) for p in e.problems], environ, env_redactor())
            sys.exit(e.exit_code)
        except UsageError as e:
            problem = Problem(Location(""), "", str(e))
            _print(fmt, [], [("error", problem)], environ, env_redactor())
            sys.exit(e.exit_code)
    mask = env_redactor()
    mask.add(built.secret_values)
    checks = check_plan(built.calls, options, environ, mask.text)
    problems = check_problems(checks)
    if fmt == "text":
        for line in () if quiet else check_rows(checks, mask):
            click.echo(line)
        for problem in problems:
            click.echo(mask.text(str(problem)), err=True)
        click.echo(check_totals(checks))
    else:
        documents = [mask.value(document_of(c)) for c in checks]
        _print(fmt, documents, [("error", p) for p in problems], environ, mask)
    if problems:
        sys.exit(ExitCode.INVALID)


def _print(
    fmt: Literal["json", "github"],
    documents: list[object],
    items: list[tuple[Literal["error", "warning"], Problem]],
    environ: dict[str, str],
    mask: Redactor,
) -> None:
    from callspec.report.problems import github_commands, problems_json

    if fmt == "json":
        problems = json.loads(problems_json(items))
        click.echo(mask.text(json.dumps({"checks": documents, "problems": problems}, indent=2)))
    else:
        for line in github_commands(items, environ):
            click.echo(mask.text(line))
