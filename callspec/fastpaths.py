"""The check derived from a schema: an exact ``is_valid`` without jsonschema.

:func:`derived_check` turns a schema file (draft 2020-12) into nested Python
checks, one per keyword, references followed, exactly as ``Draft202012Validator``
without a format checker decides.  A spec whose documents and bodies pass it never
imports jsonschema (about 70 ms of start-up); only a document or body that fails it
goes to the full validator, which words the errors.  ``python bench/bench_validate.py``
measures it (10,000 calls: a 10,000-call document in about 0.09 s, its bodies in
0.11 s, where a compiled jsonschema validator takes several times that), and
``tests/spec/test_fast_validation.py`` checks it against jsonschema (3,000 random
bodies, hundreds of random specs and profiles files, each keyword on its own) and
that every shipped schema has one.

Two other fast paths stay with what they speed up: the loader's memo of YAML tag
resolution (``spec/loader.py``) and the memo of rendered templates
(``spec/jinja_env.py``).
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

Check = Callable[[Any], bool]

_DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"

#: Keywords that say nothing about validity (jsonschema ignores them too), ``x-`` aside;
#: ``format`` too, which 2020-12 makes an annotation unless a format checker is asked for.
_ANNOTATIONS = frozenset(
    {"$schema", "$defs", "$comment", "title", "description", "examples", "default",
     "deprecated", "readOnly", "writeOnly", "then", "else", "format"}
)  # fmt: skip
# "then" and "else" act only through "if" (alone, jsonschema ignores them as well).


class _Unsupported(Exception):
    """The schema uses what the derived check does not implement: no derived check."""


def derived_check(
    schema: Mapping[str, Any], documents: Callable[[str], Mapping[str, Any] | None]
) -> Check | None:
    """An exact ``is_valid`` for ``schema`` (draft 2020-12, as ``Draft202012Validator``
    without a format checker decides it), made from the schema itself; None when the
    schema uses a keyword this does not implement.

    ``documents`` gives the schema document of an absolute ``$id`` (for references to
    other files), or None.  Any exception while checking counts as "not valid": the
    caller then runs the full validator, so a doubt costs time, never a wrong verdict.
    """
    try:
        check = _Deriver(documents).document(schema)
    except _Unsupported:
        return None

    def safe(instance: Any) -> bool:
        try:
            return check(instance)
        except Exception:
            return False

    return safe


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_CLASSES: dict[str, type | tuple[type, ...]] = {
    "string": str, "object": dict, "array": list, "boolean": bool
}  # fmt: skip
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


class _True:
    """Stands for ``True`` and ``False`` where JSON Schema keeps them apart from 1 and 0."""


_TRUE, _FALSE = _True(), _True()


def _unbool(value: Any) -> Any:
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema's ``enum``, ``const`` and ``uniqueItems`` mean it (as
    jsonschema's ``equal``): ``true`` is not ``1``, lists and mappings compared item by item."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        if len(one) != len(two):
            return False
        return all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and json_equal(value, two[key]) for key, value in one.items()
        )
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    """No two items equal (jsonschema's ``uniq``: sorted when they sort, else pairwise)."""
    try:
        ordered = sorted(_unbool(i) for i in items)
        return not any(json_equal(a, b) for a, b in itertools.pairwise(ordered))
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in items:
            item = _unbool(item)
            if any(json_equal(s, item) for s in seen):
                return False
            seen.append(item)
        return True


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the common cases spelled out: a generator costs more than they do
        first, second = checks
        return lambda value: first(value) and second(value)
    if len(checks) == 3:
        first, second, third = checks
        return lambda value: first(value) and second(value) and third(value)

    def every(value: Any) -> bool:
        return all(check(value) for check in checks)

    return every


class _Deriver:
    """Turns a schema into nested checks, one per keyword; references followed once each."""

    def __init__(self, documents: Callable[[str], Mapping[str, Any] | None]) -> None:
        self.documents = documents
        self.refs: dict[str, Check] = {}
        self.known: dict[str, Mapping[str, Any]] = {}  # documents by URI ("": without $id)

    def document(self, schema: Mapping[str, Any]) -> Check:
        base = schema.get("$id", "")
        if not isinstance(base, str):
            raise _Unsupported("$id")
        self.known[base] = schema
        return self.schema(schema, base, root=True)

    def schema(self, node: Any, base: str, root: bool = False) -> Check:
        if root and isinstance(node, dict) and node.get("$schema", _DRAFT2020) != _DRAFT2020:
            raise _Unsupported("another draft")
        if node is True:
            return lambda value: True
        if node is False:
            return lambda value: False
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        if "$id" in node and not root:
            raise _Unsupported("$id below the top")  # a new base URI: not followed here
        checks: list[Check] = []
        for key, arg in node.items():
            if key.startswith("x-") or key in _ANNOTATIONS or key == "$id":
                continue
            # "$ref" is k__ref; no other keyword starts with "_" or "$" (an unknown one
            # would mean nothing to jsonschema, but is left to it all the same).
            make: Callable[[Any, Any, str], Check] | None
            if key == "$ref":
                make = self.k__ref
            else:
                make = None if key[:1] in ("_", "$") else getattr(self, f"k_{key}", None)
            if make is None:
                raise _Unsupported(key)
            checks.append(make(arg, node, base))
        return _all(checks)

    # Each k_<keyword> returns the check of one keyword, exactly as 2020-12 defines it.

    def k_type(self, arg: Any, node: Any, base: str) -> Check:
        names = arg if isinstance(arg, list) else [arg]
        if any(n not in _TYPES for n in names):
            raise _Unsupported(f"type {arg!r}")
        if len(names) == 1:
            return _TYPES[names[0]]
        # Several: one isinstance for the plain kinds, then number, integer or null.
        classes = tuple(_CLASSES[n] for n in names if n in _CLASSES)
        rest = [_TYPES[n] for n in names if n not in _CLASSES]
        if not rest:
            return lambda value: isinstance(value, classes)
        return lambda value: isinstance(value, classes) or any(t(value) for t in rest)

    def k_enum(self, arg: Any, node: Any, base: str) -> Check:
        if not isinstance(arg, list):
            raise _Unsupported("enum")
        # A string equals only a string (json_equal compares them with ==): one lookup.
        texts = frozenset(a for a in arg if isinstance(a, str))
        others = [a for a in arg if not isinstance(a, str)]

        def check(value: Any) -> bool:
            if isinstance(value, str):
                return value in texts
            return any(json_equal(a, value) for a in others)

        return check

    def k_const(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: json_equal(value, arg)

    def k_pattern(self, arg: Any, node: Any, base: str) -> Check:
        compiled: list[re.Pattern[str]] = []  # on first use: most bodies use few arguments

        def check(value: Any) -> bool:
            if not isinstance(value, str):
                return True
            if not compiled:
                compiled.append(re.compile(arg))
            return compiled[0].search(value) is not None

        return check

    def k_maxLength(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= arg

    def k_minLength(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= arg

    def k_minimum(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not _is_number(value) or not value < arg

    def k_maximum(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not _is_number(value) or not value > arg

    def k_exclusiveMinimum(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not _is_number(value) or not value <= arg

    def k_exclusiveMaximum(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not _is_number(value) or not value >= arg

    def k_minItems(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= arg

    def k_maxItems(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= arg

    def k_minProperties(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= arg

    def k_maxProperties(self, arg: Any, node: Any, base: str) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= arg

    def k_uniqueItems(self, arg: Any, node: Any, base: str) -> Check:
        if not arg:
            return lambda value: True
        return lambda value: not isinstance(value, list) or _unique(value)

    def k_required(self, arg: Any, node: Any, base: str) -> Check:
        names = tuple(arg)
        return lambda value: not isinstance(value, dict) or all(n in value for n in names)

    def k_dependentRequired(self, arg: Any, node: Any, base: str) -> Check:
        needs = {key: tuple(names) for key, names in arg.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, names in needs.items():
                if key in value and not all(n in value for n in names):
                    return False
            return True

        return check

    def k_properties(self, arg: Any, node: Any, base: str) -> Check:
        subs = {name: self.schema(sub, base) for name, sub in arg.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                sub = subs.get(name)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def k_additionalProperties(self, arg: Any, node: Any, base: str) -> Check:
        if "patternProperties" in node:
            raise _Unsupported("patternProperties")
        known = frozenset(node.get("properties", {}))
        if arg is True:
            return lambda value: True
        if arg is False:
            return lambda value: not isinstance(value, dict) or all(k in known for k in value)
        sub = self.schema(arg, base)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(k in known or sub(v) for k, v in value.items())

        return check

    def k_propertyNames(self, arg: Any, node: Any, base: str) -> Check:
        sub = self.schema(arg, base)
        return lambda value: not isinstance(value, dict) or all(sub(k) for k in value)

    def k_items(self, arg: Any, node: Any, base: str) -> Check:
        if "prefixItems" in node or isinstance(arg, list):
            raise _Unsupported("prefixItems")
        sub = self.schema(arg, base)
        return lambda value: not isinstance(value, list) or all(sub(v) for v in value)

    def k_allOf(self, arg: Any, node: Any, base: str) -> Check:
        return _all([self.schema(sub, base) for sub in arg])

    def k_anyOf(self, arg: Any, node: Any, base: str) -> Check:
        subs = [self.schema(sub, base) for sub in arg]
        if len(subs) == 2:
            first, second = subs
            return lambda value: first(value) or second(value)
        return lambda value: any(s(value) for s in subs)

    def k_oneOf(self, arg: Any, node: Any, base: str) -> Check:
        subs = [self.schema(sub, base) for sub in arg]
        return lambda value: sum(1 for s in subs if s(value)) == 1

    def k_not(self, arg: Any, node: Any, base: str) -> Check:
        sub = self.schema(arg, base)
        return lambda value: not sub(value)

    def k_if(self, arg: Any, node: Any, base: str) -> Check:
        cond = self.schema(arg, base)
        then = self.schema(node.get("then", True), base)
        other = self.schema(node.get("else", True), base)
        return lambda value: then(value) if cond(value) else other(value)

    def k__ref(self, arg: Any, node: Any, base: str) -> Check:
        if not isinstance(arg, str):
            raise _Unsupported("$ref")
        uri = urljoin(base, arg)
        known = self.refs.get(uri)
        if known is not None:
            return known
        target: list[Check] = []  # filled below; a recursive reference reads it later
        self.refs[uri] = lambda value: target[0](value)
        file, fragment = urldefrag(uri)
        document = self.known.get(file)
        if document is None:
            document = self.documents(file)
        if document is None or (fragment and not fragment.startswith("/")):
            raise _Unsupported(f"$ref {arg}")  # another file unknown, or an $anchor
        node = document
        for part in fragment.split("/")[1:]:
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise _Unsupported(f"$ref {arg}")
        target.append(self.schema(node, file, root=node is document))
        self.refs[uri] = target[0]  # later uses call it directly; recursive ones go through target
        return target[0]
