"""What a page says and which key acknowledges it: the registration both sides share.

The runner builds a :class:`Prompt` per call, the client sends it as JSON
(:meth:`Prompt.to_json`), and the service reads it back with :func:`from_json`,
which applies the same bounds: one definition of what a registration may hold.
Every bound is here because the service must never trust what it is sent, even
over an authenticated channel: a message is plain text of at most
:data:`MAX_MESSAGE_CHARS` characters that XML can carry, a voice and language
are short names of Plivo's ``<Speak>`` shape, times and repeats are small integers.

A registration is named by an opaque ID (:func:`new_id`) that the runner makes, so
that it can journal the ``answer_url`` before anything leaves, and registering
again after a lost answer is harmless (the same ID and prompt: the same answer).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

#: Characters of a message.  Plivo documents no limit for ``<Speak>`` text; this is
#: Amazon Polly's (behind Plivo's Polly voices) 3,000 billed characters per request.
MAX_MESSAGE_CHARS = 3000
#: Times the message is spoken, each followed by a pause for the key.
MAX_REPEAT = 5
#: Seconds of silence for the key after each time the message is spoken.
MAX_PAUSE_S = 30
#: Seconds from the answer within which the key counts (Plivo ends a call after 4 h).
MAX_WITHIN_S = 4 * 3600
#: Keys that may acknowledge: ``#`` is ``<GetDigits>``' own finish key, so never one.
ACK_KEYS = "0123456789*"

_ID = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")
# XML 1.0 cannot carry these at all (a tab, newline and carriage return it can);
# lone surrogates cannot be encoded as UTF-8.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class PromptError(ValueError):
    """A registration outside the bounds: the service answers 422 with this text."""


def new_id() -> str:
    """A fresh registration ID: 24 URL-safe characters, 144 random bits."""
    return secrets.token_urlsafe(18)


def valid_id(text: str) -> bool:
    """True when ``text`` can be a registration ID (checked before any lookup)."""
    return bool(_ID.match(text))


@dataclass(frozen=True)
class Prompt:
    """What one call says, and what acknowledges it.

    ``message`` is spoken ``repeat`` times with ``voice`` and ``language`` (Plivo's
    ``<Speak>`` attributes), each time followed by ``pause_s`` seconds for the key;
    the call is acknowledged when ``digit`` is pressed within ``within_s`` seconds of
    the answer.
    """

    message: str
    voice: str = "WOMAN"
    language: str = "en-US"
    digit: str = "1"
    within_s: int = 45
    repeat: int = 2
    pause_s: int = 5

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            raise PromptError(problem)

    def to_json(self) -> dict[str, Any]:
        """The registration's JSON body."""
        return asdict(self)


def _problem(prompt: Prompt) -> str | None:
    problem = message_problem(prompt.message)
    if problem is not None:
        return f"message: {problem}"
    for name in ("voice", "language"):
        problem = speak_problem(name, getattr(prompt, name))
        if problem is not None:
            return f"{name}: {problem}"
    if not isinstance(prompt.digit, str) or len(prompt.digit) != 1 or prompt.digit not in ACK_KEYS:
        return f"digit: must be one of {' '.join(ACK_KEYS)}"
    for name, low, high in (
        ("within_s", 1, MAX_WITHIN_S),
        ("repeat", 1, MAX_REPEAT),
        ("pause_s", 1, MAX_PAUSE_S),
    ):
        value = getattr(prompt, name)
        if type(value) is not int or not low <= value <= high:
            return f"{name}: must be a whole number from {low} to {high}"
    return None


def message_problem(message: object) -> str | None:
    """What keeps ``message`` from being spoken (empty, too long, characters XML cannot
    carry); None: it can be.  A spec's rendered ``message:`` is checked by it too."""
    if not isinstance(message, str) or not message.strip():
        return "must be text that is not empty"
    if len(message) > MAX_MESSAGE_CHARS:
        return f"{len(message):,} characters; at most {MAX_MESSAGE_CHARS:,}"
    if _NOT_XML.search(message):
        return "holds control characters that XML cannot carry"
    return None


def speak_problem(name: str, value: object) -> str | None:
    """What is wrong with ``value`` as ``<Speak>``'s ``voice`` or ``language`` (the rules of
    ``schemas/plivo-xml.json``, which a spec's ``voice:`` is checked by too); None: fine."""
    from callspec.check.plivo_xml import rules  # the one copy of the rules

    rule = rules()["elements"]["Speak"]["attributes"][name]
    if not isinstance(value, str) or not re.match(rule["pattern"], value):
        return f"must be {rule['hint']}"
    return None


_FIELDS = ("message", "voice", "language", "digit", "within_s", "repeat", "pause_s")


def from_json(value: object) -> Prompt:
    """The prompt a registration's JSON body holds; :class:`PromptError` when it is not one."""
    if not isinstance(value, dict):
        raise PromptError("the body must be a JSON object")
    unknown = sorted(str(key) for key in value if key not in _FIELDS)
    if unknown:
        raise PromptError(f"unknown field {unknown[0][:40]!r}")
    if "message" not in value:
        raise PromptError("message: is required")
    return Prompt(**{key: value[key] for key in _FIELDS if key in value})
