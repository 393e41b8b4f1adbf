"""Resolve spec files into a plan: one fully rendered, normalized, validated body per call.

This module owns the middle of the flow: finding spec files, picking each one's
profile, expanding a call with ``each:`` into one call per roster row (see
expand.py), merging arguments (profile defaults, spec ``defaults``, the call)
and variables (profile, spec, call, ``--vars-file``, ``--var``), rendering
every template, normalizing and validating.  Every problem of every file is
collected and raised together as one :class:`SpecError`; a plan that comes
back is valid.

About 360 lines: the builder keeps each file's and each call's steps as small
methods sharing the problems list they add to, and ``_Where`` says where a
problem of a call (or of one of its rows) is reported.
"""

from __future__ import annotations

__all__ = ["CallPlan", "Plan", "PlanOptions", "build_plan", "collect_spec_files"]

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from callspec.errors import Location, Problem, SpecError, UsageError, location_key
from callspec.redact import Redactor, environment_secrets
from callspec.spec.budget import FileClock
from callspec.spec.destinations import Rung, repeat_message
from callspec.spec.documents import check_document
from callspec.spec.escalation import (
    escalation_of,
    escalation_problem,
    number_steps,
    step_name_clashes,
    steps_of,
)
from callspec.spec.expand import Expander, Row, is_spec_error, row_label
from callspec.spec.files import collect_spec_files, display_path
from callspec.spec.loader import Document, load_file, resolved
from callspec.spec.model import CallPlan, Plan, PlanOptions, identity_path
from callspec.spec.profiles import (
    Profile,
    ProfilesFile,
    Sourced,
    find_profiles_file,
)
from callspec.spec.templates import EnvVars, RenderError, has_template, render_value
from callspec.spec.validate import check_body, normalize
from callspec.spec.variables import Variables, command_line_layers, render_variables, sourced


def build_plan(paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str]) -> Plan:
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
        self.extra_layers, problems = command_line_layers(options.vars_file, options.vars)
        self.problems.extend(problems)
        self.env_secrets = environment_secrets(env)
        self.cwd = options.cwd or Path.cwd()
        self.clock = FileClock(options.limits)
        self.expander = Expander(self.env)
        #: The instant every rotation and calendar of this run is resolved at.
        self.at = options.at or options.clock()
        self.rotations = _Rotations(self.at, options.gap_check)

    def _profiles_file(self, spec_path: Path) -> tuple[bool, ProfilesFile | None]:
        """(found, file): found with file None means it was found but is broken."""
        found = find_profiles_file(self.options.profiles, spec_path.parent, self.env)
        if found is None:
            return False, None
        key = resolved(found)
        if key not in self.profiles_files:
            try:
                mask = Redactor(self.env_secrets).text
                self.profiles_files[key] = loaded = ProfilesFile.load(
                    found, display_path(found), mask
                )
                self.problems.extend(self.rotations.read(loaded.doc))
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
        display = display_path(path)
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
        broken = {p.keys[1] for p in problems if _in_call(p)}
        if any(not _in_call(p) for p in problems):
            return
        self.problems.extend(self.rotations.read(doc))
        ok, profile = self._profile(doc, path)
        if not ok:
            return
        seen: dict[str, str] = {}
        file_vars = sourced(doc, ("vars",))
        file_defaults = sourced(doc, ("defaults",))
        for index, call in enumerate(doc.data["calls"]):
            if index in broken:
                continue  # its problems are recorded; the rest of the file is still checked
            for name, row in self._instances(doc, path, index, call):
                if name in seen:
                    message = f"duplicate call name '{name}' (first at {seen[name]})"
                    where, at = doc.where(("calls", index, "name")), f"calls[{index}].name"
                    if row is not None:
                        where, at = row.location, f"{at} {row_label(row, name, doc.file)}"
                    self.problems.append(Problem(where, at, message))
                    continue
                seen[name] = (
                    f"line {doc.where(('calls', index)).line}"
                    if row is None
                    else f"row {row.number}, {row.location.file}:{row.location.line}"
                )
                if self._selected(name, call):
                    self._add_call(doc, index, call, profile, file_vars, file_defaults, name, row)

    def _instances(
        self, doc: Document, path: Path, index: int, call: Mapping[str, Any]
    ) -> list[tuple[str, Row | None]]:
        """(name, row) of each call ``calls[index]`` stands for: itself, or one per row."""
        if "each" not in call:
            return [(call["name"], None)]
        self.expander.clock = self.clock
        if isinstance(call["each"], dict):  # who is on call: the rotations this spec sees
            _, profiles = self._profiles_file(path)
            shared = profiles.doc if profiles is not None else None
            self.expander.schedules, clash = self.rotations.seen_by(doc, shared)
            self.problems.extend(clash)
        rows, problems = self.expander.rows(doc, path, index, call)
        out: list[tuple[str, Row | None]] = []
        for row in rows:
            name = self.expander.name(doc, index, call, row)
            if isinstance(name, Problem):
                problems.append(name)
            else:
                out.append((name, row))
        if not rows and not problems and "each_where" in call and self.options.warnings is not None:
            where = doc.where(("calls", index, "each_where"))
            self.options.warnings.write(
                f"{where}: warning: calls[{index}].each_where: keeps no row of "
                f"{call['each'] if isinstance(call['each'], str) else 'each:'}; "
                "the call places nothing\n"
            )
        mask = Redactor(self.env_secrets).text  # a roster may hold what the environment does
        self.problems.extend(Problem(p.location, p.path, mask(p.message), p.keys) for p in problems)
        return out

    def _selected(self, name: str, call: Mapping[str, Any]) -> bool:
        only, tags = self.options.only, self.options.tags
        self.names.add(name)
        if only and name not in only:
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
        name: str,
        row: Row | None,
    ) -> None:
        """Variables, then arguments, then the body: each step only when the last was clean."""
        base = ("calls", index)
        where = _Where(doc, base, name, row)
        layers = [
            profile.vars if profile else (),
            file_vars,
            sourced(doc, (*base, "vars")),
            *(layer.items() for layer in self.extra_layers),
        ]
        scope: dict[str, Any] = {"env": self.env, "call": {"name": name, "index": index}}
        if row is not None:
            scope["row"] = row.scope()
        secret_names = set(profile.secrets if profile else ())
        found = render_variables(
            layers, scope, secret_names, Redactor(self.env_secrets), self.clock
        )
        self.problems.extend(found.problems)
        if found.problems:
            return
        args = _arguments(doc, base, call, profile, file_defaults)
        body = self._body(where, base, args, found)
        if body is None:
            return
        planned = CallPlan(
            spec_file=doc.file,
            line=doc.where(base).line,
            index=index,
            name=name,
            tags=tuple(call.get("tags", ())),
            profile=profile,
            body=body,
            secrets=found.secrets,
            spec_path=self.paths[doc.file][0],
            abs_path=self.paths[doc.file][1],
            row=row.origin if row is not None else None,
            held=row.held if row is not None else None,
            on_call=self.rotations.on_call(row) if isinstance(call.get("each"), dict) else None,
        )
        if "escalate" in call:
            escalate = escalation_of(call, f"{doc.file}:{planned.line}", planned.spec_path)
            wrong = escalation_problem(escalate, body, "each" in call)
            if wrong is not None:
                keys = ("escalate", wrong[0]) if wrong[0] else ("escalate",)
                path = f"calls[{index}].{'.'.join(keys)}"
                self.problems.append(Problem(doc.where((*base, *keys)), path, wrong[1]))
                return
            planned = replace(planned, escalate=escalate)
        for step in steps_of(planned):
            self.calls.append(step)
            for repeat in self.rung.add(step):
                hidden = [*self.env_secrets, *repeat.first.secret_values, *step.secret_values]
                message = repeat_message(repeat, Redactor(hidden).text)
                self.repeats.append(where.problem(args["to"], "to", message))

    def _body(
        self,
        where: _Where,
        base: tuple[str, int],
        args: Mapping[str, Sourced],
        found: Variables,
    ) -> dict[str, Any] | None:
        """The rendered, normalized, valid body; None when a problem was recorded."""
        mask = found.mask
        rendered: dict[str, Any] = {}
        for arg, item in args.items():
            try:
                rendered[arg] = render_value(item.value, found.context, self.clock)
            except RenderError as e:
                self.problems.append(where.problem(item, arg, mask.text(str(e))))
        if len(rendered) < len(args):
            return None
        body = normalize(rendered)
        issues = check_body(body, mask.text)
        for issue in issues:
            source = args.get(issue.arg) if issue.arg is not None else None
            self.problems.append(where.problem(source, issue.arg, mask.text(issue.message)))
        return None if issues else body

    def finish(self) -> Plan:
        missing = [n for n in self.options.only if n not in self.names]
        repeats = sorted(self.repeats, key=location_key)
        if self.options.unique_destinations:
            self.problems.extend(repeats)
            repeats = []
        self.problems.extend(step_name_clashes(self.calls))
        if self.problems:
            unique = sorted(dict.fromkeys(self.problems), key=location_key)
            raise SpecError(unique)
        if missing:
            raise UsageError("--only: no call named " + ", ".join(repr(n) for n in missing))
        _refuse_twins(self.calls)
        if not self.calls and (self.options.only or self.options.tags):
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
        return Plan(tuple(number_steps(self.calls)), tuple(self.files), tuple(repeats))


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


def _arguments(
    doc: Document,
    base: tuple[str | int, ...],
    call: Mapping[str, Any],
    profile: Profile | None,
    file_defaults: list[tuple[str, Sourced]],
) -> dict[str, Sourced]:
    """A call's arguments, lowest precedence first: profile defaults, spec defaults, the call."""
    args: dict[str, Sourced] = dict(profile.defaults if profile else ())
    args.update(file_defaults)
    args.update(
        (k, Sourced(v, (doc, (*base, k))))
        for k, v in call.items()
        if k not in ("name", "tags", "vars", "each", "each_where", "escalate")
    )
    return args


class _Rotations:
    """The rotations of a run's files (``rotations:`` in a spec or a profiles file): each
    file's read and checked once; :mod:`callspec.oncall` loads only for a file that has
    them or a call with an ``each:`` mapping."""

    def __init__(self, at: datetime, gap_check: bool) -> None:
        self.at, self.gap_check = at, gap_check
        self.files: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}
        self.calendars: dict[str, Any] = {}  # a calendar is read once per run
        self.clashes: set[str] = set()

    def read(self, doc: Document) -> list[Problem]:
        """Read and check ``doc``'s rotations; their problems."""
        if not isinstance(doc.data, dict) or "rotations" not in doc.data:
            return []
        if doc.file in self.files:
            return []
        from callspec.oncall.checks import check_rotation
        from callspec.oncall.model import read_rotations

        rotations, problems = read_rotations(doc)
        for name, rotation in list(rotations.items()):
            found = check_rotation(rotation, self.at, gaps=self.gap_check)
            if found:
                problems.extend(found)
                del rotations[name]
        broken = frozenset(str(n) for n in doc.data["rotations"]) - set(rotations)
        self.files[doc.file] = (rotations, broken)
        return problems

    def on_call(self, row: Row | None) -> tuple[tuple[str, str], ...] | None:
        """What the journal keeps of a schedule's row: the instant, the person, the layer."""
        if row is None:
            return None
        at = self.at.astimezone(timezone.utc).isoformat(timespec="seconds")
        name, layer = str(row.values.get("name", "")), str(row.values.get("layer", ""))
        return (("at", at.replace("+00:00", "Z")), ("name", name), ("layer", layer))

    def seen_by(self, doc: Document, profiles: Document | None) -> tuple[Any, list[Problem]]:
        """The :class:`~callspec.oncall.rows.Schedules` a spec sees: its own rotations and its
        profiles file's; a name defined in both is a problem (once)."""
        from callspec.oncall.rows import Schedules

        own, own_broken = self.files.get(doc.file, ({}, frozenset()))
        shared, shared_broken = (
            self.files.get(profiles.file, ({}, frozenset())) if profiles else ({}, frozenset())
        )
        problems = []
        both = sorted((set(own) | own_broken) & (set(shared) | shared_broken))
        if both and profiles is not None and doc.file not in self.clashes:
            self.clashes.add(doc.file)
            for name in both:
                where = profiles.where_key(("rotations", name))
                message = (
                    f"rotation '{name}' is defined here and in {where}: give one of them "
                    "another name"
                )
                path = f"rotations.{name}"
                problems.append(Problem(doc.where_key(("rotations", name)), path, message))
        schedules = Schedules(
            self.at,
            {**shared, **own},
            own_broken | shared_broken | frozenset(both),
            calendars=self.calendars,
        )
        return schedules, problems


def _in_call(problem: Problem) -> bool:
    """A problem inside one call (``calls[3]...``), which leaves the file's other calls."""
    return (
        len(problem.keys) >= 2 and problem.keys[0] == "calls" and isinstance(problem.keys[1], int)
    )


class _Where:
    """Where a problem of one call is reported, and the path that names it.

    In a call expanded from a roster, a problem of a templated value (which may
    come from the row) is located at the row's line, its path naming the call
    and the row; a problem of a literal value is the spec's, reported once.
    """

    def __init__(self, doc: Document, base: tuple[str, int], name: str, row: Row | None) -> None:
        self.doc, self.base, self.name, self.row = doc, base, name, row

    def problem(self, source: Sourced | None, arg: str | None, msg: str) -> Problem:
        call_path = f"calls[{self.base[1]}]"
        path = f"{call_path}.{arg}" if arg else call_path
        at = source.location if source is not None else self.doc.where(self.base)
        from_row = source is not None and _templated(source.value)
        if self.row is not None and from_row and not is_spec_error(msg, self.row):
            label = row_label(self.row, self.name, self.doc.file)
            return Problem(self.row.location, f"{path} {label}", msg)
        if at.file != self.doc.file:
            path += f" (call '{self.name}' in {self.doc.file})"
        return Problem(at, path, msg)


def _templated(value: Any) -> bool:
    """True when a value as written holds a template anywhere (so may read the row)."""
    if isinstance(value, str):
        return has_template(value)
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    return False
