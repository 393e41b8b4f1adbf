"""The ``callspec`` command line: a thin click layer over the library.

Each command copies its options into a frozen options object and calls one
library function; errors become messages and exit codes in one place,
:func:`_handled`.  No Python traceback reaches a user.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from callspec import __version__
from callspec.errors import CallspecError, ExitCode, SpecError
from callspec.plan import Plan, PlanOptions, build_plan
from callspec.redact import Redactor
from callspec.request import AUTH_ID_PLACEHOLDER, api_url_for, build_request, known_auth_id, to_curl
from callspec.schemas import SCHEMA_NAMES, SchemaName, schema_path

F = TypeVar("F", bound=Callable[..., Any])


def _handled(func: F) -> F:
    """Translate library errors into a message on stderr and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as e:
            for problem in e.problems:
                click.echo(str(problem), err=True)
            n = len(e.problems)
            click.echo(f"callspec: {n} problem{'s' if n != 1 else ''}; nothing was sent", err=True)
            sys.exit(e.exit_code)
        except CallspecError as e:
            click.echo(f"callspec: {e}", err=True)
            sys.exit(e.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("callspec: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Exception as e:  # last resort: a bug in callspec, said plainly
            click.echo(f"callspec: internal error: {type(e).__name__}: {e}", err=True)
            sys.exit(ExitCode.CALL_FAILED)

    return wrapper  # type: ignore[return-value]


def _parse_var(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", ctx, param)
        pairs.append((name, value))
    return tuple(pairs)


def plan_options(func: F) -> F:
    """The options every command that reads specs shares."""
    decorators = [
        click.argument(
            "paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False)
        ),
        click.option(
            "--profiles",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Profiles file (default: $CALLSPEC_PROFILES, else the nearest profiles.yaml).",
        ),
        click.option("--profile", help="Use this profile for every spec, whatever it names."),
        click.option(
            "--var",
            "vars_",
            multiple=True,
            callback=_parse_var,
            metavar="NAME=VALUE",
            help="Set a template variable (highest precedence; repeatable).",
        ),
        click.option(
            "--vars-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="YAML mapping of template variables.",
        ),
        click.option("--only", multiple=True, metavar="NAME", help="Only the call(s) so named."),
        click.option("--tag", multiple=True, metavar="TAG", help="Only calls with this tag."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _options(kw: dict[str, Any]) -> PlanOptions:
    return PlanOptions(
        profiles=kw["profiles"],
        profile=kw["profile"],
        vars=kw["vars_"],
        vars_file=kw["vars_file"],
        only=tuple(kw["only"]),
        tags=tuple(kw["tag"]),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="callspec")
def cli() -> None:
    """Version-controlled, validated Plivo outbound calls.

    \b
    callspec validate specs/            check every spec; send nothing
    callspec render specs/ -f curl      show the exact requests
    callspec run specs/ --sandbox       place the calls on a local sandbox
    """


@cli.command()
@plan_options
@_handled
def validate(paths: tuple[Path, ...], **kw: Any) -> None:
    """Load, render and validate specs; send nothing. Exit 3 when any is invalid.

    \b
    Example:
      callspec validate specs/
    """
    plan = build_plan(paths, _options(kw))
    click.echo(_valid_summary(plan))


def _valid_summary(plan: Plan) -> str:
    n, f = len(plan.calls), len(plan.files)
    return f"OK: {n} call{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''} valid"


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
@click.option("--api-url", help="Base URL instead of the profile's or Plivo's.")
@_handled
def render(paths: tuple[Path, ...], fmt: str, api_url: str | None, **kw: Any) -> None:
    """Print the exact requests the specs make, credentials masked; send nothing.

    The curl format reads the token from $PLIVO_AUTH_TOKEN (and the auth ID from
    $PLIVO_AUTH_ID when the profile does not give it).

    \b
    Example:
      callspec render specs/seed.yaml --format curl
    """
    plan = build_plan(paths, _options(kw))
    redactor = Redactor(s for c in plan.calls for s in c.secret_values)
    environ = dict(os.environ)
    token = environ.get("PLIVO_AUTH_TOKEN")
    redactor.add([token] if token else [])
    items: list[dict[str, Any]] = []
    chunks: list[str] = []
    for call in plan.calls:
        auth_id = known_auth_id(call, environ)
        request = build_request(call, api_url_for(call, api_url), auth_id or AUTH_ID_PLACEHOLDER)
        if fmt == "curl":
            chunks.append(
                f"# {call.spec_file}: {call.name}\n{to_curl(request, auth_id is not None)}"
            )
        else:
            items.append(
                {
                    "spec_file": call.spec_file,
                    "call": call.name,
                    "method": "POST",
                    "url": request.url,
                    "headers": {**request.headers, "Authorization": "Basic ***"},
                    "body": dict(request.body),
                }
            )
    if fmt == "curl":
        out = "\n\n".join(chunks)
    elif fmt == "json":
        out = json.dumps(items, indent=2)
    else:
        out = yaml.safe_dump(items, sort_keys=False, allow_unicode=True).rstrip("\n")
    click.echo(redactor.text(out))


@cli.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="call")
@_handled
def schema(name: SchemaName) -> None:
    """Print one of callspec's JSON Schemas (call, spec, profiles, report).

    \b
    Example:
      callspec schema call > call.schema.json
    """
    click.echo(schema_path(name).read_text(encoding="utf-8"), nl=False)


def main() -> None:
    """The console-script entry point."""
    cli(prog_name="callspec")
