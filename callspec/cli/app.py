"""The ``callspec`` group and its entry point: each command loads only when it runs, its
exit code is the one ``sys.exit`` of the program, and click's own errors pass the redactor.

A command module (``callspec.cli.run``...) is imported when its command is called
(or ``--help`` lists every command), so ``callspec run`` pays for nothing another
command needs.  A command returns its result's exit code; :class:`_Redacting`
exits with it.  click prints usage errors itself (``Invalid value for '--api-url':
...``); a value quoted there may hold the token (typed into a URL, or the env's),
so no error path may bypass the redactor, click's included.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Sequence
from typing import Any

import click

from callspec import __version__
from callspec.cli.common import env_redactor

#: Each command's name and the module of ``callspec.cli`` that defines it.
COMMANDS = {
    "check": "check",
    "explain": "explain",
    "import": "importer",
    "init": "init",
    "oncall": "oncall",
    "render": "render",
    "report": "report",
    "run": "run",
    "sandbox": "sandbox",
    "schema": "schema",
    "serve": "serve",
    "validate": "validate",
}


class _Redacting(click.Group):
    """click's group: commands loaded when called, click's exceptions printed through the
    redactor, the command's exit code the process's."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            # Importing the module registers its command (``@cli.command()``).
            importlib.import_module(f"callspec.cli.{COMMANDS[cmd_name]}")
        return self.commands.get(cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            value = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            buffer = io.StringIO()
            e.show(file=buffer)
            sys.stderr.write(env_redactor().text(buffer.getvalue()))
            sys.exit(e.exit_code)
        except click.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        sys.exit(value if isinstance(value, int) else 0)


@click.group(cls=_Redacting, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="callspec")
def cli() -> None:
    """Version-controlled, validated Plivo outbound calls.

    \b
    callspec validate specs/            check every spec; send nothing
    callspec render specs/ -f curl      show the exact requests
    callspec run specs/ --sandbox       place the calls on a local sandbox
    """


def main() -> None:
    """The console-script entry point."""
    # A name or value that is not UTF-8 (read as lone surrogates) prints, on every
    # command, as the bytes it was (surrogateescape, the usual POSIX setting) or as its
    # escape where the stream is strict: never an encoding error after the work is done.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
    cli(prog_name="callspec")
