"""``callspec render`` as a library call: the exact requests the specs make, credentials
masked (:mod:`callspec.delivery.preview` builds them as a run would)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from callspec.commands.findings import Findings, invalid
from callspec.errors import SpecError, UsageError
from callspec.redact import Redactor, environment_secrets

if TYPE_CHECKING:
    from callspec.spec.plan import PlanOptions

RenderFormat = Literal["json", "yaml", "curl"]


@dataclass(frozen=True)
class RenderRequest:
    """What ``callspec render`` was asked: the specs, how to plan them, how to print."""

    paths: tuple[Path, ...]
    plan: PlanOptions
    format: RenderFormat = "json"
    #: Base URL instead of the profile's or Plivo's.
    api_url: str | None = None


def render(request: RenderRequest, environ: Mapping[str, str]) -> Findings:
    """The requests of the request's specs as one text (a line of the findings)."""
    from callspec.delivery.preview import render_requests
    from callspec.delivery.request import refuse_flag_urls
    from callspec.spec.plan import build_plan

    try:
        built = build_plan(request.paths, request.plan, environ)
    except SpecError as e:
        return invalid(e.problems)
    except UsageError as e:
        return Findings(usage=str(e))
    # The curl command must send the URLs the spec wrote, userinfo and all.
    redactor = Redactor(environment_secrets(environ), userinfo=request.format != "curl")
    redactor.add(built.secret_values)
    try:
        refuse_flag_urls({"--api-url": request.api_url}, redactor.text)
    except UsageError as e:
        return Findings(usage=str(e))
    text = render_requests(built, request.format, request.api_url, environ, redactor)
    return Findings(lines=(redactor.text(text),), secrets=tuple(built.secret_values))
