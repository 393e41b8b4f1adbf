"""The action's inputs, read from the step's environment and parsed, or refused.

``action.yml`` maps each input to an environment variable (:data:`ENV`); no
input ever reaches a shell.  The rule is to fail closed: an input the step
cannot parse (an unbalanced quote in ``args``, an unknown ``command``) is an
:class:`InputError` (exit 2) and callspec is not started, because running it
without the arguments meant (``--dry-run``, ``--sandbox``, ``--tag``,
``--only``) could ring every phone of every spec for real.

- ``paths``: one path per line when the value has a line break (a path may hold
  spaces), else paths separated by spaces, as before.
- ``args``: split as a POSIX shell splits words (quotes and backslashes), and
  nothing more: no ``$(...)``, no variables, no ``;``.
- ``argv``: one argument per line, exactly as written (no quoting at all); empty
  lines are skipped.  ``args`` come first, then ``argv``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from callspec.errors import UsageError
from callspec.redact import Redactor, environment_secrets
from callspec.text import outside

Command = Literal["validate", "check", "run"]
COMMANDS: tuple[Command, ...] = get_args(Command)

#: What the names of the step's own variables start with (none is callspec's): callspec
#: runs without them.
ENV_PREFIX = "CALLSPEC_ACTION_"
#: The environment variable ``action.yml`` sets for each input.
ENV = {
    "command": "CALLSPEC_ACTION_COMMAND",
    "paths": "CALLSPEC_ACTION_PATHS",
    "profile": "CALLSPEC_ACTION_PROFILE",
    "args": "CALLSPEC_ACTION_ARGS",
    "argv": "CALLSPEC_ACTION_ARGV",
}


class InputError(UsageError):
    """An input of the action that cannot be used as it is; nothing was run."""

    def __init__(self, name: str, message: str) -> None:
        self.input = name
        self.reason = message
        super().__init__(f"inputs.{name}: {message}")


@dataclass(frozen=True)
class StepInputs:
    """The action's inputs, parsed: callspec's command, its paths and its other arguments."""

    command: Command
    paths: tuple[str, ...]
    profile: str
    #: ``args`` then ``argv``, one item per argument.
    extra: tuple[str, ...]


def read_inputs(environ: Mapping[str, str]) -> StepInputs:
    """The inputs from the step's environment; :class:`InputError` for one that cannot be used."""
    command = environ.get(ENV["command"], "")
    if command not in COMMANDS:
        shown = outside(command, Redactor(environment_secrets(environ)).text, 40)
        raise InputError("command", f"must be validate, check or run, not '{shown}'")
    extra = (*split_args(environ.get(ENV["args"], "")), *split_argv(environ.get(ENV["argv"], "")))
    if "--" in extra:
        # The step puts the paths after "--" so that no path can be read as an option.
        raise InputError("args", "'--' is not allowed: give paths in the paths input")
    return StepInputs(
        command=command,
        paths=split_paths(environ.get(ENV["paths"], "")),
        profile=environ.get(ENV["profile"], ""),
        extra=extra,
    )


def split_paths(text: str) -> tuple[str, ...]:
    """One path per line when ``text`` has a line break, else the words of its one line."""
    if "\n" in text:
        return tuple(line.strip() for line in text.split("\n") if line.strip())
    return tuple(text.split())


def split_args(text: str) -> tuple[str, ...]:
    """``text`` split into words as a POSIX shell splits them, expanding nothing."""
    try:
        return tuple(shlex.split(text))
    except ValueError as e:  # "No closing quotation", "No escaped character"
        raise InputError(
            "args",
            f"cannot be split into arguments ({e}); quote it as a POSIX shell would "
            "(don't -> \"don't\"), or give one argument per line in the argv input",
        ) from e


def split_argv(text: str) -> tuple[str, ...]:
    """One argument per line, exactly as written; empty lines skipped."""
    return tuple(line for line in text.split("\n") if line)
