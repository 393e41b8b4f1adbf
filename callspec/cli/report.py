"""``callspec report``: turn a run's ``report.json`` into another format, after the run."""

from __future__ import annotations

from pathlib import Path

import click

from callspec.cli.app import cli
from callspec.cli.common import env_redactor, handled
from callspec.errors import CallspecError


@cli.command()
@click.argument(
    "report_json", metavar="REPORT.json", type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "--html",
    type=click.Path(path_type=Path, dir_okay=False),
    help="HTML report path: one self-contained page (the same bytes as run --html).",
)
@handled
def report(report_json: Path, html: Path | None) -> None:
    """Write a finished run's report in another format. Exit 2 without an output option.

    \b
    Example:
      callspec report .callspec/runs/20240501T120000Z/report.json --html report.html
    """
    from callspec.report.html import html_of_report_file
    from callspec.report.outputs import same_file, write_output

    if html is None:
        raise click.UsageError("say what to write: --html FILE")
    if same_file(report_json, html):
        raise click.UsageError("--html names the report it reads")
    # Masked as run --html masks (the env's token, URL userinfo): the same bytes.
    page = html_of_report_file(report_json, env_redactor()).encode("utf-8")
    try:
        write_output(html, page)
    except OSError as e:
        raise CallspecError(f"cannot write {html}: {e.strerror or e}") from e
