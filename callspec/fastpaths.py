"""The fast paths of validation, in one place, each with the benchmark that justifies it.

``python bench/bench_validate.py`` (10,000 calls through ``callspec validate``,
against a bare compiled jsonschema validator on the same bodies) measured each;
``tests/spec/test_fast_validation.py`` checks them against the plain paths (3,000
random bodies, hundreds of random specs and profiles files, each keyword on its own), and
``tests/spec/test_loader.py`` the loader's.

0. :func:`derived_check`: an exact ``is_valid`` made from the schema file itself
   at run time (each keyword of the schema becomes a small Python check,
   references followed), needing neither jsonschema nor fastjsonschema: a spec
   that passes it never imports them (about 70 ms of start-up).  Only when a
   document or a body fails it does the full validator run, to word the errors.
   It is also the fastest "valid?" at any size: a 10,000-call document in 0.09 s
   and its 10,000 bodies in 0.11 s, where the compiled schema (in 2.) took
   0.45 s and 0.16 s, plus 0.1 s to import and generate.  A schema using a keyword it
   does not know gets no derived check (None): items 1 and 2 then serve.
1. :class:`MemoValidator`: a scalar already found valid against the same
   subschema is not checked again (10,000 calls share most values and every key
   name).  At most :data:`VALUE_MEMO_MAX` values are remembered; a full memo
   starts over (values that recur are back in it within a few calls), so a
   spec of 20,000 distinct numbers does not keep them all.
2. :func:`build_memo_check`: an exact ``is_valid`` for the flat call schema,
   per property and per object shape, each remembered; a body that passes needs
   no full validation (run only to word the errors of one that fails).  After
   :data:`COMPILE_AFTER` bodies it switches to the schema compiled to Python by
   fastjsonschema (:func:`compiled_check`, generated from ``schemas/`` at run
   time, only when every keyword means in draft-07 what it means in 2020-12):
   10,000 distinct bodies in 0.1 s where the memo check took 1.3 s.
3. The loader's tag memo (``spec/loader.py``, ``_Loader.resolve``): resolving a
   plain scalar's tag runs a list of regular expressions; the answer is
   remembered per (kind, text, implicit), at most :data:`TAG_MEMO_MAX` (then it
   starts over).  It stays a method of the YAML loader it overrides.
4. The render memo (``spec/jinja_env.py``, ``_Compiled``): a template whose
   output is a function of the names it reads (no ``random``, ``lipsum`` or
   ``cycler``) is rendered once per (type, value, text) of those names, at most
   :data:`RENDER_MEMO_MAX` outputs per template.  It stays with the compiled
   template it belongs to.

Together they took ``validate`` of 10,000 calls from 11.3x a bare validator to
about 2x (figures in the README).
"""

from __future__ import annotations

import functools
import itertools
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

Check = Callable[[Any], bool]

_SCALARS = (str, int, float, bool, type(None))


_VALID: set[tuple[int, type, Any]] = set()


VALUE_MEMO_MAX = 8192
TAG_MEMO_MAX = 8192
RENDER_MEMO_MAX = 1000


def _descend(
    validator: Any, value: Any, subschema: Any, path: Any = None, schema_path: Any = None
) -> Any:
    kind = type(value)
    if kind not in _SCALARS and not issubclass(kind, _SCALARS):
        yield from validator.descend(value, subschema, path=path, schema_path=schema_path)
        return
    key = (id(subschema), kind, value)
    if key in _VALID:
        return
    errors = list(validator.descend(value, subschema, path=path, schema_path=schema_path))
    if errors:
        yield from errors
    else:
        if len(_VALID) >= VALUE_MEMO_MAX:
            _VALID.clear()
        _VALID.add(key)


def _base(keyword: str) -> Any:
    """Draft 2020-12's own implementation of ``keyword``."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator.VALIDATORS[keyword]


def _properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for prop, subschema in properties.items():
        if prop in instance:
            yield from _descend(validator, instance[prop], subschema, prop, prop)


def _additional(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not isinstance(additional, dict) or "patternProperties" in schema:
        yield from _base("additionalProperties")(validator, additional, instance, schema)
        return
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    for prop, value in instance.items():
        if prop not in known:
            yield from _descend(validator, value, additional, prop)


def _property_names(validator: Any, names: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for prop in instance:
        yield from _descend(validator, prop, names)


def _items(validator: Any, items: Any, instance: Any, schema: Any) -> Any:
    if not isinstance(items, dict) or "prefixItems" in schema:
        yield from _base("items")(validator, items, instance, schema)
        return
    if not validator.is_type(instance, "array"):
        return
    for index, item in enumerate(instance):
        yield from _descend(validator, item, items, index)


@functools.cache
def memo_validator() -> Any:
    """The :class:`MemoValidator` class (built, and jsonschema imported, on first use)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        {
            "properties": _properties,
            "additionalProperties": _additional,
            "propertyNames": _property_names,
            "items": _items,
        },
    )


def __getattr__(name: str) -> Any:
    if name == "MemoValidator":  # jsonschema loads with the first use, not with this module
        return memo_validator()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _property_names_in(node: Any) -> set[str]:
    """Every name listed under a ``properties`` or ``required`` anywhere in ``node``."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names.update(value)
            elif key == "required" and isinstance(value, list):
                names.update(str(v) for v in value)
            names |= _property_names_in(value)
    elif isinstance(node, list):
        for item in node:
            names |= _property_names_in(item)
    return names


#: Keywords that mean the same in draft-07 (fastjsonschema's newest) as in 2020-12 (ours).
_SAME_IN_DRAFT7 = frozenset(
    {
        "$schema", "$id", "$defs", "title", "description", "type", "enum", "const",
        "properties", "required", "additionalProperties", "propertyNames",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "maxLength", "minLength", "pattern", "maximum", "minimum",
        "exclusiveMaximum", "exclusiveMinimum", "multipleOf",
        "minProperties", "maxProperties", "minItems", "maxItems", "uniqueItems", "items",
    }
)  # fmt: skip
_DATA = frozenset({"enum", "const", "required", "title", "description", "dependentRequired"})
#: 2020-12 keywords draft-07 spells otherwise, with the same meaning: renamed when compiled.
_RENAMED_IN_DRAFT7 = {"dependentRequired": "dependencies"}  # (its lists-of-names form)
_NAMED = frozenset({"properties", "$defs"})  # map names to subschemas
_DRAFT7 = "http://json-schema.org/draft-07/schema#"
_DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"
#: Bodies checked by the memo check before the compiled one is built (fastjsonschema's
#: import and code generation cost about 30 ms: a spec of a few calls is not worth it).
COMPILE_AFTER = 200


def _keywords(schema: Any) -> set[str]:
    """Every keyword ``schema`` uses, ``x-`` annotations left out."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key.startswith("x-"):
                continue
            # 2020-12's items (a schema for every item) is draft-07's items as a schema;
            # a list of schemas there is another keyword (prefixItems).
            found.add("items[]" if key == "items" and isinstance(value, list) else key)
            if key in _NAMED and isinstance(value, dict):
                for sub in value.values():
                    found |= _keywords(sub)
            elif key not in _DATA:
                items = value if isinstance(value, list) else [value]
                for sub in items:
                    found |= _keywords(sub)
    return found


def _as_draft7(schema: Any) -> Any:
    """A copy of ``schema`` with each keyword of :data:`_RENAMED_IN_DRAFT7` in its draft-07
    spelling (walked as :func:`_keywords` walks it: property names are never renamed)."""
    if isinstance(schema, list):
        return [_as_draft7(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: _as_draft7(sub) for name, sub in value.items()}
        elif key in _DATA or key.startswith("x-"):
            out[str(_RENAMED_IN_DRAFT7.get(key, key))] = value
        else:
            out[key] = _as_draft7(value)
    return out


def compiled_check(schema: Mapping[str, Any]) -> Check | None:
    """``schema`` compiled to Python by fastjsonschema, as an exact ``is_valid``; None when
    the schema uses a keyword whose meaning changed after draft-07 (or fastjsonschema is
    missing).  Any exception of the generated code counts as "not valid": the caller then
    runs the full validator, so a doubt costs time, never a wrong verdict.
    """
    if _keywords(schema) - _SAME_IN_DRAFT7 - set(_RENAMED_IN_DRAFT7):
        return None
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - a dependency; the memo check serves
        return None
    validate = fastjsonschema.compile({**_as_draft7(schema), "$schema": _DRAFT7})

    def check(body: Mapping[str, Any]) -> bool:
        try:
            validate(body)
        except Exception:
            return False
        return True

    return check


def build_quick_check(
    derived: Check | None, full: Callable[[], Any], registry: Callable[[], Any]
) -> Check:
    """An exact ``is_valid`` for bodies of one flat schema: the derived check
    (:func:`derived_check`, no jsonschema: 10,000 bodies in about 0.1 s) when the
    schema allows one.  Else the memo check (:func:`build_memo_check`) for the first
    :data:`COMPILE_AFTER` bodies, then :func:`compiled_check` when the schema allows
    it.  ``full`` and ``registry`` give the full validator and the schema registry,
    built (and jsonschema imported) only when the memo or compiled check is.
    """
    if derived is not None:
        return derived
    seen = 0
    memo: list[Check] = []
    compiled: list[Check | None] = []

    def check(body: Mapping[str, Any]) -> bool:
        nonlocal seen
        if not memo:
            memo.append(build_memo_check(full(), registry()))
        if compiled:
            return (compiled[0] or memo[0])(body)
        seen += 1
        if seen > COMPILE_AFTER:
            compiled.append(compiled_check(full().schema))
        return memo[0](body)

    return check


def build_memo_check(full: Any, registry: Any) -> Callable[[Mapping[str, Any]], bool]:
    """An exact, fast ``is_valid`` for a flat object schema (the call schema).

    A body is valid exactly when each value is valid against its property's
    subschema and the object-level rules (required, no unknown names, the
    ``allOf`` rules) hold; the first part is remembered per (name, value), the
    second per (key set, values the rules read).  Calls sharing most of their
    values cost a dictionary lookup each.  Returns False when invalid; the
    caller then runs the full validator for the messages.
    """
    schema: dict[str, Any] = full.schema
    props: dict[str, Any] = schema.get("properties", {})
    MemoValidator = memo_validator()
    per_property = {k: MemoValidator(sub, registry=registry) for k, sub in props.items()}
    rest = {k: v for k, v in schema.items() if k != "properties"}
    shape = MemoValidator({**rest, "properties": dict.fromkeys(props, True)}, registry=registry)
    watched = _property_names_in({k: v for k, v in rest.items() if k != "$defs"})
    values_ok: set[tuple[str, type, Any]] = set()
    shapes: dict[tuple[Any, ...], bool] = {}

    def check(body: Mapping[str, Any]) -> bool:
        for key, value in body.items():
            sub = per_property.get(key)
            if sub is None:
                return False
            kind = type(value)
            if kind in _SCALARS:
                memo = (key, kind, value)
                if memo in values_ok:
                    continue
                if not sub.is_valid(value):
                    return False
                if len(values_ok) >= VALUE_MEMO_MAX:
                    values_ok.clear()
                values_ok.add(memo)
            elif not sub.is_valid(value):
                return False
        try:
            shape_key = (
                frozenset(body),
                tuple((w, type(body[w]), body[w]) for w in sorted(watched) if w in body),
            )
            known = shapes.get(shape_key)
        except TypeError:
            return bool(full.is_valid(body))
        if known is None:
            projection = {k: (body[k] if k in watched else None) for k in body}
            known = bool(shape.is_valid(projection))
            if len(shapes) >= VALUE_MEMO_MAX:
                shapes.clear()
            shapes[shape_key] = known
        return known

    return check


# --- the derived check: the schema's keywords as Python, no jsonschema -------------------

#: Keywords that say nothing about validity (jsonschema ignores them too), ``x-`` aside.
_ANNOTATIONS = frozenset(
    {"$schema", "$defs", "$comment", "title", "description", "examples", "default",
     "deprecated", "readOnly", "writeOnly", "then", "else"}
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
