"""``callspec check``: request each call's answer_url as Plivo would, and check its XML."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from callspec import defaults
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
    from callspec.spec.plan import PlanOptions

DEFAULT_CHECK_TIMEOUT = defaults.CHECK_TIMEOUT


def check_options(func: F) -> F:
    """``--check-callbacks``, ``--check-timeout`` and ``--check-deadline``: shared by
    ``check`` and ``run --check``."""
    decorated: Any = click.option(
        "--check-deadline",
        type=FiniteFloat(0, 3600, min_open=True),
        default=defaults.CHECK_DEADLINE,
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
) -> int:
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
    from callspec.check.checker import CheckOptions
    from callspec.commands.check import CheckRequest, check
    from callspec.commands.findings import write_findings

    if fmt != "text":  # machine formats: every problem on stdout, nothing else
        plan = replace(plan, warnings=None)
    environ = dict(os.environ)
    options = CheckOptions(
        callbacks=check_callbacks, timeout=check_timeout, deadline=check_deadline
    )
    result = check(CheckRequest(paths, plan, options, quiet), environ)
    write_findings(result, fmt, sys.stdout, sys.stderr, env_redactor(), environ)
    return result.exit_code()
