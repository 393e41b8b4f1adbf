"""Resolve spec files into a plan: one fully rendered, normalized, validated body per call.

This module owns the middle of the flow: finding spec files, picking each one's
profile, merging arguments (profile defaults, spec ``defaults``, the call) and
variables (profile, spec, call, ``--vars-file``, ``--var``), rendering every
template, normalizing and validating.  Every problem of every file is collected
and raised together as one :class:`SpecError`; a plan that comes back is valid.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from callspec.errors import Location, Problem, SpecError, UsageError, location_key
from callspec.redact import Redactor, environment_secrets
from callspec.spec.budget import FileClock, Limits
from callspec.spec.destinations import Rung, repeat_message
from callspec.spec.documents import check_document, get
from callspec.spec.loader import Document, is_symlink_loop, load_file, resolved
from callspec.spec.profiles import (
    Profile,
    ProfilesFile,
    Sourced,
    find_profiles_file,
    is_profiles_filename,
)
from callspec.spec.templates import EnvVars, RenderError, render_value
from callspec.spec.validate import check_body, normalize

SPEC_SUFFIXES = (".yaml", ".yml")
_CALL_PATH = re.compile(r"^calls\[(\d+)\]")


@dataclass(frozen=True)
class PlanOptions:
    """What shapes a plan, as given on the command line or by a library caller."""

    profiles: Path | None = None
    profile: str | None = None
    vars: tuple[tuple[str, str], ...] = ()
    vars_file: Path | None = None
    only: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: The working directory: identities of spec files outside any git work tree are
    #: relative to it (None: the process's).
    cwd: Path | None = None
    #: A destination that two calls of the run share is an error, not a warning.
    unique_destinations: bool = False
    #: Where warnings are written as the plan is built (the CLI gives stderr); None: nowhere.
    warnings: TextIO | None = field(default=None, compare=False)
    #: What rendering one template may cost (sizes, integers, loop iterations, time per file).
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class CallPlan:
    """One call ready to send: its body is rendered, normalized and valid."""

    spec_file: str
    line: int
    index: int
    name: str
    tags: tuple[str, ...]
    profile: Profile | None
    body: Mapping[str, Any]
    #: Declared secrets of this call: (variable name, value).
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: The spec file's identity: its path relative to the root of its git work tree (else
    #: to the working directory), so that moving the checkout keeps every call's key.
    spec_path: str = ""
    #: The spec file's absolute path: what journals written before 0.2 hold as its identity.
    abs_path: str = ""

    @property
    def secret_values(self) -> frozenset[str]:
        """The values to mask in every output."""
        return frozenset(value for _, value in self.secrets)

    @functools.cached_property
    def key(self) -> str:
        """A stable identity across runs and checkouts: spec file, call name, rendered body."""
        return _key(self.spec_path or self.spec_file, self.name, self.body)

    @functools.cached_property
    def legacy_key(self) -> str:
        """The key journals written before 0.2 hold (the file's absolute path in it)."""
        return _key(self.abs_path or self.spec_file, self.name, self.body)

    @functools.cached_property
    def content_key(self) -> str:
        """Name and rendered body alone: the same call, wherever its file moved."""
        return _key("", self.name, self.body)


def _key(path: str, name: str, body: Mapping[str, Any]) -> str:
    canonical = json.dumps([path, name, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def identity_path(path: Path, cwd: Path) -> str:
    """``path`` relative to the root of its git work tree, else to ``cwd`` (POSIX form).

    The same checkout at another place (a second CI workspace, a container
    mount, a moved folder) gives the same identity, so ``--resume`` still knows
    which calls were placed.
    """
    full = resolved(path)
    for folder in full.parents:
        if (folder / ".git").exists():
            return full.relative_to(folder).as_posix()
    return Path(os.path.relpath(full, cwd.resolve())).as_posix()


@dataclass(frozen=True)
class Plan:
    """The calls of a run, in file and call order, and the files they came from."""

    calls: tuple[CallPlan, ...]
    files: tuple[str, ...]
    #: What is suspicious but allowed: a destination shared by two calls.
    warnings: tuple[Problem, ...] = ()


def collect_spec_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders expand to every *.yaml/*.yml in them except profiles files.

    A symlink loop, given or found in a folder whatever its name, is kept: reading it
    then reports it, where skipping it would hide a spec that was meant to be there.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if ((p.suffix in SPEC_SUFFIXES and p.is_file()) or is_symlink_loop(p))
                and not is_profiles_filename(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists() or is_symlink_loop(path):
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    if not found:
        raise UsageError("no spec files found in " + ", ".join(str(p) for p in paths))
    # One file named twice (a folder and a file in it, a symlink, ../x) is read once:
    # its calls would otherwise be placed twice.
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(resolved(path), path)
    return list(unique.values())


def build_plan(
    paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str] | None = None
) -> Plan:
    """Load, resolve, render, normalize and validate; raise SpecError with every problem."""
    builder = _Builder(options, EnvVars(environ))
    for path in collect_spec_files(paths):
        builder.add_file(path)
    return builder.finish()


class _Builder:
    def __init__(self, options: PlanOptions, env: EnvVars) -> None:
        self.options = options
        self.env = env
        self.problems: list[Problem] = []
        self.calls: list[CallPlan] = []
        self.files: list[str] = []
        self.paths: dict[str, tuple[str, str]] = {}  # display -> (identity, absolute)
        self.profiles_files: dict[Path, ProfilesFile | None] = {}
        self.names: set[str] = set()  # every call name seen, for --only's messages
        self.rung = Rung()  # destinations rung so far
        self.repeats: list[Problem] = []  # destinations rung by an earlier call too
        self.extra_layers = self._command_line_vars()
        self.env_secrets = environment_secrets(env)
        self.cwd = options.cwd or Path.cwd()
        self.clock = FileClock(options.limits)

    def _command_line_vars(self) -> list[dict[str, Sourced]]:
        layers: list[dict[str, Sourced]] = []
        if self.options.vars_file is not None:
            try:
                doc = load_file(self.options.vars_file)
            except SpecError as e:
                self.problems.extend(e.problems)
                doc = None
            if doc is not None and not isinstance(doc.data, dict):
                self.problems.append(
                    Problem(doc.where(()), "", "a vars file must be a mapping of names to values")
                )
            elif doc is not None:
                layers.append({k: Sourced(v, (doc, (k,))) for k, v in doc.data.items()})
        if self.options.vars:
            # --var values are literal text: never rendered as templates.
            layers.append(
                {k: Sourced(_Literal(v), Location(f"--var {k}")) for k, v in self.options.vars}
            )
        return layers

    def _profiles_file(self, spec_path: Path) -> tuple[bool, ProfilesFile | None]:
        """(found, file): found with file None means it was found but is broken."""
        found = find_profiles_file(self.options.profiles, spec_path.parent)
        if found is None:
            return False, None
        key = resolved(found)
        if key not in self.profiles_files:
            try:
                mask = Redactor(self.env_secrets).text
                self.profiles_files[key] = ProfilesFile.load(found, _display(found), mask)
            except SpecError as e:
                self.problems.extend(e.problems)
                self.profiles_files[key] = None
        return True, self.profiles_files[key]

    def _profile(self, doc: Document, spec_path: Path) -> tuple[bool, Profile | None]:
        """(ok, profile) for a spec; ok is False when a problem was recorded."""
        found, profiles = self._profiles_file(spec_path)
        if found and profiles is None:
            return False, None  # its problems are recorded already
        if self.options.profile is not None:
            name, where = self.options.profile, Location("--profile")
        elif "profile" in doc.data:
            name, where = doc.data["profile"], doc.where(("profile",))
        elif profiles is not None and "default" in profiles.profiles:
            name, where = "default", None
        else:
            return True, None
        if profiles is None:
            message = (
                f"profile '{name}' is named, but no profiles file was found "
                "(looked for profiles.yaml from the spec's folder upward; "
                "use --profiles or CALLSPEC_PROFILES)"
            )
            self.problems.append(Problem(where or doc.where(()), "", message))
            return False, None
        try:
            return True, profiles.resolve(name, where)
        except SpecError as e:
            self.problems.extend(e.problems)
            return False, None

    def add_file(self, path: Path) -> None:
        self.clock = FileClock(self.options.limits)  # the rendering time of this file
        display = _display(path)
        self.files.append(display)
        self.paths[display] = (identity_path(path, self.cwd), str(resolved(path)))
        try:
            doc = load_file(path, display)
        except SpecError as e:
            self.problems.extend(e.problems)
            return
        problems = check_document(doc, "spec", Redactor(self.env_secrets).text)
        self.problems.extend(problems)
        # A defect inside one call leaves the others to be checked in the same pass.
        broken = {int(m[1]) for p in problems if (m := _CALL_PATH.match(p.path))}
        if any(not _CALL_PATH.match(p.path) for p in problems):
            return
        ok, profile = self._profile(doc, path)
        if not ok:
            return
        seen: dict[str, int] = {}
        file_vars = _sourced(doc, ("vars",))
        file_defaults = _sourced(doc, ("defaults",))
        for index, call in enumerate(doc.data["calls"]):
            if index in broken:
                continue  # its problems are recorded; the rest of the file is still checked
            name = call["name"]
            if name in seen:
                message = f"duplicate call name '{name}' (first at line {seen[name]})"
                self.problems.append(
                    Problem(doc.where(("calls", index, "name")), f"calls[{index}].name", message)
                )
                continue
            seen[name] = doc.where(("calls", index)).line
            if self._selected(call):
                self._add_call(doc, index, call, profile, file_vars, file_defaults)

    def _selected(self, call: Mapping[str, Any]) -> bool:
        only, tags = self.options.only, self.options.tags
        self.names.add(call["name"])
        if only and call["name"] not in only:
            return False
        return not tags or bool(set(tags) & set(call.get("tags", ())))

    def _add_call(
        self,
        doc: Document,
        index: int,
        call: Mapping[str, Any],
        profile: Profile | None,
        file_vars: list[tuple[str, Sourced]],
        file_defaults: list[tuple[str, Sourced]],
    ) -> None:
        base = ("calls", index)
        call_path = f"calls[{index}]"
        context: dict[str, Any] = {}
        layers: list[Iterable[tuple[str, Sourced]]] = [
            profile.vars if profile else (),
            file_vars,
            _sourced(doc, (*base, "vars")),
            *(layer.items() for layer in self.extra_layers),
        ]
        scope = {"env": self.env, "call": {"name": call["name"], "index": index}}
        secret_names = set(profile.secrets if profile else ())
        mask = Redactor(self.env_secrets)
        failed = False
        for layer in layers:
            for name, item in layer:
                if name in scope:
                    failed = True
                    message = f"'{name}' is reserved: templates see {_RESERVED[name]} as {name}"
                    self.problems.append(Problem(item.location, item.path(name), message))
                    continue
                try:
                    context[name] = _render(item.value, {**context, **scope}, self.clock)
                except RenderError as e:
                    # A template can only read variables rendered before it, so every
                    # secret its error could quote is known to the mask by now.
                    failed = True
                    problem = Problem(item.location, item.path(name), mask.text(str(e)))
                    self.problems.append(problem)
                    continue
                if name in secret_names and context[name]:
                    mask.add([str(context[name])])
        if failed:
            return
        context.update(scope)
        secrets = tuple((n, str(context[n])) for n in sorted(secret_names) if context.get(n))
        args: dict[str, Sourced] = dict(profile.defaults if profile else ())
        args.update(file_defaults)
        args.update(
            (k, Sourced(v, (doc, (*base, k))))
            for k, v in call.items()
            if k not in ("name", "tags", "vars")
        )
        rendered: dict[str, Any] = {}
        for arg, item in args.items():
            try:
                rendered[arg] = render_value(item.value, context, self.clock)
            except RenderError as e:
                self.problems.append(
                    _call_problem(item.location, doc, call_path, arg, call, mask.text(str(e)))
                )
        if len(rendered) < len(args):
            return
        body = normalize(rendered)
        issues = check_body(body, mask.text)
        for issue in issues:
            where = args[issue.arg].location if issue.arg in args else doc.where(base)
            self.problems.append(
                _call_problem(where, doc, call_path, issue.arg, call, mask.text(issue.message))
            )
        if issues:
            return
        planned = CallPlan(
            spec_file=doc.file,
            line=doc.where(base).line,
            index=index,
            name=call["name"],
            tags=tuple(call.get("tags", ())),
            profile=profile,
            body=body,
            secrets=secrets,
            spec_path=self.paths[doc.file][0],
            abs_path=self.paths[doc.file][1],
        )
        self.calls.append(planned)
        for repeat in self.rung.add(planned):
            hidden = [*self.env_secrets, *repeat.first.secret_values, *planned.secret_values]
            message = repeat_message(repeat, Redactor(hidden).text)
            where = args["to"].location
            self.repeats.append(_call_problem(where, doc, call_path, "to", call, message))

    def finish(self) -> Plan:
        missing = [n for n in self.options.only if n not in self.names]
        repeats = sorted(self.repeats, key=location_key)
        if self.options.unique_destinations:
            self.problems.extend(repeats)
            repeats = []
        if self.problems:
            unique = sorted(dict.fromkeys(self.problems), key=location_key)
            raise SpecError(unique)
        if missing:
            raise UsageError("--only: no call named " + ", ".join(repr(n) for n in missing))
        _refuse_twins(self.calls)
        if not self.calls:
            given = [f"--only {n}" for n in self.options.only] + [
                f"--tag {t}" for t in self.options.tags
            ]
            raise UsageError("no call matches " + " and ".join(given) + " in the given specs")
        if self.options.warnings is not None:
            for warning in repeats:
                self.options.warnings.write(
                    f"{warning.location}: warning: {warning.path}: {warning.message} "
                    "(--unique-destinations makes this an error)\n"
                )
        return Plan(tuple(self.calls), tuple(self.files), tuple(repeats))


def _refuse_twins(calls: Sequence[CallPlan]) -> None:
    """Two calls of one run with one identity (the same spec in two work trees) are refused.

    A journal could not tell them apart: resuming, one would stand for both.
    """
    first: dict[str, CallPlan] = {}
    problems = []
    for call in calls:
        twin = first.setdefault(call.key, call)
        if twin is not call:
            message = (
                f"the same call as '{twin.name}' in {twin.spec_file}:{twin.line} (same path "
                "in its git work tree, name and body): a journal could not tell them apart; "
                "run them separately"
            )
            problems.append(Problem(Location(call.spec_file, call.line, 5), "", message))
    if problems:
        raise SpecError(problems)


_RESERVED = {"env": "the environment", "call": "the call's name and index"}


class _Literal(str):
    """A command-line value: used as given, never rendered."""


def _render(value: Any, context: Mapping[str, Any], clock: FileClock) -> Any:
    if isinstance(value, _Literal):
        return str(value)
    return render_value(value, context, clock)


def _sourced(doc: Document, path: tuple[str | int, ...]) -> list[tuple[str, Sourced]]:
    node = get(doc, *path)
    if not isinstance(node, dict):
        return []
    return [(k, Sourced(v, (doc, (*path, k)))) for k, v in node.items()]


def _call_problem(
    where: Location,
    doc: Document,
    call_path: str,
    arg: str | None,
    call: Mapping[str, Any],
    msg: str,
) -> Problem:
    path = f"{call_path}.{arg}" if arg else call_path
    if where.file != doc.file:
        path += f" (call '{call['name']}' in {doc.file})"
    return Problem(where, path, msg)


def _display(path: Path) -> str:
    """Paths print as given, relative to the working directory when under it."""
    try:
        return str(resolved(path).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
