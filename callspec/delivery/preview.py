"""The ``render`` command: the plan's requests as JSON, YAML or a working curl command.

Built with the same builder a run uses, so what it shows is what a run sends;
credentials never appear (the token is read from ``$PLIVO_AUTH_TOKEN`` by the
curl command, declared secrets are spliced in from shell variables).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import yaml

from callspec.delivery.credentials import known_auth_id
from callspec.delivery.request import (
    AUTH_ID_PLACEHOLDER,
    Request,
    api_url_for,
    build_request,
    call_url,
)
from callspec.redact import Redactor
from callspec.spec.pages import answer_url_shown
from callspec.spec.plan import CallPlan, Plan
from callspec.text import escape_controls


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


def _escalation(call: CallPlan) -> dict[str, Any]:
    """An escalation step's place in its chain, for JSON and YAML (nothing for other calls)."""
    e = call.escalate
    if e is None:
        return {}
    return {
        "escalate": {
            "chain": e.chain,
            "step": e.step,
            "steps": e.steps,
            "until": e.until,
            "answer_within": e.answer_within,
            **({"round": e.round, "rounds": e.rounds, "after": e.after} if e.rounds > 1 else {}),
        }
    }


def _step_note(call: CallPlan) -> str:
    """`` (escalation step 2 of 3: ...)`` for a curl command's comment."""
    e = call.escalate
    if e is None:
        return ""
    until = {"human": "answered by a human", "acknowledged": "acknowledged"}
    round_of = f", round {e.round} of {e.rounds}" if e.rounds > 1 else ""
    return (
        f" (escalation {e.chain}, step {e.step} of {e.steps}{round_of}: sent only when no "
        f"earlier step was {until.get(e.until, 'answered')} within {e.answer_within:g} s)"
    )


def _page(call: CallPlan, service: str | None) -> dict[str, Any]:
    """A call's message, how it is spoken, what acknowledges it and the answer service that
    speaks it, for JSON and YAML (nothing for a call without ``message:``)."""
    message = call.message
    if message is None:
        return {}
    ack = message.ack
    return {
        "message": {
            "text": message.text,
            "voice": message.voice,
            "language": message.language,
            "ack": None if ack is None else {"digit": ack.digit, "within": ack.within},
            "service": service,
        }
    }


def _page_note(call: CallPlan, service: str | None) -> str:
    """A curl command's comment on a call with ``message:``: its answer_url is made when
    it is sent (the message registered first); the rest of the command is as sent."""
    if call.message is None:
        return ""
    at = service or "the answer service (run --service URL)"
    return (
        f"\n# answer_url: made when sent, once {at} holds its message: "
        "this command's placeholder does not ring with it"
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
        service = call.profile.service if call.profile else None
        if call.message is not None:
            body = {**request.body, "answer_url": answer_url_shown(service)}
            request = replace(request, body=body)
        if fmt == "curl":
            # An auth ID the profile gives is written out; one from the environment
            # stays $PLIVO_AUTH_ID, as the token stays $PLIVO_AUTH_TOKEN.
            given = auth_id is not None and call.profile is not None and call.profile.auth_id
            if not given:
                request = replace(
                    request, url=call_url(api_url_for(call, api_url), AUTH_ID_PLACEHOLDER)
                )
            # A profile's secret from the environment is the shell's variable of that name,
            # set here or not (then its stand-in is what the body holds).
            env_of = {s.var: s.env for s in (call.profile.runtime if call.profile else ())}
            known = ((env_of.get(name, name), value) for name, value in call.secrets)
            pending = ((s.env, s.stand_in) for s in call.pending)
            curl = to_curl(request, bool(given), (*pending, *known))
            held = f" (held back, not sent: {call.held})" if call.held else ""
            comment = _comment(f"{call.spec_file}: {call.name}{_step_note(call)}{held}")
            comment += _page_note(call, service)
            chunks.append(f"# {comment}\n{curl}")
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
                **_escalation(call),
                **redactor.value(_page(call, service)),
                # A person in quiet hours: a run records the call skipped with this reason.
                **({"held": call.held} if call.held else {}),
            }
        )
    if fmt == "curl":
        return "\n\n".join(chunks)
    if fmt == "json":
        return json.dumps(items, indent=2)
    return str(yaml.safe_dump(items, sort_keys=False, allow_unicode=True)).rstrip("\n")


def _comment(text: str) -> str:
    """``text`` as one shell comment line: a newline (or any control character) in a name
    or path is spelled out (``\\n``), so a pasted script never runs what follows it."""
    return escape_controls(text)
