"""``callspec report``: any format of a finished run's report, rebuilt from its ``report.json``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from callspec.cli.app import cli
from callspec.cli.common import handled, outside_text
from callspec.report.registry import FORMATS


@cli.command()
@click.argument(
    "report_json", metavar="REPORT.json", type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    metavar="FORMAT",
    help="What to write: " + ", ".join(f"{f.name} ({f.help})" for f in FORMATS.values()) + ".",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the --format to this file (default: standard output).",
)
@click.option(
    "--html",
    type=click.Path(path_type=Path, dir_okay=False),
    help="HTML report path: one self-contained page (the same bytes as run --html).",
)
@handled
def report(report_json: Path, fmt: str | None, output: Path | None, html: Path | None) -> int:
    """Write a finished run's report in another format. Exit 2 without an output option.

    Every format a run writes is rendered from the JSON report alone, so each is the
    same as the run's own (masked as a run masks).

    \b
    Examples:
      callspec report .callspec/runs/20240501T120000Z/report.json --html report.html
      callspec report out/report.json --format junit -o junit.xml
      callspec report out/report.json --format text
    """
    from callspec.commands.report import ReportRequest, Wanted, rebuild

    if output is not None and fmt is None:
        raise click.UsageError("-o goes with --format")
    wanted = [Wanted(fmt, output)] if fmt is not None else []
    if html is not None:
        wanted.append(Wanted("html", html, "--html"))
    result = rebuild(ReportRequest(report_json, tuple(wanted)), dict(os.environ), sys.stdout)
    for problem in (result.usage, *result.failures):
        if problem is not None:
            click.echo(f"callspec: {outside_text(problem)}", err=True)
    return result.exit_code()
