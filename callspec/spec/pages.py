"""What a page says and what acknowledges it: a call's ``message:``, ``voice:`` and ``ack:``.

This module owns turning those keys of a spec entry into the plan's
:class:`~callspec.spec.model.Message`: ``message`` and ``voice`` are rendered as
templates with the call's variables (as every argument is), then checked by the
rules the answer service applies to what it is sent
(:mod:`callspec.serve.prompt`: the message's length and characters; ``<Speak>``'s
voice and language, from ``schemas/plivo-xml.json``), so that a run never sends a
call whose message the service would refuse.  And the rules that tie the keys to
the call: ``voice`` and ``ack`` need ``message``; a call with ``message`` gets its
``answer_url`` from the service, so it gives none (in any layer: profile, spec
``defaults`` or the call).

Problems are handed to the caller's ``report`` with the value's source, so they are
located where they were written (a roster row's line when the value read the row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from callspec.spec.loader import Document
from callspec.spec.model import Ack, CallPlan, Message
from callspec.spec.profiles import Sourced
from callspec.spec.templates import RenderError

#: callspec's own keys of a call that make it a page (none is a Plivo argument).
PAGE_KEYS = ("message", "voice", "ack", "repeat", "cooldown")
#: What stands in for the service's answer URL while a body is checked (the real one is
#: made when the call is sent: it holds the registration's ID).
ANSWER_URL_STAND_IN = "https://answer-service.invalid/plivo/answer/registration"

#: (the value's source, its path under the call, what is wrong, whether every roster row
#: fails alike): where a problem goes.
Report = Callable[[Sourced | None, str, str, bool], None]
#: Render a value as a template; raises :class:`RenderError`.
Render = Callable[[Any], Any]


def message_of(
    call: Mapping[str, Any],
    doc: Document,
    base: tuple[str | int, ...],
    args: Mapping[str, Sourced],
    render: Render,
    reads_row: Callable[[Any], bool],
    columns: tuple[str, ...],
    report: Report,
) -> tuple[Message | None, bool]:
    """The call's :class:`Message` (None when it has no ``message:``), and whether it is
    sound (False: its problems were reported)."""

    def source(*keys: str) -> Sourced:
        value: Any = call
        for key in keys:
            value = value[key]
        return Sourced(value, (doc, (*base, *keys)))

    ok = True
    if "repeat" in call and "escalate" not in call:
        report(source("repeat"), "repeat", "repeat goes with escalate: the chain runs again", True)
        ok = False
    if "message" not in call:
        lonely = [key for key in ("voice", "ack") if key in call]
        for key in lonely:
            report(
                source(key),
                key,
                f"{key} goes with message: callspec's answer service speaks the message "
                "and collects the key (a call with its own answer_url says what it says)",
                True,
            )
        return None, ok and not lonely
    if "answer_url" in args:
        report(
            args["answer_url"],
            "answer_url",
            "a call with message gets its answer_url from callspec's answer service (it "
            "speaks the message): give one or the other",
            True,
        )
        ok = False
    from callspec.serve.prompt import message_problem, speak_problem

    said: dict[str, str] = {}
    voice = call.get("voice") or {}
    wanted = [("message",), *(("voice", key) for key in ("voice", "language") if key in voice)]
    for keys in wanted:
        item = source(*keys)
        path = ".".join(keys)
        try:
            value = render(item.value)
        except RenderError as e:
            report(item, path, str(e), e.for_every_row(columns))
            ok = False
            continue
        speak = keys[-1]
        problem = message_problem(value) if speak == "message" else speak_problem(speak, value)
        if problem is not None:
            report(item, path, problem, not reads_row(item.value))
            ok = False
            continue
        said[keys[-1]] = value
    if not ok:
        return None, False
    ack = None
    if "ack" in call:
        entry = call["ack"] or {}
        # A digit written as a YAML number (ack: {digit: 1}) is the key 1.
        ack = Ack(str(entry.get("digit", Ack.digit)), int(entry.get("within", Ack.within)))
    message = Message(said["message"], ack=ack)
    if "voice" in said:
        message = replace(message, voice=said["voice"])
    if "language" in said:
        message = replace(message, language=said["language"])
    return message, True


def answer_url_shown(service: str | None) -> str:
    """The ``answer_url`` a call with ``message:`` is sent with, as render and explain show
    it before the send: the registration's ID is made only then."""
    return f"{(service or '<service>').rstrip('/')}/plivo/answer/<registration>"


def page_settings(call: CallPlan) -> list[tuple[str, Any, tuple[str, ...] | None]]:
    """A page's settings as ``explain`` lists them: (name, value, the keys it was written
    at under the call, or None for callspec's default)."""
    found: list[tuple[str, Any, tuple[str, ...] | None]] = []
    message = call.message
    if message is not None:
        found.append(("message", message.text, ("message",)))
        found += [
            ("voice", message.voice, ("voice", "voice")),
            ("language", message.language, ("voice", "language")),
        ]
        if message.ack is not None:
            found += [
                ("ack.digit", message.ack.digit, ("ack", "digit")),
                ("ack.within", message.ack.within, ("ack", "within")),
            ]
    e = call.escalate
    if e is not None and e.rounds > 1:
        found += [
            ("repeat.times", e.rounds - 1, ("repeat", "times")),
            (
                "repeat.after",
                int(e.after) if e.after.is_integer() else e.after,
                ("repeat", "after"),
            ),
        ]
    if call.cooldown is not None:
        found.append(("cooldown", call.cooldown, ("cooldown",)))
    return found
