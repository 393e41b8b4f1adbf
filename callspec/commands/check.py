"""``callspec check`` as a library call: request each call's URLs as Plivo would.

Builds the plan (an invalid spec is a problem, nothing is requested), checks every
distinct (URL, method) with :func:`callspec.check.checker.check_plan`, and ends in
:class:`~callspec.commands.findings.Findings`: a located problem per failure, the
table and totals for people, the checks' documents for machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from callspec.commands.findings import Findings, invalid
from callspec.errors import SpecError, UsageError
from callspec.redact import Redactor, environment_secrets

if TYPE_CHECKING:
    from callspec.check.checker import CheckOptions
    from callspec.spec.plan import PlanOptions


@dataclass(frozen=True)
class CheckRequest:
    """What ``callspec check`` was asked: the specs, how to plan them, how to check."""

    paths: tuple[Path, ...]
    plan: PlanOptions
    check: CheckOptions
    #: Only the problems and the totals line (no row per URL).
    quiet: bool = False


def check(request: CheckRequest, environ: Mapping[str, str]) -> Findings:
    """Check the URLs of the request's calls; each failure is a problem (exit 3)."""
    from callspec.check.checker import check_plan, check_problems, document_of
    from callspec.report.checks import check_rows, check_totals
    from callspec.spec.plan import build_plan

    try:
        built = build_plan(request.paths, request.plan, environ)
    except SpecError as e:
        return _nothing_checked(invalid(e.problems))
    except UsageError as e:
        return _nothing_checked(Findings(usage=str(e)))
    # Every output masks the plan's declared secrets as well as the environment's token.
    mask = Redactor([*environment_secrets(environ), *built.secret_values])
    checks = check_plan(built.calls, request.check, environ, mask.text)
    documents = [mask.value(document_of(c)) for c in checks]
    rows = () if request.quiet else check_rows(documents, mask)
    return Findings(
        problems=tuple(check_problems(checks)),
        lines=(*rows, check_totals(documents)),
        document={"checks": documents},
        secrets=tuple(built.secret_values),
    )


def _nothing_checked(findings: Findings) -> Findings:
    """Specs that could not be planned: the JSON document still has its ``checks`` (none)."""
    return Findings(
        problems=findings.problems,
        usage=findings.usage,
        document={"checks": []},
        summary=findings.summary,
    )
