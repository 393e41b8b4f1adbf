"""Template variables: their layers, their precedence, and rendering them in order.

Variables come in layers, lowest precedence first: the profile's ``vars``, its
secrets read from the environment (``secrets: [{env: NAME}]``), the spec's, the
call's, ``--vars-file``, ``--var``.  Each value is itself a template, rendered
against the variables of lower precedence (``--var`` values and secrets from the
environment excepted: they are literal).  ``env``, ``call`` and ``row`` are what
templates see of the environment, the call and its roster row, so no variable may
take those names.  Declared secrets are learned by the mask as soon as they are
rendered, so an error in a later template cannot quote one.

What a variable depends on is kept too: the secrets still to be given (a secret from
the environment that is not set stands as its placeholder, ``${NAME}``, and every
variable made from it waits for it) and, in a call expanded from a roster, whether
it reads the row (else it is the same for every row).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callspec.errors import Location, Problem, SpecError
from callspec.redact import Redactor
from callspec.spec.budget import FileClock
from callspec.spec.documents import get
from callspec.spec.loader import Document, load_file
from callspec.spec.profiles import Profile, RuntimeSecret, Sourced
from callspec.spec.templates import Columns, RenderError, references, render_value
from callspec.spec.validate import miswritten

Layer = Iterable[tuple[str, Sourced]]
RESERVED = {
    "env": "the environment",
    "call": "the call's name and index",
    "row": "the roster row of a call with each:",
}


class Literal(str):
    """A command-line value: used as given, never rendered."""


class Pending(Literal):
    """A secret from the environment that is not set: its stand-in (the profile's example,
    else the placeholder ``${NAME}``) until a live run."""

    secret: RuntimeSecret

    def __new__(cls, secret: RuntimeSecret) -> Pending:
        self = super().__new__(cls, secret.stand_in)
        self.secret = secret
        return self


def runtime_layer(profile: Profile | None, environ: Mapping[str, str]) -> list[tuple[str, Sourced]]:
    """The variables of a profile's secrets from the environment: the value, else a
    :class:`Pending` placeholder (validate, render and a dry run need no secret)."""
    layer = []
    for secret in profile.runtime if profile is not None else ():
        value = environ.get(secret.env)
        held = Literal(value) if value else Pending(secret)
        layer.append((secret.var, Sourced(held, secret.location)))
    return layer


def command_line_layers(
    vars_file: Path | None, given: tuple[tuple[str, str], ...]
) -> tuple[list[dict[str, Sourced]], list[Problem]]:
    """The layers of ``--vars-file`` and ``--var`` (highest), and what is wrong with them."""
    layers: list[dict[str, Sourced]] = []
    problems: list[Problem] = []
    if vars_file is not None:
        try:
            doc: Document | None = load_file(vars_file)
        except SpecError as e:
            problems.extend(e.problems)
            doc = None
        if doc is not None and not isinstance(doc.data, dict):
            problems.append(
                Problem(doc.where(()), "", "a vars file must be a mapping of names to values")
            )
        elif doc is not None:
            layers.append({k: Sourced(v, (doc, (k,))) for k, v in doc.data.items()})
    if given:
        # --var values are literal text: never rendered as templates.
        layers.append({k: Sourced(Literal(v), Location(f"--var {k}")) for k, v in given})
    return layers, problems


def sourced(doc: Document, path: tuple[str | int, ...]) -> list[tuple[str, Sourced]]:
    """The mapping at ``path`` in ``doc`` as (name, value with where it was written)."""
    node = get(doc, *path)
    if not isinstance(node, dict):
        return []
    return [(k, Sourced(v, (doc, (*path, k)))) for k, v in node.items()]


@dataclass
class Variables:
    """The rendered variables of one call, what went wrong, and the mask that knows its secrets."""

    context: dict[str, Any]
    mask: Redactor
    secrets: tuple[tuple[str, str], ...] = ()
    problems: list[Problem] = field(default_factory=list)
    #: A problem is the same for every roster row (the call need not be tried again).
    every_row: bool = False
    #: The secrets each variable waits for (a secret not set, or a variable made from one).
    pending: dict[str, frozenset[RuntimeSecret]] = field(default_factory=dict)
    #: The variables that read the roster row, directly or through another variable.
    from_row: set[str] = field(default_factory=set)

    def waits_for(self, value: Any, rendered: Any) -> frozenset[RuntimeSecret]:
        """The secrets a value (as written, and rendered) waits for: those whose placeholder it
        holds, or that a variable it reads waits for."""
        if not self.pending:
            return frozenset()
        found = {s for ss in self.pending.values() for s in ss if s.placeholder in str(rendered)}
        for name in references(value)[0]:
            found |= self.pending.get(name, frozenset())
        return frozenset(found)

    def reads_row(self, value: Any) -> bool:
        """Whether a value as written reads the roster row, directly or through a variable."""
        names = references(value)[0]
        return "row" in names or bool(names & self.from_row)


def render_variables(
    layers: Iterable[Layer],
    scope: Mapping[str, Any],
    secret_names: set[str],
    mask: Redactor,
    clock: FileClock,
) -> Variables:
    """Render every layer in precedence order; the context also holds ``scope``."""
    found = Variables({}, mask)
    row = scope.get("row")
    columns: tuple[str, ...] = row.columns if isinstance(row, Columns) else ()
    for layer in layers:
        for name, item in layer:
            if name in scope:
                message = f"'{name}' is reserved: templates see {RESERVED[name]} as {name}"
                found.problems.append(Problem(item.location, item.path(name), message))
                found.every_row = True
                continue
            wrong = miswritten(item.value)
            if wrong is not None:
                found.problems.append(Problem(item.location, item.path(name), wrong))
                found.every_row = True
                continue
            try:
                found.context[name] = _render(item.value, {**found.context, **scope}, clock)
            except RenderError as e:
                # A template can only read variables rendered before it, so every
                # secret its error could quote is known to the mask by now.
                problem = Problem(item.location, item.path(name), mask.text(str(e)))
                found.problems.append(problem)
                found.every_row = found.every_row or e.for_every_row(columns)
                continue
            if found.pending or row is not None or isinstance(item.value, Pending):
                _depends(found, name, item.value, row is not None)
            if name in secret_names and found.context[name] and not _placeholder(item.value):
                mask.add([str(found.context[name])])
    context = found.context
    # A placeholder is no secret: it is shown where the value will go (an example is
    # masked like the secret it stands in for).
    if secret_names:
        waiting = found.pending.items()
        placeholders = {n for n, secrets in waiting if _placeholders_only(secrets)}
        known = [n for n in sorted(secret_names) if context.get(n) and n not in placeholders]
        found.secrets = tuple((n, str(context[n])) for n in known)
    context.update(scope)
    return found


def _placeholder(value: Any) -> bool:
    return isinstance(value, Pending) and value.secret.example is None


def _placeholders_only(secrets: frozenset[RuntimeSecret]) -> bool:
    return all(secret.example is None for secret in secrets)


def _depends(found: Variables, name: str, value: Any, has_row: bool) -> None:
    """Note what the variable just rendered waits for, and whether it reads the row."""
    if isinstance(value, Pending):
        found.pending[name] = frozenset({value.secret})
    elif isinstance(value, Literal):  # given as it is: it reads nothing
        found.pending.pop(name, None)
    elif found.pending:
        waits = found.waits_for(value, found.context[name])
        if waits:
            found.pending[name] = waits
        else:
            found.pending.pop(name, None)  # a later layer set it plainly
    if has_row:
        if not isinstance(value, Literal) and found.reads_row(value):
            found.from_row.add(name)
        else:
            found.from_row.discard(name)


def _render(value: Any, context: Mapping[str, Any], clock: FileClock) -> Any:
    if isinstance(value, Literal):
        return str(value)
    return render_value(value, context, clock)
