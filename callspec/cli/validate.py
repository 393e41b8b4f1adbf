"""``callspec validate``: load, render and validate specs; send nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from callspec.cli.app import cli
from callspec.cli.common import handled, plan_options

if TYPE_CHECKING:
    from callspec.spec.plan import Plan, PlanOptions


@cli.command()
@plan_options
@handled
def validate(paths: tuple[Path, ...], plan: PlanOptions) -> None:
    """Load, render and validate specs; send nothing. Exit 3 when any is invalid.

    \b
    Example:
      callspec validate specs/
    """
    from callspec.spec.plan import build_plan  # loaded only when it runs

    click.echo(valid_summary(build_plan(paths, plan, dict(os.environ))))


def valid_summary(plan: Plan) -> str:
    """``OK: 5 calls in 4 files valid``."""
    n, f = len(plan.calls), len(plan.files)
    return f"OK: {n} call{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''} valid"
