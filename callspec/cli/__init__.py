"""The ``callspec`` command line: a thin click layer over the library.

Each command copies its options into a frozen options object and calls one
library function; errors become messages and exit codes in one place,
:func:`_handled`.  No Python traceback reaches a user.
"""

from __future__ import annotations

import functools
import io
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from callspec import __version__
from callspec.cli.interrupts import install_stop_handlers
from callspec.delivery.preview import render_requests
from callspec.delivery.request import check_api_url
from callspec.errors import CallspecError, ExitCode, SpecError, UsageError
from callspec.redact import Redactor, environment_secrets
from callspec.results import Mode
from callspec.sandbox.faults import parse_fault, parse_latency
from callspec.sandbox.server import DEFAULT_AUTH_ID, DEFAULT_AUTH_TOKEN
from callspec.schemas import SCHEMA_NAMES, SchemaName, schema_path
from callspec.spec.plan import Plan, PlanOptions, build_plan

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_BAIL = 5  # callspec.delivery.runner's defaults, without importing the send stage for --help
DEFAULT_MAX_RETRY_WAIT = 300.0


class FiniteFloat(click.FloatRange):
    """A float within bounds; ``nan`` and ``inf`` are usage errors, not values (exit 2)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def _handled(func: F) -> F:
    """Translate library errors into a message on stderr and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as e:
            mask = _env_redactor()
            for problem in e.problems:
                click.echo(mask.text(str(problem)), err=True)
            n = len(e.problems)
            click.echo(f"callspec: {n} problem{'s' if n != 1 else ''}; nothing was sent", err=True)
            sys.exit(e.exit_code)
        except CallspecError as e:
            click.echo(_env_redactor().text(f"callspec: {e}"), err=True)
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


def _env_redactor() -> Redactor:
    """Masks the token of the environment in any message (a template may echo it)."""
    return Redactor(environment_secrets(os.environ))


def _parse_var(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in values:
        name, sep, value = item.partition("=")
        # The value is never quoted back: it may be a secret typed with the wrong separator.
        if not sep:
            raise click.BadParameter("expected NAME=VALUE; there is no '='", ctx, param)
        if not name.isidentifier():
            raise click.BadParameter(f"expected NAME=VALUE; {name!r} is no name", ctx, param)
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
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Profiles file (default: $CALLSPEC_PROFILES, else the nearest profiles.yaml).",
        ),
        click.option(
            "--profile", metavar="NAME", help="Use this profile for every spec, whatever it names."
        ),
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
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="YAML mapping of template variables.",
        ),
        click.option(
            "--only", multiple=True, metavar="NAME", help="Only the call so named (repeatable)."
        ),
        click.option(
            "--tag",
            multiple=True,
            metavar="TAG",
            help="Only calls with this tag (repeatable: any).",
        ),
        click.option(
            "--unique-destinations",
            is_flag=True,
            help="A destination two calls share is an error (default: a warning).",
        ),
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
        unique_destinations=kw["unique_destinations"],
        warnings=sys.stderr,
    )


class _Redacting(click.Group):
    """click's group, with click's own error messages passed through the redactor.

    click prints usage errors itself (``Invalid value for '--api-url': ...``);
    a value quoted there may hold the token (typed into a URL, or the env's),
    so no error path may bypass the redactor, click's included.
    """

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
            sys.stderr.write(_env_redactor().text(buffer.getvalue()))
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
@click.option("--api-url", metavar="URL", help="Base URL instead of the profile's or Plivo's.")
@_handled
def render(paths: tuple[Path, ...], fmt: str, api_url: str | None, **kw: Any) -> None:
    """Print the exact requests the specs make, credentials masked; send nothing.

    The curl format reads the token from $PLIVO_AUTH_TOKEN (and the auth ID from
    $PLIVO_AUTH_ID when the profile does not give it).

    \b
    Example:
      callspec render specs/seed.yaml --format curl
    """
    bad_url = api_url and check_api_url(api_url)
    if bad_url:
        raise click.BadParameter(bad_url, param_hint="--api-url")
    plan = build_plan(paths, _options(kw))
    redactor = Redactor(environment_secrets(os.environ), userinfo=fmt != "curl")
    redactor.add(s for c in plan.calls for s in c.secret_values)
    out = render_requests(plan, fmt, api_url, dict(os.environ), redactor)  # type: ignore[arg-type]
    click.echo(redactor.text(out))


@cli.command()
@plan_options
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON report path (default .callspec/runs/<time>/report.json).",
)
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="JUnit XML path.")
@click.option("--dry-run", is_flag=True, help="Do everything but send.")
@click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Start the embedded sandbox on 127.0.0.1 and send there.",
)
@click.option(
    "--api-url", metavar="URL", help="Base URL instead of the profile's or https://api.plivo.com."
)
@click.option(
    "--rate",
    type=FiniteFloat(0.001, 1_000_000),
    help="Calls per second over the whole run, 0.001 to 1e6 (default: the profile's, else 2).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0, 3600, min_open=True),
    default=10.0,
    show_default=True,
    help="Read timeout in seconds, at most 3600 (connect: at most 5 s).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries of attempts that surely placed no call (refused, 429, 503).",
)
@click.option(
    "--max-calls",
    type=click.IntRange(min=1),
    help="Refuse a run that would place more calls (default: the profile's).",
)
@click.option(
    "--journal",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Journal path (default: beside the report).",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Skip calls this journal shows fired or queued; append to it.",
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="With --resume: send again calls whose outcome is unknown.",
)
@click.option(
    "--resume-anyway",
    is_flag=True,
    help="With --resume: trust a journal that matches no call of this run, records no "
    "target, or was written against another target.",
)
@click.option(
    "--bail",
    type=click.IntRange(min=0),
    default=DEFAULT_BAIL,
    show_default=True,
    help="Stop sending after N calls in a row get no certain answer (0: never).",
)
@click.option(
    "--max-retry-wait",
    type=FiniteFloat(0, 86_400),
    default=DEFAULT_MAX_RETRY_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="Retry waiting the whole run may spend; calls still waiting then fail, not sent.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Force the progress bar on or off (default: a bar on a terminal).",
)
@_handled
def run(paths: tuple[Path, ...], **kw: Any) -> None:
    """Validate the whole run, then place the calls and write a report.

    Exit 0 when every call fired or was queued, 1 when any failed or its outcome
    is unknown, 3 when any spec is invalid (nothing sent), 4 when refused by a
    guard (nothing sent), 130 when interrupted.

    \b
    Examples:
      callspec run specs/ --sandbox
      callspec run specs/oncall.yaml --tag sev1 --report out/report.json
      callspec run specs/ --resume out/report.journal.jsonl
    """
    from callspec.delivery.http import Timeouts
    from callspec.delivery.runner import RunOptions
    from callspec.execute import Outputs, execute  # the send stage loads only for run

    for flag in ("retry_unknown", "resume_anyway"):
        if kw[flag] and not kw["resume"]:
            raise click.UsageError(f"--{flag.replace('_', '-')} goes with --resume")
    if kw["dry_run"] and kw["use_sandbox"]:
        raise click.UsageError("--dry-run and --sandbox do not go together")
    bad_url = kw["api_url"] and check_api_url(kw["api_url"])
    if bad_url:
        raise click.BadParameter(bad_url, param_hint="--api-url")
    mode: Mode = "dry-run" if kw["dry_run"] else "live"
    timeout = kw["timeout"]
    options = RunOptions(
        mode=mode,
        api_url=kw["api_url"],
        rate=kw["rate"],
        concurrency=kw["concurrency"],
        timeouts=Timeouts(connect=min(5.0, timeout), read=timeout),
        retries=kw["retries"],
        max_calls=kw["max_calls"],
        journal=kw["journal"],
        resume=kw["resume"],
        retry_unknown=kw["retry_unknown"],
        resume_anyway=kw["resume_anyway"],
        bail=kw["bail"],
        max_retry_wait=kw["max_retry_wait"],
    )
    outputs = Outputs(report=kw["report"], junit=kw["junit"], progress=kw["progress"])
    stop = threading.Event()
    restore = install_stop_handlers(stop, sys.stderr)
    out = sys.stdout
    err = sys.stderr
    try:
        result, _ = execute(
            paths,
            _options(kw),
            options,
            outputs,
            dict(os.environ),
            out,
            err,
            stop,
            sandbox=kw["use_sandbox"],
        )
    finally:
        restore()
    sys.exit(result.exit_code())


def _parsed(parse: Callable[[str], Any]) -> Callable[..., Any]:
    """A click callback from a library parser that raises ValueError with a message."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            if isinstance(value, tuple):
                return tuple(parse(v) for v in value)
            return parse(value) if value else None
        except ValueError as e:
            raise click.BadParameter(str(e), ctx, param) from e

    return callback


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8555,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option("--auth-id", default=DEFAULT_AUTH_ID, show_default=True, help="Accepted auth ID.")
@click.option(
    "--auth-token",
    default=DEFAULT_AUTH_TOKEN,
    help="Accepted auth token (default: the sandbox's own, see README).",
)
@click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append one JSON line per call treated as placed (and per injected 4xx or 503).",
)
@click.option(
    "--cps",
    type=click.IntRange(min=1),
    help="Calls beyond N in the current second are answered 200 'call queued'.",
)
@click.option(
    "--latency",
    callback=_parsed(parse_latency),
    metavar="MS|MIN-MAX",
    help="Delay every answer by MS (or a random MIN-MAX) milliseconds.",
)
@click.option(
    "--fail",
    "faults",
    multiple=True,
    callback=_parsed(parse_fault),
    metavar="STATUS:FRACTION",
    help="Answer FRACTION of valid calls with STATUS, e.g. 500:0.1 (repeatable).",
)
@click.option(
    "--retry-after", type=FiniteFloat(0, 3600), help="Retry-After seconds on injected 429/503."
)
@click.option(
    "--drop",
    type=FiniteFloat(0, 1),
    default=0.0,
    help="Fraction of calls placed, then the connection closed without an answer.",
)
@click.option(
    "--hang",
    type=FiniteFloat(0, 1),
    default=0.0,
    help="Fraction of calls placed, then never answered.",
)
@click.option("--seed", type=int, help="Seed for fault choices (deterministic runs).")
@_handled
def sandbox(**kw: Any) -> None:
    """Serve a local Plivo-compatible Make-a-call API, for trials and CI.

    It checks basic auth and every argument with the same schema as callspec,
    answers as Plivo does (201 call fired, 200 call queued over --cps, 400/401
    with Plivo's error shape), and can inject faults. Ctrl-C stops it.

    \b
    Example:
      callspec sandbox --port 8555 --cps 2 --fail 503:0.1 --seed 7
      callspec run specs/ --api-url http://127.0.0.1:8555
    """
    from callspec.sandbox.server import Sandbox, SandboxConfig

    config = SandboxConfig(
        host=kw["host"],
        port=kw["port"],
        auth_id=kw["auth_id"],
        auth_token=kw["auth_token"],
        record=kw["record"],
        cps=kw["cps"],
        latency_ms=kw["latency"] or (0.0, 0.0),
        faults=kw["faults"],
        retry_after=kw["retry_after"],
        drop=kw["drop"],
        hang=kw["hang"],
        seed=kw["seed"],
        log=sys.stderr,
    )
    try:
        box = Sandbox(config)
    except OSError as e:
        raise UsageError(f"cannot listen on {kw['host']}:{kw['port']}: {e.strerror or e}") from e
    click.echo(f"callspec sandbox: listening on {box.url} (auth ID {config.auth_id}); Ctrl-C stops")
    try:
        box.serve_forever()
    except KeyboardInterrupt:
        click.echo("callspec sandbox: stopped", err=True)
    finally:
        box.stop()


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
