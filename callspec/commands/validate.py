"""``callspec validate`` as a library call: load, render and validate specs; send nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from callspec.commands.findings import Findings, invalid
from callspec.errors import Problem, SpecError, UsageError
from callspec.redact import Redactor, environment_secrets

if TYPE_CHECKING:
    from callspec.spec.plan import Plan, PlanOptions


@dataclass(frozen=True)
class ValidateRequest:
    """What ``callspec validate`` was asked: the specs and how to plan them."""

    paths: tuple[Path, ...]
    plan: PlanOptions
    #: ``paths`` are changed files (a pre-commit hook): YAML that is no spec is skipped, a
    #: changed profiles file is checked on its own and with the specs that use it.
    changed: bool = False


def validate(request: ValidateRequest, environ: Mapping[str, str]) -> Findings:
    """Validate the request's specs: every problem of every file, or how many calls are valid."""
    from callspec.spec.plan import build_plan  # the spec stage loads only when it runs

    paths = request.paths
    try:
        if request.changed:
            from callspec.spec.files import hook_targets

            targets = hook_targets(paths, environ)
            problems = _profiles_problems(targets.profiles, environ)
            if problems:
                return invalid(problems)
            paths = targets.specs
            if not paths:
                return Findings(lines=("OK: no spec among the changed files",))
        built = build_plan(paths, request.plan, environ)
    except SpecError as e:
        return invalid(e.problems)
    except UsageError as e:
        return Findings(usage=str(e))
    return Findings(warnings=built.warnings, lines=(valid_summary(built),))


def _profiles_problems(files: tuple[Path, ...], environ: Mapping[str, str]) -> list[Problem]:
    """The problems of each changed profiles file on its own (a file no spec uses too)."""
    from callspec.spec.files import display_path
    from callspec.spec.profiles import ProfilesFile

    problems: list[Problem] = []
    for path in files:
        try:
            redactor = Redactor(environment_secrets(environ))
            ProfilesFile.load(path, display_path(path), redactor, environ)
        except SpecError as e:
            problems.extend(e.problems)
    return problems


def valid_summary(plan: Plan) -> str:
    """``OK: 5 calls in 4 files valid``."""
    n, f = len(plan.calls), len(plan.files)
    return f"OK: {n} call{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''} valid"
