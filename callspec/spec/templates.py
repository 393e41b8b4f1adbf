"""Rendering of spec values: which strings are templates, and the value with each rendered.

This module owns turning a value as written (a string that may hold a template,
or a list or mapping of them) into the value with every template rendered.
The environment is Jinja's :class:`SandboxedEnvironment` with a strict
undefined: a missing variable, an unset environment variable, a syntax error,
a sandbox violation or a template over its budget (see budget.py: sizes,
integers, loop iterations, time) is a :class:`RenderError` whose message a
person reads.  Jinja itself (the environment, compiled templates: jinja_env.py)
loads only when a string holds template syntax: a spec without any renders at no
cost and never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callspec.spec.budget import FileClock

_MARKERS = ("{{", "{%", "{#")
#: The environment variables that hold callspec's own credentials, whatever profile is used.
CREDENTIAL_ENV = frozenset({"PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"})


class RenderError(Exception):
    """A template could not be rendered; the message says why, without a traceback.

    Each kind is a subclass, so that a caller asks the error, never its words, whether
    the template is wrong whatever the roster row (:meth:`for_every_row`).
    """

    #: Where in the value rendered (:func:`render_value`) the failing string sits: keys
    #: and indexes from the value down (``("f",)`` for a mapping's entry ``f``).
    within: tuple[str | int, ...] = ()

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        """True when every row of a roster with ``columns`` fails alike: the spec's problem,
        reported once at the spec's line."""
        return False


class TemplateSyntaxError(RenderError):
    """The template does not parse."""

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class UndefinedVariable(RenderError):
    """The template reads a variable no layer defines (a row defines none)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class UnsetEnvironment(RenderError):
    """The template reads an environment variable that is not set, without a default."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class CredentialRead(RenderError):
    """The template reads one of callspec's own credentials from the environment."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"template error: env.{name} is callspec's own credential, which no template may "
            "read (only a profile's auth_id and auth_token, for a send): a template could "
            "carry it to another host (docs/secrets.md)"
        )
        self.name = name

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class MissingColumn(RenderError):
    """The template reads ``row.<column>`` that this row does not have."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return self.column not in columns  # in no row: a typo in the spec


class SandboxViolation(RenderError):
    """The template does what the sandbox forbids (reaching into Python objects)."""

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class OverBudget(RenderError):
    """The template went over one of its limits (size, integer, loop iterations)."""


class FileOverBudget(OverBudget):
    """The file's templates together took longer than their time: every later one fails."""

    def for_every_row(self, columns: tuple[str, ...]) -> bool:
        return True


class EnvVars(Mapping[str, str]):
    """The process environment as seen by templates: ``env.NAME``, ``env['NAME']``.

    callspec's own credentials (:data:`CREDENTIAL_ENV`, and whatever a profile's
    ``auth_id``/``auth_token`` read: :meth:`hide`) are not there to read: reading one
    is a :class:`CredentialRead`, and listing the environment leaves them out.
    """

    def __init__(self, environ: Mapping[str, str], hidden: Iterable[str] = CREDENTIAL_ENV) -> None:
        self._environ = environ
        self._hidden = set(hidden)
        self._later: list[Callable[[], Iterable[str]]] = []

    def hide(self, names: Callable[[], Iterable[str]]) -> None:
        """Keep the names ``names()`` gives from templates too (the variables a profile's
        credentials read), worked out when a template first reads the environment: finding
        them parses templates, which a spec that reads no environment never pays for."""
        self._later.append(names)

    def _hidden_names(self) -> set[str]:
        while self._later:
            self._hidden.update(self._later.pop()())
        return self._hidden

    def __getitem__(self, key: str) -> str:
        if key in self._hidden_names():
            raise CredentialRead(key)
        return self._environ[key]

    def __iter__(self) -> Iterator[str]:
        hidden = self._hidden_names()
        return (name for name in self._environ if name not in hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # By identity, so rendered templates can be remembered per environment.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


class Columns(dict[str, Any]):
    """A roster row as templates see it: ``row.phone`` reads the column, even one named
    like a dict method (``row.items``), and a missing column is named with the ones there are.
    """

    def __init__(self, values: Mapping[str, Any], source: str, columns: tuple[str, ...]) -> None:
        super().__init__(values)
        self.source = source
        self.columns = columns

    def missing(self, name: str) -> MissingColumn:
        """The error for a column this row lacks, with the nearest column's name."""
        from callspec.spec.validate import suggest

        there = ", ".join(self.columns) or "none"
        hint = suggest(name, self.columns)
        columns = f"(its columns: {there}; and row.index)"
        message = f"column '{name}' is not in {self.source}{hint} {columns}"
        return MissingColumn(message, name)

    # By identity, like EnvVars: a row is never a key of a remembered rendering.
    __hash__ = object.__hash__  # type: ignore[assignment]


def has_template(text: str) -> bool:
    """True when ``text`` holds Jinja markup."""
    return "{" in text and any(m in text for m in _MARKERS)


def render_text(text: str, context: Mapping[str, Any], clock: FileClock | None = None) -> str:
    """Render one string; plain strings come back unchanged at no cost (Jinja unloaded).

    ``clock`` is the time budget of the file the string is in (none: its own).
    """
    if not has_template(text):
        return text
    from callspec.spec import jinja_env  # Jinja loads with the first template

    return jinja_env.render_text(text, context, clock)


def references(value: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The variables and environment variables the templates in ``value`` read.

    ``(variables, environment)``: names read by name, and ``env.NAME`` or
    ``env['NAME']`` (strings in a list or mapping included).  A template that does
    not parse reads nothing (its error is the plan's to report).
    """
    if isinstance(value, list):
        texts = [v for v in value if isinstance(v, str)]
    elif isinstance(value, dict):
        texts = [v for v in value.values() if isinstance(v, str)]
    else:
        texts = [value] if isinstance(value, str) else []
    names: set[str] = set()
    environ: set[str] = set()
    for text in (t for t in texts if has_template(t)):
        from callspec.spec import jinja_env  # Jinja loads with the first template

        read, env = jinja_env.references(text)
        names.update(read)
        environ.update(env)
    return frozenset(names), frozenset(environ)


def render_value(value: Any, context: Mapping[str, Any], clock: FileClock | None = None) -> Any:
    """Render every string inside ``value`` (lists and mappings included); a failure says
    which entry failed (:attr:`RenderError.within`)."""
    if isinstance(value, str):
        return render_text(value, context, clock) if "{" in value else value
    if isinstance(value, list):
        return [_entry(i, v, context, clock) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _entry(k, v, context, clock) for k, v in value.items()}
    return value


def _entry(key: str | int, value: Any, context: Mapping[str, Any], clock: FileClock | None) -> Any:
    """One entry of a list or mapping rendered; a failure names the entry."""
    try:
        return render_value(value, context, clock)
    except RenderError as e:
        e.within = (key, *e.within)
        raise
