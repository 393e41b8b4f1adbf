"""Explain a plan: each call's final arguments and where each one came from.

This module owns ``callspec explain``'s data.  It builds the plan (so only
valid specs are explained, and a problem is reported as ``validate`` reports
it), then walks each call's resolution again in the plan's order of
precedence (see :mod:`callspec.spec.plan`): arguments from the profile's
``defaults`` along its ``extends`` chain, the spec's ``defaults``, the call;
variables from the profile's ``vars``, the spec's, the call's,
``--vars-file``, ``--var``.  An argument's origins are where it was set, then
every variable its template read (and those variables' own templates read,
each at the level that set it when it was read) and every environment variable.
Values are the plan's own (rendered and normalized), every secret of the run masked
in every call (as ``render`` and ``run`` mask them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callspec.errors import Location
from callspec.redact import Redactor, environment_secrets
from callspec.spec.documents import get
from callspec.spec.loader import Document, load_file
from callspec.spec.model import CallPlan, PlanOptions
from callspec.spec.origins import (
    Origin,
    argument_origin,
    default_origin,
    env_origin,
    row_origin,
    service_origin,
    variable_origin,
)
from callspec.spec.pages import PAGE_KEYS, answer_url_shown, page_settings
from callspec.spec.plan import build_plan
from callspec.spec.profiles import Profile, Sourced
from callspec.spec.templates import references
from callspec.spec.variables import Literal, command_line_layers, runtime_layer, sourced

_NOT_ARGUMENTS = ("name", "tags", "vars", *PAGE_KEYS)


@dataclass(frozen=True)
class ArgumentExplained:
    """One final argument: its value (secrets masked), where it came from (where it was set
    first, then the variables and environment variables its template read), and the
    settings of lower precedence it replaced."""

    name: str
    value: Any
    origins: tuple[Origin, ...]
    overrides: tuple[Origin, ...] = ()


@dataclass(frozen=True)
class CallExplained:
    """One call of the plan and its arguments in the order of the body sent."""

    file: str
    line: int
    name: str
    profile: str | None
    chain: tuple[str, ...]
    profiles_file: str | None
    arguments: tuple[ArgumentExplained, ...]


def explain(
    paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str]
) -> list[CallExplained]:
    """Every selected call of the plan, explained; raises what :func:`build_plan` raises."""
    plan = build_plan(paths, options, environ)
    extra = [
        list(layer.items()) for layer in command_line_layers(options.vars_file, options.vars)[0]
    ]
    docs: dict[str, Document] = {}
    explained = []
    # Every secret of the run masks every call, as render and run do: a value declared
    # secret by one call's profile is as secret where another call writes it plainly.
    mask = Redactor([*environment_secrets(environ), *plan.secret_values])
    for call in plan.calls:
        doc = docs.get(call.spec_file)
        if doc is None:
            doc = docs[call.spec_file] = load_file(Path(call.abs_path), call.spec_file)
        explained.append(_call(doc, call, extra, mask))
    return explained


def _call(
    doc: Document, call: CallPlan, extra: list[list[tuple[str, Sourced]]], mask: Redactor
) -> CallExplained:
    base = ("calls", call.index)
    written: Mapping[str, Any] = doc.data["calls"][call.index]
    profile = call.profile
    # The variables in the order they were rendered (calls.Calls.make's layers).
    variables: list[tuple[str, Sourced]] = [
        *(profile.vars if profile else ()),
        *runtime_layer(profile, {}),  # (each a placeholder here: only where it was declared)
        *sourced(doc, ("vars",)),
        *sourced(doc, (*base, "vars")),
        *(item for layer in extra for item in layer),
    ]
    # Each argument's settings, lowest precedence first (calls.arguments' order).
    settings: dict[str, list[Sourced]] = {}
    for name, item in [
        *_chain_defaults(profile),
        *sourced(doc, ("defaults",)),
        *(
            (k, Sourced(v, (doc, (*base, k))))
            for k, v in written.items()
            if k not in _NOT_ARGUMENTS
        ),
    ]:
        settings.setdefault(name, []).append(item)
    row = row_origin(call.row.file, call.row.line, call.row.number) if call.row else None
    arguments = []
    for name, value in call.body.items():
        found = settings.get(name)
        if not found:  # normalize keeps every name; nothing else can add one
            arguments.append(ArgumentExplained(name, mask.value(value), ()))
            continue
        final = found[-1]
        origins = [argument_origin(final), *_read(final.value, len(variables), variables, row)]
        arguments.append(
            ArgumentExplained(
                name,
                mask.value(value),
                tuple(dict.fromkeys(origins)),
                tuple(argument_origin(item) for item in reversed(found[:-1])),
            )
        )
    arguments += _page(doc, call, base, written, variables, row, mask)
    return CallExplained(
        file=call.spec_file,
        line=call.line,
        name=call.name,
        profile=profile.name if profile else None,
        chain=profile.chain if profile else (),
        profiles_file=profile.file if profile else None,
        arguments=tuple(arguments),
    )


def _page(
    doc: Document,
    call: CallPlan,
    base: tuple[str | int, ...],
    written: Mapping[str, Any],
    variables: list[tuple[str, Sourced]],
    row: Origin | None,
    mask: Redactor,
) -> list[ArgumentExplained]:
    """A page's settings (``message:``, ``voice:``, ``ack:``, ``repeat:``, ``cooldown:``) and
    the ``answer_url`` the answer service makes for its message, after the arguments."""
    found = []
    if call.message is not None:
        service = call.profile.service if call.profile else None
        shown = answer_url_shown(service)
        found.append(ArgumentExplained("answer_url", shown, (service_origin(service),)))
    for name, value, keys in page_settings(call):
        item: Any = written
        for key in keys or ():
            item = item.get(key) if isinstance(item, Mapping) else None
        if keys is None or item is None:
            found.append(ArgumentExplained(name, mask.value(value), (default_origin(),)))
            continue
        source = Sourced(item, (doc, (*base, *keys)))
        origins = [argument_origin(source), *_read(item, len(variables), variables, row)]
        found.append(ArgumentExplained(name, mask.value(value), tuple(dict.fromkeys(origins))))
    return found


def _chain_defaults(profile: Profile | None) -> list[tuple[str, Sourced]]:
    """Every ``defaults`` setting along the profile's ``extends`` chain, parent first (the
    flattened profile keeps only the last of each, so a parent's replaced one is found
    again in the profiles file)."""
    if profile is None:
        return []
    docs = [item.at[0] for _, item in profile.defaults if not isinstance(item.at, Location)]
    if not docs:
        return list(profile.defaults)
    doc = docs[0]
    found = []
    for link in profile.chain:
        for name, value in (get(doc, "profiles", link, "defaults") or {}).items():
            found.append((name, Sourced(value, (doc, ("profiles", link, "defaults", name)))))
    return found


def _read(
    value: Any,
    before: int,
    variables: list[tuple[str, Sourced]],
    row: Origin | None,
    depth: int = 0,
) -> Iterable[Origin]:
    """The origins of what a template rendered at position ``before`` read: each variable
    as set last before that position, what its own template read, the roster row of an
    expanded call, and the environment."""
    if isinstance(value, Literal) or depth > len(variables):
        return  # --var values are never rendered
    names, environment = references(value)
    if row is not None and "row" in names:
        yield row
    for name in sorted(names):
        for position in range(min(before, len(variables)) - 1, -1, -1):
            if variables[position][0] == name:
                item = variables[position][1]
                yield variable_origin(name, item)
                yield from _read(item.value, position, variables, row, depth + 1)
                break
    for name in sorted(environment):
        yield env_origin(name)
