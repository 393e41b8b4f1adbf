"""Refusing a run before anything is sent: credentials, secrets and ``max_calls``.

Each raises :class:`~callspec.errors.GuardError` (exit 4); a secret from the
environment (``secrets: [{env: NAME}]``) that a live run needs is one more
credential.  ``max_calls`` counts destinations (each phone of a bulk call) of the
calls this run will really send, so it is checked after ``--resume`` decided what
not to send.
"""

from __future__ import annotations

from collections.abc import Mapping

from callspec.delivery.credentials import Credentials, credentials_for
from callspec.errors import GuardError
from callspec.results import Mode
from callspec.spec.plan import CallPlan, Plan


def destinations(call: CallPlan) -> int:
    """How many phones a call rings (bulk ``to`` counts each destination)."""
    return len(str(call.body.get("to", "")).split("<"))


def profile_limit(
    calls: tuple[CallPlan, ...], given: float | int | None, attr: str
) -> float | None:
    """``given`` (an option), else the smallest of the calls' profiles' ``attr``, else None."""
    if given is not None:
        return given
    values = [getattr(c.profile, attr) for c in calls if c.profile is not None]
    values = [v for v in values if v is not None]
    return min(values) if values else None


def check_credentials(
    plan: Plan, mode: Mode, given: Credentials | None, environ: Mapping[str, str]
) -> list[Credentials]:
    """Credentials of each call, in plan order; missing ones refuse the run (GuardError, exit 4).

    Empty for a dry run.  By position, never by key: two calls alike in every
    other way may belong to two accounts.
    """
    if mode == "dry-run":
        return []
    if mode == "live":
        _refuse_pending_secrets(plan)
    if given is not None:
        return [given] * len(plan.calls)
    creds: list[Credentials] = []
    shared: dict[Credentials, Credentials] = {}  # one object per account, not one per call
    problems: dict[str, list[str]] = {}  # message -> the calls it stops
    for call in plan.calls:
        try:
            found = credentials_for(call, environ)
            creds.append(shared.setdefault(found, found))
        except GuardError as e:
            problems.setdefault(str(e), []).append(f"{call.spec_file}:{call.name}")
    if problems:
        lines = []
        for message, calls in problems.items():
            more = f" (+{len(calls) - 3} more)" if len(calls) > 3 else ""
            lines.append(f"{message} [{', '.join(calls[:3])}{more}]")
        raise GuardError("\n".join(lines))
    return creds


def _refuse_pending_secrets(plan: Plan) -> None:
    """A live run refuses to send a call whose body waits for a secret from the environment
    that is not set (it holds a stand-in); validate, render, a dry run and the sandbox go on."""
    missing = {secret.env: secret for call in plan.calls for secret in call.pending}
    if missing:
        lines = [secret.missing() for _, secret in sorted(missing.items())]
        raise GuardError("; nothing was sent\n".join(lines) + "; nothing was sent")


def check_max_calls(plan: Plan, sending: list[CallPlan], given: int | None) -> None:
    """Refuse (GuardError) a run that would place more than ``max_calls`` calls.

    Only calls this run will send count: after ``--resume``, the ones the
    journal shows placed are not placed again.
    """
    max_calls = profile_limit(plan.calls, given, "max_calls")
    total = sum(destinations(c) for c in sending)
    if max_calls is not None and total > max_calls:
        raise GuardError(
            f"refusing to place {total} calls ({len(sending)} requests), more than "
            f"max_calls {int(max_calls)}; nothing was sent (raise the limit with --max-calls)"
        )
