"""Spec files to a plan: one fully rendered, normalized, validated body per call.

The pipeline, in the order :func:`build_plan` runs it (a newcomer can read it here
top to bottom; each step is the module named):

1. **load** each spec file (loader.py: YAML with the line and column of every value)
   and check its shape (documents.py: the spec and profiles schemas); its profiles
   file is loaded first (profiles.py), so that the environment variables its
   credentials read are hidden from every template;
2. **resolve** the spec's profile (its ``extends`` chain, profiles.py);
3. **expand** a call with ``each:`` into one call per roster row (expand.py: a CSV,
   JSON or YAML roster read by rosters.py, or who a rotation has on call, rotations.py);
4. **render** each call's variables in precedence order (variables.py: profile,
   its secrets from the environment, spec, call, ``--vars-file``, ``--var``) and
   every template of its arguments (templates.py: sandboxed, budgeted);
5. **validate** the normalized body against the call schema and the rules it cannot
   say (validate.py), and read its numbers as Plivo reads them (numbers.py); steps
   4 and 5 for one call are calls.py;
6. **plan** the calls in file and call order: escalation steps numbered
   (escalation.py), a destination two calls ring warned (destinations.py).

Every problem of every file is collected (problems.py: at most the first hundred
of each file shown, the rest counted) and raised together as one
:class:`SpecError`; a plan that comes back is valid.
"""

from __future__ import annotations

__all__ = ["CallPlan", "Plan", "PlanOptions", "build_plan", "collect_spec_files"]

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callspec.errors import Location, Problem, SpecError, UsageError, location_key
from callspec.redact import Redactor, declare, environment_secrets
from callspec.spec.budget import FileClock
from callspec.spec.calls import Calls, Entry
from callspec.spec.destinations import Rung, repeat_message
from callspec.spec.documents import check_document
from callspec.spec.escalation import number_steps, step_name_clashes, steps_of
from callspec.spec.expand import Expander, Feeds, row_label
from callspec.spec.files import collect_spec_files, display_path
from callspec.spec.loader import Document, load_file, resolved
from callspec.spec.model import CallPlan, Plan, PlanOptions, identity_path
from callspec.spec.problems import Found
from callspec.spec.profiles import Profile, ProfilesFile, find_profiles_file
from callspec.spec.rotations import Rotations
from callspec.spec.templates import EnvVars
from callspec.spec.validate import suggest
from callspec.spec.variables import command_line_layers, sourced

if TYPE_CHECKING:
    from callspec.spec.rosters import Row  # rosters load only for a call with each:


def build_plan(paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str]) -> Plan:
    """Load, resolve, expand, render, validate, plan; raise SpecError with every problem."""
    files = collect_spec_files(paths)
    builder = _Builder(options, environ)
    for path in files:  # 1. every profiles file first: its credentials hidden from templates
        builder.profiles_for(path)
    for path in files:  # 1-5, file by file
        builder.add_file(path)
    return builder.finish()  # 6.


class _Builder:
    """The state of one plan as its files are added: problems, warnings, the calls so far."""

    def __init__(self, options: PlanOptions, environ: Mapping[str, str]) -> None:
        self.options = options
        self.environ = environ
        self.env = EnvVars(environ)  # what templates see of it
        self.problems = Found()
        self.warnings = Found()  # what is suspicious but allowed
        self.calls: list[CallPlan] = []
        self.files: list[str] = []
        self.paths: dict[str, tuple[str, str]] = {}  # display -> (identity, absolute)
        self.profiles_files: dict[Path, ProfilesFile | SpecError] = {}
        self.names: set[str] = set()  # every call name seen, for --only's messages
        self.rung = Rung()  # destinations rung so far
        self.repeated: list[CallPlan] = []  # the steps of the entry being added that repeat
        self.repeats = Found()  # destinations rung by an earlier call too
        extra_layers, problems = command_line_layers(options.vars_file, options.vars)
        self.problems.extend(problems)
        self.env_secrets = environment_secrets(environ)
        self.cwd = options.cwd or Path.cwd()
        mask = Redactor(self.env_secrets).text
        # A calendar URL is fetched with the environment's network settings (never its
        # credentials: callspec.net), or not at all, said as a warning.
        feeds = Feeds(
            options.fetch_calendars, environ, options.calendar_timeout, mask, self.warnings
        )
        self.expander = Expander(self.env, feeds=feeds)
        self.maker = Calls(
            self.env, environ, extra_layers, self.env_secrets, self.problems, self.warnings
        )
        if options.vars:
            self.maker.read = set()
        #: The instant every rotation and calendar of this run is resolved at.
        self.at: datetime = options.at or options.clock()
        self.rotations = Rotations(self.at, options.gap_check, mask, self.warnings)

    def profiles_for(self, spec_path: Path) -> ProfilesFile | SpecError | None:
        """The spec's profiles file, what is wrong with it, or None when there is none; each
        file is read once, and the environment variables its credentials read are hidden
        from every template."""
        found = find_profiles_file(self.options.profiles, spec_path.parent, self.environ)
        if found is None:
            return None
        key = resolved(found)
        if key not in self.profiles_files:
            try:
                redactor = Redactor(self.env_secrets)
                loaded = ProfilesFile.load(found, display_path(found), redactor, self.environ)
                self.env.hide(loaded.credential_env)
                self.profiles_files[key] = loaded
            except SpecError as e:
                self.profiles_files[key] = e  # reported by the first spec that uses it
        return self.profiles_files[key]

    def _profile(self, doc: Document, spec_path: Path) -> tuple[bool, Profile | None]:
        """(ok, profile) for a spec; ok is False when a problem was recorded."""
        profiles = self.profiles_for(spec_path)
        if isinstance(profiles, SpecError):
            self.problems.extend(profiles.problems)  # (a problem is kept once)
            return False, None
        if profiles is not None:  # its rotations, read and checked once
            self.problems.extend(self.rotations.read(profiles.doc))
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
            self.problems.add(Problem(where or doc.where(()), "", message))
            return False, None
        try:
            resolved_profile = profiles.resolve(name, where)
        except SpecError as e:
            self.problems.extend(e.problems)
            return False, None
        # Its secrets as --var and the environment give them: an error nobody expected
        # (the CLI's last-resort message) masks them too.
        declare(self._declared(resolved_profile))
        return True, resolved_profile

    def add_file(self, path: Path) -> None:
        """Steps 1 to 5 for one spec file."""
        self.maker.clock = FileClock(self.options.limits)  # the rendering time of this file
        display = display_path(path)
        self.files.append(display)
        self.paths[display] = (identity_path(path, self.cwd), str(resolved(path)))
        try:
            doc = load_file(path, display)  # 1. load
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
        ok, profile = self._profile(doc, path)  # 2. resolve
        if not ok:
            return
        seen: dict[str, str] = {}
        file_vars = sourced(doc, ("vars",))
        file_defaults = sourced(doc, ("defaults",))
        for index, call in enumerate(doc.data["calls"]):
            if index in broken:
                continue  # its problems are recorded; the rest of the file is still checked
            plain = "each" not in call
            instances = (
                ((call["name"], None),)
                if plain
                else self._instances(doc, path, index, call, profile)
            )
            for name, row in instances:  # 3. expand, a row's name at a time
                if name in seen:
                    message = f"duplicate call name '{name}' (first at {seen[name]})"
                    where, at = doc.where(("calls", index, "name")), f"calls[{index}].name"
                    if row is not None:
                        where, at = row.location, f"{at} {row_label(row, name, doc.file)}"
                    self.problems.add(Problem(where, at, message))
                    continue
                seen[name] = (
                    f"line {doc.where(('calls', index)).line}"
                    if row is None
                    else f"row {row.number}, {row.location.file}:{row.location.line}"
                )
                if not self._selected(name, call):
                    continue
                on_call = (
                    self.rotations.on_call(row) if isinstance(call.get("each"), dict) else None
                )
                entry = Entry(
                    doc, index, call, profile, file_vars, file_defaults, name, row,
                    self.paths[display], on_call,
                )  # fmt: skip
                made = self.maker.make(entry)  # 4. render, 5. validate
                if made.call is not None:
                    self._add(made.call, made.to)
                elif made.every_row:
                    break  # every other row of this call would fail alike: said once
            if isinstance(instances, Generator):
                instances.close()  # (records the roster's problems, also after a break)
            self._add_rounds()

    def _instances(
        self,
        doc: Document,
        path: Path,
        index: int,
        call: Mapping[str, Any],
        profile: Profile | None,
    ) -> Generator[tuple[str, Row | None], None, None]:
        """(name, row) of each call a call with ``each:`` stands for, one per row, named as it
        is asked for (a call that fails alike for every row stops at its first); the
        roster's problems are recorded when it is closed."""
        self.expander.clock = self.maker.clock
        if isinstance(call["each"], dict):  # who is on call: the rotations this spec sees
            profiles = self.profiles_for(path)
            shared = profiles.doc if isinstance(profiles, ProfilesFile) else None
            countries = profile.countries if profile is not None else ()
            self.expander.schedules, clash = self.rotations.seen_by(doc, shared, countries)
            self.problems.extend(clash)
        rows, found = self.expander.rows(doc, path, index, call)
        if isinstance(call["each"], dict):  # the whole chain, on each of its calls' lines
            rows = list(rows)
            self.rotations.resolved(rows, self.paths[str(doc.file)][0], str(call["name"]))
        try:
            for row in rows:
                name = self.expander.name(doc, index, call, row)
                if isinstance(name, str):
                    yield name, row
                    continue
                found.add(name.problem)
                if name.every_row:
                    break  # the spec's problem, said once: every other row fails alike
            empty = not rows and not found and "each_where" in call
            if empty and self.options.warnings is not None:
                where = doc.where(("calls", index, "each_where"))
                self.options.warnings.write(
                    f"{where}: warning: calls[{index}].each_where: keeps no row of "
                    f"{call['each'] if isinstance(call['each'], str) else 'each:'}; "
                    "the call places nothing\n"
                )
        finally:
            # A roster or a calendar may hold what the env does, or a secret the profile
            # declares (its value as the profile, --var or the environment gives it).
            mask = Redactor([*self.env_secrets, *self._declared(profile)]).text
            self.problems.merge(found, lambda p: replace(p, message=mask(p.message)))

    def _declared(self, profile: Profile | None) -> list[str]:
        """The values of ``profile``'s declared secrets known before a call renders."""
        if profile is None:
            return []
        names = set(profile.secrets)
        values = [str(v.value) for name, v in profile.vars if name in names]
        values += [value for name, value in self.options.vars if name in names]
        values += [self.maker.environ.get(r.env, "") for r in profile.runtime]
        return [value for value in values if value]

    def _selected(self, name: str, call: Mapping[str, Any]) -> bool:
        only, tags = self.options.only, self.options.tags
        self.names.add(name)
        if only and name not in only:
            return False
        return not tags or bool(set(tags) & set(call.get("tags", ())))

    def _add(self, call: CallPlan, where_to: Callable[[], Problem] | None) -> None:
        """6. The call's steps (an escalation) join the plan; shared destinations noted."""
        for step in steps_of(call):
            self.calls.append(step)
            if step.escalate is not None and step.escalate.rounds > 1:
                self.repeated.append(step)
            for repeat in self.rung.add(step):
                hidden = [*self.env_secrets, *repeat.first.secret_values, *step.secret_values]
                message = repeat_message(repeat, Redactor(hidden).text)
                to = where_to() if where_to is not None else None
                at = to.location if to is not None else Location(step.spec_file, step.line)
                path = to.path if to is not None else f"calls[{step.index}].to"
                self.repeats.add(Problem(at, path, message))

    def _add_rounds(self) -> None:
        """6. ``repeat:``: the entry's chain again, a round after the last (each step named
        ``name (round N)``: its own identity in the journal, so a resume goes on with the
        round it stopped in and never rings anyone twice within one)."""
        steps, self.repeated = self.repeated, []
        if not steps:
            return
        rounds = steps[0].escalate.rounds if steps[0].escalate is not None else 1
        for number in range(2, rounds + 1):
            for step in steps:
                assert step.escalate is not None
                escalate = replace(step.escalate, round=number)
                name = f"{step.name} (round {number})"
                self.calls.append(replace(step, name=name, escalate=escalate))

    def finish(self) -> Plan:
        """6. The plan, or every problem of every file."""
        missing = [n for n in self.options.only if n not in self.names]
        self._unread_vars()
        if self.options.unique_destinations:
            self.problems.merge(self.repeats)
        else:
            self.warnings.merge(self.repeats)
        self.problems.extend(step_name_clashes(self.calls))
        if self.problems:
            raise SpecError(self.problems.shown())
        if missing:
            raise UsageError("--only: no call named " + ", ".join(repr(n) for n in missing))
        _refuse_twins(self.calls)
        if not self.calls and (self.options.only or self.options.tags):
            given = [f"--only {n}" for n in self.options.only] + [
                f"--tag {t}" for t in self.options.tags
            ]
            raise UsageError("no call matches " + " and ".join(given) + " in the given specs")
        warnings = self.warnings.shown()
        if self.options.warnings is not None:
            repeats = set(self.repeats)
            for warning in warnings:
                hint = " (--unique-destinations makes this an error)" if warning in repeats else ""
                where = f"{warning.location}: warning: "
                what = f"{warning.path}: {warning.message}" if warning.path else warning.message
                self.options.warnings.write(f"{where}{what}{hint}\n")
        plan = Plan(tuple(number_steps(self.calls)), tuple(self.files), tuple(warnings))
        declare(plan.secret_values)  # (those the calls' templates rendered too)
        return plan

    def _unread_vars(self) -> None:
        """A ``--var`` that no template reads is a warning naming the nearest name one reads;
        said even when the plan is invalid (the slip may be why)."""
        read = self.maker.read
        if read is None:
            return
        for name, _ in self.options.vars:
            if name not in read:
                message = f"no template reads '{name}'{suggest(name, sorted(read))}"
                warning = Problem(Location(f"--var {name}"), "", message)
                self.warnings.add(warning)
                if self.problems and self.options.warnings is not None:
                    self.options.warnings.write(f"{warning.location}: warning: {message}\n")


def _refuse_twins(calls: Sequence[CallPlan]) -> None:
    """Two calls of one run with one identity (the same spec in two work trees) are refused.

    A journal could not tell them apart: resuming, one would stand for both.
    """
    # Keys (a hash of the body) only where a path and a name recur: validate never needs
    # the 10,000 keys of a 10,000-call spec.
    named: dict[tuple[str, str], list[CallPlan]] = {}
    for call in calls:
        named.setdefault((call.spec_path or call.spec_file, call.name), []).append(call)
    first: dict[str, CallPlan] = {}
    problems = []
    for call in (c for group in named.values() if len(group) > 1 for c in group):
        twin = first.setdefault(call.key, call)
        if twin is not call:
            message = (
                f"the same call as '{twin.name}' in {twin.spec_file}:{twin.line} (same path "
                "in its git work tree, name and body): a journal could not tell them apart; "
                "run them separately"
            )
            problems.append(Problem(Location(call.spec_file, call.line, 5), "", message))
    if problems:
        raise SpecError(sorted(problems, key=location_key))


def _in_call(problem: Problem) -> bool:
    """A problem inside one call (``calls[3]...``), which leaves the file's other calls."""
    return (
        len(problem.keys) >= 2 and problem.keys[0] == "calls" and isinstance(problem.keys[1], int)
    )
