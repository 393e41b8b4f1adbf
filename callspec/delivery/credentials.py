"""Who signs a request: the credentials of a live run, and the basic-auth spelling outputs mask.

Credentials are rendered from the profile (``auth_id``, ``auth_token``) only
when a request is really to be sent, else taken from ``PLIVO_AUTH_ID`` /
``PLIVO_AUTH_TOKEN`` as the official SDKs do; a missing one refuses the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callspec.errors import GuardError
from callspec.redact import basic_auth
from callspec.spec.plan import CallPlan
from callspec.spec.profiles import Sourced
from callspec.spec.templates import EnvVars, RenderError, render_text


@dataclass(frozen=True)
class Credentials:
    """Basic-auth user and password for the Plivo API."""

    auth_id: str
    auth_token: str

    def __repr__(self) -> str:
        return f"Credentials(auth_id={self.auth_id!r}, auth_token='***')"


def basic_auth_value(creds: Credentials) -> str:
    """The Authorization header's credentials (base64 of ``auth_id:token``).

    A spelling of the token that callspec itself produces, so outputs mask it
    too (a server or proxy may echo the header).
    """
    return basic_auth(creds.auth_id, creds.auth_token)


def _credential(
    item: Sourced | None, env_name: str, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """(value or None, why it is missing)."""
    if item is None:
        value = environ.get(env_name)
        return (value or None), f"no auth in the profile and {env_name} is not set"
    try:
        # The one template that reads callspec's own credentials (no other may).
        value = render_text(str(item.value), {"env": EnvVars(environ, hidden=())})
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
