"""Reading a Make-a-call request body as Plivo would, and what is wrong with it.

JSON whatever the Content-Type (curl sends JSON as a form by default), else
form fields; checked with the same schema as callspec.  Hostile bodies (nested
past :data:`MAX_JSON_DEPTH`, a key twice, not UTF-8, a ``to`` that is no
string) get Plivo's 400 words, never a traceback.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from callspec.spec.validate import check_request_body

_UNREADABLE = "the body must be a JSON object or form-encoded arguments"


MAX_JSON_DEPTH = 32  # a call body is one object of strings and numbers


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


_BRACKETS = re.compile(r"[\[\]{}]")


def check(raw: bytes) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """The parsed body and what is wrong with it (never empty when the body is None)."""
    body = _parse_body(raw)
    if isinstance(body, str):
        return None, (body,)
    to = body.get("to")
    if "to" in body and not isinstance(to, str):
        # check_request_body takes a spec's YAML list or number (and joins it);
        # Plivo's API takes destinations as one string.
        kind = _JSON_KINDS.get(type(to), "not text")
        return body, (f"to: must be a string (destinations joined with '<'), not {kind}",)
    return body, tuple(check_request_body(body))


_JSON_KINDS = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _parse_body(raw: bytes) -> dict[str, Any] | str:
    """A JSON object whatever the Content-Type (curl's default is form), else form fields;
    or why the body cannot be read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _UNREADABLE
    if text.lstrip()[:1] in ("[", "{") and _too_deep(text):
        return f"the body is nested more than {MAX_JSON_DEPTH} levels deep"
    try:
        parsed = json.loads(text, object_pairs_hook=_no_twice) if text.strip() else {}
    except _Twice as e:
        return f"the body gives '{e}' more than once"
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=1000)
    except ValueError:
        return _UNREADABLE
    twice = next((name for name, values in fields.items() if len(values) > 1), None)
    if twice is not None:  # which one would a server take? Plivo's answer is not known: refuse
        return f"the body gives '{twice}' more than once"
    return {name: values[0] for name, values in fields.items()}


class _Twice(ValueError):
    """A JSON object with one key twice (the key is the message)."""


def _no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``{"to": A, "to": B}``)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _Twice(key)
        data[key] = value
    return data


def _too_deep(text: str) -> bool:
    """More than MAX_JSON_DEPTH levels of [ and { (outside strings)?

    Checked before json.loads, which recurses: at 100,000 levels it raises
    RecursionError, and whatever else runs at that depth (a garbage collector's
    finalizer) fails too.  A body with few brackets cannot be deep: one count.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket[0] in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False
