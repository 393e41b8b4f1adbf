"""What every command shares: error handling, the spec-reading options, typed values.

:func:`handled` turns library errors into a message on stderr and the
contract's exit code, in one place; no Python traceback reaches a user.
:func:`plan_options` adds the options of every command that reads specs and
hands the command one frozen :class:`~callspec.spec.plan.PlanOptions`;
:func:`quiet_option` adds ``--quiet`` to those that check or send.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

if TYPE_CHECKING:
    from datetime import datetime

    from callspec.report.problems import Found
    from callspec.spec.plan import PlanOptions

import click

from callspec.errors import CallspecError, ExitCode, SpecError
from callspec.redact import Redactor, command_redactor, environment_secrets

F = TypeVar("F", bound=Callable[..., Any])


def env_redactor() -> Redactor:
    """Masks the environment's token in any message (a template may echo it)."""
    return Redactor(environment_secrets(os.environ))


def handled(func: F) -> F:
    """The command's exit code: what it returns, or the contract's code of the library error
    it raised, said on stderr (the one place errors become exit codes)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        # The plan builder tells this redactor the declared secrets as it learns them.
        with command_redactor(env_redactor()) as mask:
            return _handled(func, mask, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _handled(func: Callable[..., Any], mask: Redactor, *args: Any, **kwargs: Any) -> int:
    """``func``'s exit code, or its error said on stderr with ``mask``."""
    try:
        code = func(*args, **kwargs)
        return int(code) if code is not None else ExitCode.OK
    except SpecError as e:
        from callspec.report.problems import problems_summary, write_problems

        found: list[Found] = [("error", p) for p in e.problems]
        summary = problems_summary(e.problems)
        write_problems("text", found, sys.stderr, mask, {}, summary=summary)
        return e.exit_code
    except CallspecError as e:
        click.echo(f"callspec: {outside_text(e, mask)}", err=True)
        return e.exit_code
    except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        click.echo("callspec: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except OSError as e:
        if e.errno not in _WRITE_ERRORS or e.filename:
            return _internal(e, mask)
        if _on_stdout(e):  # nothing more can be printed: the rest goes nowhere
            _silence_stdout()
            if e.errno == errno.EPIPE:  # the reader closed the pipe: its choice
                return ExitCode.CALL_FAILED
            click.echo(f"callspec: cannot write the output: {e.strerror}", err=True)
        else:
            click.echo(f"callspec: cannot write: {e.strerror}", err=True)
        return ExitCode.CALL_FAILED
    except Exception as e:  # last resort: a bug in callspec, said plainly
        return _internal(e, mask)


def outside_text(value: object, mask: Redactor | None = None) -> str:
    """An error's words as stderr shows them: the text rule (callspec.text.outside), the
    secrets ``mask`` knows masked (by default the environment's)."""
    from callspec.report.base import shown

    return shown(value, mask or env_redactor())


def _internal(e: BaseException, mask: Redactor) -> int:
    """A bug in callspec, said plainly (never a traceback), the command's secrets masked."""
    click.echo(f"callspec: internal error: {type(e).__name__}: {outside_text(e, mask)}", err=True)
    return ExitCode.CALL_FAILED


#: What a write can fail with that is no bug of callspec's: a full disk, a closed pipe.
_WRITE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EPIPE, errno.EIO, errno.EROFS}
)


def _on_stdout(e: OSError) -> bool:
    """Whether the failed write was to standard output (a frame on the way held it)."""
    streams = {id(sys.stdout), id(getattr(sys.stdout, "buffer", None))}
    tb = e.__traceback__
    while tb is not None:
        if any(id(value) in streams for value in tb.tb_frame.f_locals.values()):
            return True
        tb = tb.tb_next
    return False


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's own flush at
    exit adds no second message (Python's documented way for a closed pipe)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # not a file (a test's capture)
        pass


class FiniteFloat(click.FloatRange):
    """A float within bounds; ``nan`` and ``inf`` are usage errors, not values (exit 2)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def parsed(parse: Callable[[str], Any]) -> Callable[..., Any]:
    """A click callback from a library parser that raises ValueError with a message."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            if isinstance(value, tuple):
                return tuple(parse(v) for v in value)
            return parse(value) if value else None
        except ValueError as e:
            raise click.BadParameter(str(e), ctx, param) from e

    return callback


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


def _instant(text: str) -> Any:
    from callspec.oncall.times import parse_instant  # only when --at is given

    return parse_instant(text)


_PLAN_DECORATORS = [
    click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False)),
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
        "--tag", multiple=True, metavar="TAG", help="Only calls with this tag (repeatable: any)."
    ),
    click.option(
        "--at",
        metavar="TIME",
        callback=parsed(_instant),
        help="Resolve rotations and calendars at this instant, e.g. 2026-12-25T03:00:00Z "
        "(default: now): who would be paged then.",
    ),
    click.option(
        "--unique-destinations",
        is_flag=True,
        help="A destination two calls share is an error (default: a warning).",
    ),
    click.option(
        "--fetch-calendars",
        is_flag=True,
        help="Fetch the calendar URLs of each: {ical: URL} (a sending run always does; "
        "without it the others request nothing a spec names, and warn).",
    ),
]


def quiet_option(func: F) -> F:
    """``--quiet``, shared by the commands that check or send (validate, run, check)."""
    decorator = click.option(
        "--quiet",
        "-q",
        is_flag=True,
        help="Print only problems and the one-line summary.",
    )
    return decorator(func)


def format_option(
    help: str = "How to print problems: text, a JSON list, or GitHub annotations on stdout.",
) -> Callable[[F], F]:
    """``--format text|json|github``: how a command that reads specs prints problems."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "github"]),
        default="text",
        show_default=True,
        help=help,
    )


def plan_options(func: F) -> F:
    """The options of every command that reads specs, handed over as ``paths`` and ``plan``."""

    @functools.wraps(func)
    def wrapper(
        *,
        paths: tuple[Path, ...],
        profiles: Path | None,
        profile: str | None,
        vars_: tuple[tuple[str, str], ...],
        vars_file: Path | None,
        only: tuple[str, ...],
        tag: tuple[str, ...],
        unique_destinations: bool,
        at: datetime | None,
        fetch_calendars: bool,
        **rest: Any,
    ) -> Any:
        from callspec.report.base import OutsideLines
        from callspec.spec.model import PlanOptions  # the spec stage loads only when run

        plan: PlanOptions = PlanOptions(
            profiles=profiles,
            profile=profile,
            vars=vars_,
            vars_file=vars_file,
            only=tuple(only),
            tags=tuple(tag),
            unique_destinations=unique_destinations,
            # Each warning passes the text rule: a file name cannot start a line of its own.
            warnings=cast(TextIO, OutsideLines(sys.stderr, env_redactor())),
            at=at,
            fetch_calendars=fetch_calendars,
        )
        return func(paths=tuple(paths), plan=plan, **rest)

    decorated: Any = wrapper
    for decorator in reversed(_PLAN_DECORATORS):
        decorated = decorator(decorated)
    return decorated  # type: ignore[no-any-return]
