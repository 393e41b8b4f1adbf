"""Template variables: their layers, their precedence, and rendering them in order.

Variables come in layers, lowest precedence first: the profile's ``vars``,
the spec's, the call's, ``--vars-file``, ``--var``.  Each value is itself a
template, rendered against the variables of lower precedence (``--var``
values excepted: they are literal).  ``env`` and ``call`` are what templates
see of the environment and the call, so no variable may take those names.
Declared secrets are learned by the mask as soon as they are rendered, so an
error in a later template cannot quote one.
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
from callspec.spec.profiles import Sourced
from callspec.spec.templates import RenderError, render_value
from callspec.spec.validate import miswritten

Layer = Iterable[tuple[str, Sourced]]
RESERVED = {
    "env": "the environment",
    "call": "the call's name and index",
    "row": "the roster row of a call with each:",
}


class Literal(str):
    """A command-line value: used as given, never rendered."""


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


def render_variables(
    layers: Iterable[Layer],
    scope: Mapping[str, Any],
    secret_names: set[str],
    mask: Redactor,
    clock: FileClock,
) -> Variables:
    """Render every layer in precedence order; the context also holds ``scope``."""
    found = Variables({}, mask)
    for layer in layers:
        for name, item in layer:
            if name in scope:
                message = f"'{name}' is reserved: templates see {RESERVED[name]} as {name}"
                found.problems.append(Problem(item.location, item.path(name), message))
                continue
            wrong = miswritten(item.value)
            if wrong is not None:
                found.problems.append(Problem(item.location, item.path(name), wrong))
                continue
            try:
                found.context[name] = _render(item.value, {**found.context, **scope}, clock)
            except RenderError as e:
                # A template can only read variables rendered before it, so every
                # secret its error could quote is known to the mask by now.
                problem = Problem(item.location, item.path(name), mask.text(str(e)))
                found.problems.append(problem)
                continue
            if name in secret_names and found.context[name]:
                mask.add([str(found.context[name])])
    context = found.context
    found.secrets = tuple((n, str(context[n])) for n in sorted(secret_names) if context.get(n))
    context.update(scope)
    return found


def _render(value: Any, context: Mapping[str, Any], clock: FileClock) -> Any:
    if isinstance(value, Literal):
        return str(value)
    return render_value(value, context, clock)
