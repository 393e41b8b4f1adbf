"""Building the HTTP request for a call: pure, no network.

This module owns what is sent: the URL (``{api_url}/v1/Account/{auth_id}/Call/``),
the headers, the JSON body, and the credentials that authenticate it (rendered
from the profile only when a request is really to be sent).  ``render`` and
``--dry-run`` use the same builder, so what they show is what a run sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from callspec import __version__
from callspec.errors import UsageError
from callspec.redact import mask_userinfo
from callspec.schemas import load_schema
from callspec.spec.plan import CallPlan

DEFAULT_API_URL = "https://api.plivo.com"
AUTH_ID_PLACEHOLDER = "{auth_id}"
USER_AGENT = f"callspec/{__version__}"


@dataclass(frozen=True)
class Timeouts:
    """Connect and read timeouts in seconds (requests' tuple form)."""

    connect: float = 5.0
    read: float = 10.0


@dataclass(frozen=True)
class Request:
    """One POST, ready to send or to print."""

    url: str
    auth_id: str
    body: Mapping[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "User-Agent": USER_AGENT}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def call_url(api_url: str, auth_id: str) -> str:
    """The Make-a-call endpoint, with Plivo's trailing slash."""
    return f"{api_url.rstrip('/')}/v1/Account/{auth_id}/Call/"


def api_url_for(call: CallPlan, override: str | None) -> str:
    """``--api-url``, else the profile's ``api_url``, else Plivo's."""
    if override:
        return override
    if call.profile is not None and call.profile.api_url:
        return call.profile.api_url
    return DEFAULT_API_URL


def build_request(call: CallPlan, api_url: str, auth_id: str) -> Request:
    """The request for ``call``; pure."""
    return Request(call_url(api_url, auth_id), auth_id, call.body)


def check_api_url(url: str, setting: str = "api_url") -> str | None:
    """Why ``url`` is no base URL for ``setting`` (``api_url`` or ``service``: the profiles
    schema's rule), or None when it is."""
    from callspec.spec.urls import base_url_problem, without_query

    rule = load_schema("profiles")["$defs"]["profile"]["properties"][setting]
    if re.match(rule["pattern"], url):
        return None
    return f"{mask_userinfo(without_query(url))!r} {base_url_problem(url, rule['x-error'])}"


def refuse_flag_urls(flags: Mapping[str, str | None], mask: Callable[[str], str]) -> None:
    """Refuse (a usage error) a ``--api-url`` or ``--service`` value that is no base URL.
    Checked once the profiles are loaded, so that ``mask`` (the run's redactor) knows the
    secrets they declare: the words say the URL's host or port, and the message is masked
    whole."""
    for flag, url in flags.items():
        bad = url and check_api_url(url, flag.removeprefix("--").replace("-", "_"))
        if bad:
            raise UsageError(mask(f"Invalid value for {flag}: {bad}"))
