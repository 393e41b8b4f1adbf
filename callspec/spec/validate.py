"""Normalize a call's arguments to canonical types and check them against the call schema.

This module owns the step from "arguments as a person wrote them" to "the body
Plivo receives": numbers and booleans written as strings become JSON numbers
and booleans, methods become upper-case, a ``to`` list is joined with ``<`` and
a ``sip_headers`` mapping becomes ``k=v,...``.  Which conversion applies to an
argument is read from the schema's ``x-normalize`` annotation, and every rule is
the schema's, plus the cross-field rules a JSON Schema cannot say.  The sandbox
uses :func:`check_request_body` so that both ends of the wire agree.

Longer than most: the normalizers, the schema's error wording and the rules a
JSON Schema cannot say all read the same argument table, and other stages
borrow its wording (``show``, ``quote``, ``suggest``) so messages read alike.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callspec.schemas import call_properties, load_schema, valid_check, validator
from callspec.spec.loader import WrittenFloat, WrittenInt, describe
from callspec.spec.numbers import destination_key as destination_key  # its home; said here too

if TYPE_CHECKING:
    from jsonschema import ValidationError

MAX_DESTINATIONS = 1000
#: A value whose quoted form is longer than this is shown cut short, with its length.
MAX_SHOWN = 200
_KEPT = 60
#: Masks secrets in a text (a Redactor's ``text``); messages mask a value before cutting it.
Mask = Callable[[str], str]
_INT_TEXT = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_DECIMAL = re.compile(r"^[+-]?(?:0|[1-9][0-9]*)$")
_WRITTEN = (WrittenInt, WrittenFloat)
_TYPE_NAMES = {
    "integer": "an integer",
    "boolean": "a boolean (true or false)",
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "number": "a number",
}


@dataclass(frozen=True)
class BodyIssue:
    """One problem in a call body; ``arg`` is the argument it concerns (None: the whole call)."""

    arg: str | None
    message: str


def _as_text(value: Any) -> Any:
    """Integers written where text is meant (phone numbers, digits) become their text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _scalar_text(value: Any) -> str:
    """A scalar inside a joined string: booleans as YAML and JSON spell them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(_as_text(value))


def _to_int(value: Any) -> Any:
    if isinstance(value, int):
        if isinstance(value, bool) or _miswritten(value):
            return value  # check_body reports how YAML read 010 or 0x10
        return int(value)
    if isinstance(value, float):
        if isinstance(value, WrittenFloat):  # YAML's 300.0: reported as written; 1.5: a float
            return value if value.is_integer() else float(value)
        if value.is_integer():
            return int(value)  # JSON Schema counts 300.0 as an integer; Plivo gets 300
    if isinstance(value, str) and _INT_TEXT.match(value):
        return int(value)
    return value


def _miswritten(value: Any) -> bool:
    """An integer YAML read from other than plain decimal: 010 (octal), 0x10, 1:30, 1.0e+3."""
    if isinstance(value, WrittenInt):
        return not _DECIMAL.match(value.text)
    return isinstance(value, WrittenFloat) and value.is_integer()


@functools.cache
def _integer_args() -> frozenset[str]:
    return frozenset(n for n, p in call_properties().items() if p.get("x-normalize") == "integer")


def _as_yaml_read(arg: str, value: WrittenInt | WrittenFloat) -> BodyIssue:
    return BodyIssue(arg, as_yaml_read(value))


def as_yaml_read(value: WrittenInt | WrittenFloat) -> str:
    """Why a number YAML read otherwise than it looks is refused, and what to write."""
    text = value.text if len(value.text) <= MAX_SHOWN else f"{value.text[:_KEPT]}…"
    meant = f"{int(value)}"
    if isinstance(value, WrittenFloat) and _DECIMAL.match(value.text):  # tagged !!float
        return f"!!float {text} is a float, not an integer; write {meant}"
    # Quoted digits are read as decimal: "010" is sent as 10.
    quoted = f' or "{value.text}"' if _INT_TEXT.match(value.text) and text == value.text else ""
    return (
        f"{text} is not a plain decimal integer (YAML reads it as {value!r}); write {meant}{quoted}"
    )


def miswritten(value: Any) -> str | None:
    """Why a YAML number written otherwise than plain decimal is refused, or None.

    A variable written ``010`` renders as its text, then reads as decimal 10,
    where YAML had read 8: such a value is refused wherever it is written.
    """
    if isinstance(value, WrittenInt | WrittenFloat) and _miswritten(value):
        return as_yaml_read(value)
    return None


def _to_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _method(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _machine_detection(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip().lower() if isinstance(value, str) else value


def _destinations(value: Any) -> Any:
    if isinstance(value, list):
        return "<".join(_scalar_text(v).strip() for v in value)
    return _as_text(value)


def _sip_headers(value: Any) -> Any:
    if isinstance(value, dict):
        return ",".join(f"{k}={_scalar_text(v)}" for k, v in value.items())
    return value


_NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_int,
    "boolean": _to_bool,
    "method": _method,
    "machine_detection": _machine_detection,
    "destinations": _destinations,
    "sip_headers": _sip_headers,
}


def normalize(args: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical types for every known argument; unknown ones pass through untouched."""
    props = call_properties()
    body: dict[str, Any] = {}
    for name, value in args.items():
        prop = props.get(name)
        if prop is None:
            body[name] = value
            continue
        convert = _NORMALIZERS.get(prop.get("x-normalize", ""))
        if convert is not None:
            value = convert(value)
        if prop.get("type") == "string":
            value = _as_text(value)
        body[name] = value
    return body


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The one did-you-mean of callspec: the choice nearest to ``name`` (difflib's ratio of
    at least ``cutoff``), else one that differs only in case; None when none is near."""
    import difflib  # only to word a problem: a valid spec never asks

    options = list(choices)
    close = difflib.get_close_matches(name, options, n=1, cutoff=cutoff)
    if close:
        return close[0]
    folded = name.casefold()
    return next((c for c in options if c.casefold() == folded), None)


def suggest(name: str, choices: Iterable[str]) -> str:
    """``; did you mean 'answer_url'?`` or the empty string (see :func:`closest`)."""
    close = closest(name, choices)
    return f"; did you mean '{close}'?" if close else ""


def unmasked(text: str) -> str:
    """The :data:`Mask` of a caller that knows no secrets."""
    return text


def check_body(body: Mapping[str, Any], mask: Mask = unmasked) -> list[BodyIssue]:
    """Every problem with a normalized body: unknown names, schema rules, cross-field rules.

    ``mask`` hides secrets in the values messages quote, before long ones are cut short.
    """
    schema = load_schema("call")
    props = schema["properties"]
    issues: list[BodyIssue] = []
    for name in body:
        if name not in props:
            hint = suggest(name, list(props))
            issues.append(BodyIssue(name, f"unknown argument {quote(name, mask)}{hint}"))
    # normalize() leaves a YAML integer as written only when it is not plain decimal.
    miswritten: set[str] = set()
    for name, value in body.items():
        if type(value) in _WRITTEN and name in _integer_args() and _miswritten(value):
            miswritten.add(name)
            issues.append(_as_yaml_read(name, value))
    if issues or not valid_check("call")(body):
        errors = list(validator("call").iter_errors(body))
        # A value of the wrong type fails its enum or pattern too; say only the first.
        mistyped = {e.absolute_path[0] for e in errors if e.validator == "type" and e.absolute_path}
        for error in errors:
            if error.absolute_path and error.absolute_path[0] in miswritten:
                continue  # said above, in the terms the user wrote it in
            if (
                error.validator != "type"
                and error.absolute_path
                and error.absolute_path[0] in mistyped
            ):
                continue
            issue = _translate(error, mask)
            if issue is not None:
                issues.append(issue)
    issues.extend(_cross_field(body, mask))
    return issues


def check_request_body(body: Mapping[str, Any]) -> list[str]:
    """For a server: normalize the body as Plivo accepts it and list what is wrong."""
    return [f"{i.arg}: {i.message}" if i.arg else i.message for i in check_body(normalize(body))]


def _arg(error: ValidationError) -> str | None:
    """The top-level argument an error is about, if any."""
    return str(error.absolute_path[0]) if error.absolute_path else None


def _translate(error: ValidationError, mask: Mask) -> BodyIssue | None:
    """A jsonschema error on a call body, attributed to its argument."""
    if error.validator == "additionalProperties":
        return None  # check_body reports these by name, with a suggestion
    rule = _rule(error)
    if rule is not None:
        return BodyIssue(rule.get("x-argument"), rule.get("x-error", error.message))
    if error.validator == "required":
        return BodyIssue(None, f"missing required argument '{missing_name(error)}'")
    return BodyIssue(_arg(error), error_message(error, mask))


def _rule(error: ValidationError) -> dict[str, Any] | None:
    """The schema's cross-argument rule (``allOf[i]``) an error comes from, if any."""
    path = list(error.absolute_schema_path)
    if len(path) >= 2 and path[0] == "allOf" and isinstance(path[1], int):
        rules: list[dict[str, Any]] = load_schema("call")["allOf"]
        return rules[path[1]]
    return None


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def missing_name(error: ValidationError) -> str:
    """The property a ``required`` error is about (jsonschema reports one per name)."""
    match = _REQUIRED.match(str(error.message))
    if match:
        return match.group(1)
    required = error.validator_value
    instance = error.instance
    if isinstance(required, list) and isinstance(instance, dict):
        for name in required:
            if name not in instance:
                return str(name)
    return "?"


def error_message(error: ValidationError, mask: Mask = unmasked) -> str:
    """A jsonschema error on one value in words a person reads."""
    kind = error.validator
    value: Any = error.instance
    expected: Any = error.validator_value
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "dependentRequired" and isinstance(value, dict):
        for key, needs in dict(expected).items():
            missing = [n for n in needs if key in value and n not in value]
            if missing:
                return f"'{key}' needs '{missing[0]}' beside it"
    if kind in ("oneOf", "anyOf", "not") and "x-error" in subschema:
        return f"{show(value, mask)} {subschema['x-error']}"
    if kind == "type":
        expected = _TYPE_NAMES.get(str(error.validator_value), f"{error.validator_value}")
        return f"expected {expected}, got {describe(value)} {show(value, mask)}"
    if kind == "pattern":
        hint = subschema.get("x-error", f"does not match {error.validator_value}")
        if subschema.get("x-explain") == "url" and isinstance(value, str):
            from callspec.spec.urls import url_problem

            hint = url_problem(value, hint)  # what is wrong with this URL, not every rule
        elif subschema.get("x-explain") == "base-url" and isinstance(value, str):
            from callspec.spec.urls import base_url_problem

            hint = base_url_problem(value, hint)
        # The hint may quote the value's host or port: it is masked as the value is.
        return f"{show(value, mask)} {mask(hint)}"
    if kind == "enum":
        allowed = " or ".join(repr(v) for v in expected)
        return f"{show(value, mask)} is not allowed: use {allowed}"
    if kind == "const":
        return f"must be {error.validator_value!r}, not {show(value, mask)}"
    if kind == "maxLength":
        shown = show(value, mask, length=False)
        return f"{shown} is {len(value):,} characters, more than {error.validator_value}"
    if kind == "minLength":
        return "must not be empty"
    if kind == "minItems":
        return f"needs at least {error.validator_value} item(s)"
    return str(error.message)


def show(value: Any, mask: Mask = unmasked, length: bool = True) -> str:
    """A value as every message quotes it: ``'abc'``, or ``'aaaa…' (3,000,000 characters)``.

    The whole value is masked before a long one is cut: a secret cut in half could
    no longer be recognized, and its first half would leak.  ``length=False`` leaves
    the length out, for a message that states it anyway.
    """
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML and JSON spell them
    if value is None:
        return "null"
    text = mask(repr(value))
    if len(text) <= MAX_SHOWN:
        return text
    if isinstance(value, str):
        cut, size = f"{text[:_KEPT]}…{text[0]}", f"{len(value):,} characters"
    else:
        items = len(value) if isinstance(value, Sized) else 0
        cut, size = f"{text[:_KEPT]}…", f"{items:,} items" if items else f"{len(text):,} characters"
    return f"{cut} ({size})" if length else cut


def quote(text: str, mask: Mask = unmasked) -> str:
    """A name as messages quote it, ``'answer_ulr'``: cut short like :func:`show` when long."""
    masked = mask(text)
    if len(masked) + 2 <= MAX_SHOWN:
        return f"'{masked}'"
    return f"'{masked[:_KEPT]}…' ({len(text):,} characters)"


def _cross_field(body: Mapping[str, Any], mask: Mask) -> list[BodyIssue]:
    to = body.get("to")
    if not isinstance(to, str) or not to:
        return []
    destinations = to.split("<")
    # One pass (a quadratic count would hang on a long list); two spellings of one
    # phone (+1415... and 1415..., SIP hosts in another case) are one destination.
    seen: dict[str, str] = {}
    repeated: dict[str, str] = {}
    for destination in destinations:
        key = destination_key(destination)
        if key in seen:
            repeated.setdefault(key, seen[key])
        else:
            seen[key] = destination
    unique = seen
    issues: list[BodyIssue] = []
    if repeated:
        twice = sorted(repeated.values())
        issues.append(
            BodyIssue(
                "to",
                f"{', '.join(show(d, mask) for d in twice[:3])} appears more than once: "
                "that phone would ring more than once",
            )
        )
    if len(unique) > MAX_DESTINATIONS:
        issues.append(
            BodyIssue(
                "to",
                f"has {len(unique)} unique destinations; Plivo allows at most {MAX_DESTINATIONS}",
            )
        )
    caller = body.get("from")
    if isinstance(caller, str) and destination_key(caller) in unique:
        issues.append(
            BodyIssue(
                "from",
                f"{show(caller, mask)} is also a destination in 'to'; Plivo refuses the call",
            )
        )
    if "parent_call_uuid" in body and len(destinations) > 1:
        issues.append(
            BodyIssue(
                "parent_call_uuid",
                f"needs a single destination, but 'to' has {len(destinations)}",
            )
        )
    return issues
