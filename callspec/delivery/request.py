"""Building the HTTP request for a call: pure, no network.

This module owns what is sent: the URL (``{api_url}/v1/Account/{auth_id}/Call/``),
the headers, the JSON body, and the credentials that authenticate it (rendered
from the profile only when a request is really to be sent).  ``render`` and
``--dry-run`` use the same builder, so what they show is what a run sends.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import yaml

from callspec import __version__
from callspec.errors import GuardError
from callspec.redact import Redactor, mask_userinfo
from callspec.schemas import load_schema
from callspec.spec.plan import CallPlan, Plan
from callspec.spec.profiles import Sourced
from callspec.spec.templates import EnvVars, RenderError, render_text

DEFAULT_API_URL = "https://api.plivo.com"
AUTH_ID_PLACEHOLDER = "{auth_id}"
USER_AGENT = f"callspec/{__version__}"


@dataclass(frozen=True)
class Credentials:
    """Basic-auth user and password for the Plivo API."""

    auth_id: str
    auth_token: str

    def __repr__(self) -> str:
        return f"Credentials(auth_id={self.auth_id!r}, auth_token='***')"


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


def basic_auth_value(creds: Credentials) -> str:
    """The Authorization header's credentials (base64 of ``auth_id:token``).

    A spelling of the token that callspec itself produces, so outputs mask it
    too (a server or proxy may echo the header).
    """
    pair = f"{creds.auth_id}:{creds.auth_token}".encode("latin-1", "replace")
    return base64.b64encode(pair).decode("ascii")


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


def _credential(
    item: Sourced | None, env_name: str, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """(value or None, why it is missing)."""
    if item is None:
        value = environ.get(env_name)
        return (value or None), f"no auth in the profile and {env_name} is not set"
    try:
        value = render_text(str(item.value), {"env": EnvVars(environ)})
    except RenderError as e:
        return None, f"{item.location}: {e}"
    return (value or None), f"{item.location}: renders to an empty string"


def known_auth_id(call: CallPlan, environ: Mapping[str, str]) -> str | None:
    """The auth ID when it can be had without failing (for render), else None."""
    item = call.profile.auth_id if call.profile else None
    return _credential(item, "PLIVO_AUTH_ID", environ)[0]


def credentials_for(call: CallPlan, environ: Mapping[str, str]) -> Credentials:
    """The credentials of a live run; missing ones refuse the run (exit 4)."""
    profile = call.profile
    auth_id, why_id = _credential(profile.auth_id if profile else None, "PLIVO_AUTH_ID", environ)
    token, why_token = _credential(
        profile.auth_token if profile else None, "PLIVO_AUTH_TOKEN", environ
    )
    missing = [f"auth ID: {why_id}"] if auth_id is None else []
    if token is None:
        missing.append(f"auth token: {why_token}")
    if missing or auth_id is None or token is None:
        raise GuardError("missing credentials for a live run: " + "; ".join(missing))
    try:
        f"{auth_id}:{token}".encode("latin-1")
    except UnicodeEncodeError as e:
        raise GuardError(
            "the auth ID or token has characters HTTP basic auth cannot carry (Latin-1 only)"
        ) from e
    return Credentials(auth_id, token)


def check_api_url(url: str) -> str | None:
    """Why ``url`` is no API base URL (the profiles schema's rule), or None when it is."""
    rule = load_schema("profiles")["$defs"]["profile"]["properties"]["api_url"]
    if re.match(rule["pattern"], url):
        return None
    return f"{mask_userinfo(url)!r} {rule['x-error']}"


def to_curl(request: Request, auth_id_known: bool, secrets: Sequence[tuple[str, str]] = ()) -> str:
    """A working curl command that prints no secret.

    The token comes from ``$PLIVO_AUTH_TOKEN``; a declared secret in the body is
    spliced in from a shell variable of the same name (``$pager_pin``), so the
    command sends the real value once that variable is set, never ``***``.
    """
    user = request.auth_id if auth_id_known else "$PLIVO_AUTH_ID"
    url = (
        request.url if auth_id_known else request.url.replace(AUTH_ID_PLACEHOLDER, "$PLIVO_AUTH_ID")
    )
    body = json.dumps(request.body, indent=4)
    spliced: list[tuple[str, str]] = []
    for number, (name, value) in enumerate(sorted(secrets, key=lambda s: -len(s[1]))):
        written = json.dumps(value)[1:-1]
        marker = f"@@callspec-secret-{number}@@"
        if written and written in body:
            body = body.replace(written, marker)
            spliced.append((marker, name))
    quoted = shlex.quote(body)
    for marker, name in spliced:
        quoted = quoted.replace(marker, f"'\"${{{name}}}\"'")
    notes = "".join(
        f"# the body holds the secret {name}: set ${name} in this shell first\n"
        for _, name in spliced
    )
    return (
        f"{notes}"
        f'curl -X POST -u "{user}:$PLIVO_AUTH_TOKEN" \\\n'
        f"    -H 'Content-Type: application/json' \\\n"
        f"    -d {quoted} \\\n"
        f'    "{url}"'
    )


def render_requests(
    plan: Plan,
    fmt: Literal["json", "yaml", "curl"],
    api_url: str | None,
    environ: Mapping[str, str],
    redactor: Redactor,
) -> str:
    """The plan's requests as ``callspec render`` prints them; secrets masked as values."""
    items: list[dict[str, Any]] = []
    chunks: list[str] = []
    for call in plan.calls:
        auth_id = known_auth_id(call, environ)
        request = build_request(call, api_url_for(call, api_url), auth_id or AUTH_ID_PLACEHOLDER)
        if fmt == "curl":
            # An auth ID the profile gives is written out; one from the environment
            # stays $PLIVO_AUTH_ID, as the token stays $PLIVO_AUTH_TOKEN.
            given = auth_id is not None and call.profile is not None and call.profile.auth_id
            if not given:
                request = replace(
                    request, url=call_url(api_url_for(call, api_url), AUTH_ID_PLACEHOLDER)
                )
            curl = to_curl(request, bool(given), call.secrets)
            chunks.append(f"# {call.spec_file}: {call.name}\n{curl}")
            continue
        # Masked as values, before JSON quoting could change their spelling.
        request = replace(request, body=redactor.value(dict(request.body)))
        items.append(
            {
                "spec_file": call.spec_file,
                "call": call.name,
                "method": "POST",
                "url": request.url,
                "headers": {**request.headers, "Authorization": "Basic ***"},
                "body": dict(request.body),
            }
        )
    if fmt == "curl":
        return "\n\n".join(chunks)
    if fmt == "json":
        return json.dumps(items, indent=2)
    return str(yaml.safe_dump(items, sort_keys=False, allow_unicode=True)).rstrip("\n")
