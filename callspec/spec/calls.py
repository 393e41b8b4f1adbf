"""One call of a spec (or one roster row of it) made ready to send.

This module owns the render and validate steps of the pipeline (see plan.py) for a
single call: its variables are rendered in precedence order (variables.py), its
arguments merged (profile ``defaults``, spec ``defaults``, the call), every
template rendered, the body normalized and checked against the call schema and
the cross-field rules (validate.py), and its numbers read as Plivo reads them
(numbers.py).  An argument that waits for a secret given only to send is checked
when it is given.

Problems are located where they were written: a problem of a value that reads
the roster row at the row's line, any other at the spec's, once however many
rows share it (the call is then not tried for its other rows: each would fail
alike).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from callspec.errors import Location, Problem, SpecError
from callspec.redact import Redactor
from callspec.spec.budget import FileClock
from callspec.spec.escalation import escalation_of, escalation_problem
from callspec.spec.expand import row_label
from callspec.spec.loader import Document, format_path, load_file
from callspec.spec.model import CallPlan
from callspec.spec.numbers import NumberIssue, check_numbers
from callspec.spec.pages import ANSWER_URL_STAND_IN, PAGE_KEYS, message_of
from callspec.spec.problems import Found
from callspec.spec.profiles import Profile, RuntimeSecret, Sourced
from callspec.spec.templates import EnvVars, RenderError, has_template, references, render_value
from callspec.spec.validate import BodyIssue, check_body, normalize
from callspec.spec.variables import Variables, render_variables, runtime_layer, sourced

if TYPE_CHECKING:
    from callspec.spec.rosters import Row  # rosters load only for a call with each:

Layer = list[tuple[str, Sourced]]
_NOT_ARGUMENTS = frozenset({"name", "tags", "vars", "each", "each_where", "escalate", *PAGE_KEYS})
_NOTHING: frozenset[str] = frozenset()


class Entry(NamedTuple):
    """What one call is made from: its spec, its place there, its profile, name and row.

    (A named tuple, as :class:`Made`: one of each is made per call of a 10,000-call spec,
    and a frozen dataclass costs several times as much to make.)
    """

    doc: Document
    #: Its place in the spec's ``calls`` (``calls[3]``).
    call_index: int
    call: Mapping[str, Any]
    profile: Profile | None
    file_vars: Layer
    file_defaults: Layer
    name: str
    row: Row | None
    #: The spec file's identity and absolute path (see :class:`CallPlan`).
    paths: tuple[str, str]
    #: Who a schedule had on call for this row (``each: {rotation|ical}``; see CallPlan).
    on_call: tuple[tuple[str, str], ...] | None = None


class Made(NamedTuple):
    """A call ready to send, or None (its problems are recorded); ``every_row``: its
    problems are the same for every roster row, so its other rows need not be tried."""

    call: CallPlan | None
    every_row: bool = False
    #: Where its ``to`` is reported (location and path), for a destination another call
    #: rings: worked out only then.
    to: Callable[[], Problem] | None = None


class Calls:
    """Makes the calls of a run; shares the environment, the command line's variables and
    where problems and warnings go."""

    def __init__(
        self,
        env: EnvVars,
        environ: Mapping[str, str],
        extra_layers: list[dict[str, Sourced]],
        env_secrets: list[str],
        problems: Found,
        warnings: Found,
    ) -> None:
        self.env, self.environ = env, environ
        self.extra_layers, self.env_secrets = extra_layers, env_secrets
        self.problems, self.warnings = problems, warnings
        self.mask = Redactor(env_secrets)  # the environment's secrets, which every call masks
        self.clock = FileClock()  # the rendering time of the file being planned
        #: Every name a template read (kept when --var was given: one no template reads
        #: is named); None: not kept.
        self.read: set[str] | None = None

    def make(self, entry: Entry) -> Made:
        """Variables, then arguments, then the body: each step only when the last was clean."""
        doc, index, profile, row = entry.doc, entry.call_index, entry.profile, entry.row
        base = ("calls", index)
        where = _Where(doc, base, entry.name, row)
        layers: list[Any] = [
            profile.vars if profile else (),
            runtime_layer(profile, self.environ) if profile and profile.runtime else (),
            entry.file_vars,
            sourced(doc, (*base, "vars")),
            *(layer.items() for layer in self.extra_layers),
        ]
        scope: dict[str, Any] = {"env": self.env, "call": {"name": entry.name, "index": index}}
        if row is not None:
            scope["row"] = row.scope()
        secret_names = set(profile.secrets if profile else ())
        # A call's mask learns its declared secrets; without any, one mask serves them all.
        mask = Redactor(self.env_secrets) if secret_names else self.mask
        found = render_variables(layers, scope, secret_names, mask, self.clock)
        if found.problems:
            self.problems.extend(found.problems)
            return Made(None, found.every_row)
        args = arguments(doc, base, entry.call, profile, entry.file_defaults)
        if self.read is not None:
            _note_reads(self.read, layers, args, entry.call)
        made_url = "message" in entry.call  # the answer service's, made when it is sent
        body, pending, every_row = self._body(where, args, found, profile, made_url)
        message = None
        if any(key in entry.call for key in PAGE_KEYS):
            message, sound = message_of(
                entry.call, doc, base, args,
                lambda value: render_value(value, found.context, self.clock),
                found.reads_row, where.row.columns if where.row is not None else (),
                lambda source, arg, text, alike: self.problems.add(
                    where.problem(source, arg, found.mask.text(text), alike)
                ),
            )  # fmt: skip
            body = body if sound else None
        if body is None:
            return Made(None, every_row)
        planned = CallPlan(
            spec_file=doc.file,
            line=doc.where(base).line,
            index=index,
            name=entry.name,
            tags=tuple(entry.call.get("tags", ())),
            profile=profile,
            body=body,
            secrets=found.secrets,
            spec_path=entry.paths[0],
            abs_path=entry.paths[1],
            row=row.origin if row is not None else None,
            held=row.held if row is not None else None,
            on_call=entry.on_call,
            pending=pending,
            message=message,
            cooldown=entry.call.get("cooldown"),
        )
        to = functools.partial(where.problem, args.get("to"), "to", "", False)
        if "escalate" not in entry.call:
            return Made(planned, to=to)
        escalate = escalation_of(entry.call, f"{doc.file}:{planned.line}", planned.spec_path)
        wrong = escalation_problem(escalate, body, "each" in entry.call, "ack" in entry.call)
        if wrong is not None:
            keys = ("escalate", wrong[0]) if wrong[0] else ("escalate",)
            path = f"calls[{index}].{'.'.join(keys)}"
            self.problems.add(Problem(doc.where((*base, *keys)), path, wrong[1]))
            return Made(None)
        return Made(replace(planned, escalate=escalate), to=to)

    def _body(
        self,
        where: _Where,
        args: Mapping[str, Sourced],
        found: Variables,
        profile: Profile | None,
        made_url: bool = False,
    ) -> tuple[dict[str, Any] | None, tuple[RuntimeSecret, ...], bool]:
        """(the rendered, normalized, valid body or None, the secrets it waits for, whether
        its problems are the same for every roster row); ``made_url``: its answer_url is
        made when it is sent (checked with a stand-in)."""
        mask = found.mask.text
        columns = where.row.columns if where.row is not None else ()
        rendered: dict[str, Any] = {}
        every_row = False
        for arg, item in args.items():
            try:
                rendered[arg] = render_value(item.value, found.context, self.clock)
            except RenderError as e:
                alike = e.for_every_row(columns)
                every_row = every_row or alike
                at, path = _entry_of(item, arg, e.within)
                self.problems.add(where.problem(at, path, mask(str(e)), alike))
        if len(rendered) < len(args):
            return None, (), every_row
        body = normalize(rendered)
        waiting = _waiting(found, args, rendered) if found.pending else {}
        # An argument that holds a secret's placeholder is checked when it is given (a live
        # run); one that holds its example is checked now.
        unchecked = _NOTHING
        if waiting:
            unchecked = frozenset(
                a for a, ss in waiting.items() if any(s.example is None for s in ss)
            )
        checked = {**body, "answer_url": ANSWER_URL_STAND_IN} if made_url else body
        issues: Sequence[BodyIssue | NumberIssue] = check_body(checked, mask)
        if unchecked:
            issues = [i for i in issues if i.arg not in unchecked]
        if not issues:
            countries = profile.countries if profile else ()
            issues = check_numbers(body, countries, mask, unchecked)
        if issues:
            every_row = self._report(where, args, found, issues) or every_row
            if any(not isinstance(i, NumberIssue) or not i.warning for i in issues):
                return None, (), every_row
        if not waiting:
            return body, (), False
        pending = {s.env: s for secrets in waiting.values() for s in secrets}
        return body, tuple(pending.values()), False

    def _report(
        self,
        where: _Where,
        args: Mapping[str, Sourced],
        found: Variables,
        issues: Sequence[BodyIssue | NumberIssue],
    ) -> bool:
        """Record each issue where it belongs (a number's warning among the warnings);
        whether one of them is the same for every roster row."""
        every_row = False
        for issue in issues:
            source = args.get(issue.arg) if issue.arg is not None else None
            alike = where.row is None or source is None or not found.reads_row(source.value)
            problem = where.problem(source, issue.arg, found.mask.text(issue.message), alike)
            if isinstance(issue, NumberIssue) and issue.warning:
                self.warnings.add(problem)
            else:
                every_row = every_row or alike
                self.problems.add(problem)
        return every_row


def _note_reads(
    read: set[str], layers: list[Any], args: Mapping[str, Sourced], call: Mapping[str, Any]
) -> None:
    """Add to ``read`` the names the call's templates read (only when --var was given):
    its variables', its arguments', and those of the keys rendered beside the arguments
    (``message``, ``voice``: see :func:`~callspec.spec.pages.message_of`)."""
    for layer in layers:
        for _, item in layer:
            read |= references(item.value)[0]
    for item in args.values():
        read |= references(item.value)[0]
    for key in ("message", "voice"):
        if key in call:
            read |= references(call[key])[0]


def _waiting(
    found: Variables, args: Mapping[str, Sourced], rendered: Mapping[str, Any]
) -> dict[str, frozenset[RuntimeSecret]]:
    """The arguments that wait for a secret from the environment, with the secrets."""
    waiting = {}
    for arg, value in rendered.items():
        secrets = found.waits_for(args[arg].value, value)
        if secrets:
            waiting[arg] = secrets
    return waiting


def arguments(
    doc: Document,
    base: tuple[str | int, ...],
    call: Mapping[str, Any],
    profile: Profile | None,
    file_defaults: Layer,
) -> dict[str, Sourced]:
    """A call's arguments, lowest precedence first: profile defaults, spec defaults, the call."""
    args: dict[str, Sourced] = dict(profile.defaults if profile else ())
    args.update(file_defaults)
    args.update(
        (k, Sourced(v, (doc, (*base, k)))) for k, v in call.items() if k not in _NOT_ARGUMENTS
    )
    return args


def argument_location(call: CallPlan, name: str, docs: dict[str, Any]) -> Location | None:
    """Where ``call``'s argument ``name`` is written (its value: in the call, the spec's
    ``defaults`` or the profile's), its spec file read again (``docs`` keeps each file
    read); None when it cannot be told (the file changed or went away since)."""
    try:
        doc = docs.get(call.spec_file)
        if doc is None:
            doc = docs[call.spec_file] = load_file(Path(call.abs_path), call.spec_file)
        written = doc.data["calls"][call.index]
        base = ("calls", call.index)
        layers = arguments(doc, base, written, call.profile, sourced(doc, ("defaults",)))
        found = layers.get(name)
        return found.location if found is not None else None
    except (SpecError, OSError, LookupError, TypeError):
        return None


class _Where:
    """Where a problem of one call is reported, and the path that names it.

    In a call expanded from a roster, a problem that depends on the row is located
    at the row's line, its path naming the call and the row; one that is the same
    for every row (a literal value, a typo in a template) is the spec's, reported once.
    """

    def __init__(self, doc: Document, base: tuple[str, int], name: str, row: Row | None) -> None:
        self.doc, self.base, self.name, self.row = doc, base, name, row

    def problem(
        self, source: Sourced | None, arg: str | None, msg: str, every_row: bool
    ) -> Problem:
        call_path = f"calls[{self.base[1]}]"
        path = f"{call_path}.{arg}" if arg else call_path
        at = source.location if source is not None else self.doc.where(self.base)
        from_row = source is not None and _templated(source.value)
        if self.row is not None and from_row and not every_row:
            label = row_label(self.row, self.name, self.doc.file)
            return Problem(self.row.location, f"{path} {label}", msg)
        if at.file != self.doc.file:
            path += f" (call '{self.name}' in {self.doc.file})"
        return Problem(at, path, msg)


def _entry_of(item: Sourced, arg: str, within: tuple[str | int, ...]) -> tuple[Sourced, str]:
    """The entry of ``item`` (an argument's list or mapping) at ``within``, and its path
    (``sip_headers.f``): a template error is located at the entry's own value."""
    if not within or isinstance(item.at, Location):
        return item, arg
    value = item.value
    for key in within:
        value = value[key]
    doc, path = item.at
    return Sourced(value, (doc, (*path, *within))), format_path((arg, *within))


def _templated(value: Any) -> bool:
    """True when a value as written holds a template anywhere (so may read the row)."""
    if isinstance(value, str):
        return has_template(value)
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    return False
