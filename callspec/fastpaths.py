"""The fast paths of validation, in one place, each with the benchmark that justifies it.

``python bench/bench_validate.py`` (10,000 calls through ``callspec validate``,
against a bare compiled jsonschema validator on the same bodies) measured each;
``tests/spec/test_fast_validation.py`` checks them against the plain paths (3,000
random bodies, 300 random specs), and ``tests/spec/test_loader.py`` the loader's.

1. :class:`MemoValidator`: a scalar already found valid against the same
   subschema is not checked again (10,000 calls share most values and every key
   name).  At most :data:`VALUE_MEMO_MAX` values are remembered; a full memo
   starts over (values that recur are back in it within a few calls), so a
   spec of 20,000 distinct numbers does not keep them all.
2. :func:`build_quick_check`: an exact ``is_valid`` for the flat call schema,
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
4. The render memo (``spec/templates.py``, ``_Compiled``): a template whose
   output is a function of the names it reads (no ``random``, ``lipsum`` or
   ``cycler``) is rendered once per (type, value, text) of those names, at most
   :data:`RENDER_MEMO_MAX` outputs per template.  It stays with the compiled
   template it belongs to.

Together they took ``validate`` of 10,000 calls from 11.3x a bare validator to
about 2x (figures in the README).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, validators

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


def _properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for prop, subschema in properties.items():
        if prop in instance:
            yield from _descend(validator, instance[prop], subschema, prop, prop)


_BASE = Draft202012Validator.VALIDATORS


def _additional(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not isinstance(additional, dict) or "patternProperties" in schema:
        yield from _BASE["additionalProperties"](validator, additional, instance, schema)
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
        yield from _BASE["items"](validator, items, instance, schema)
        return
    if not validator.is_type(instance, "array"):
        return
    for index, item in enumerate(instance):
        yield from _descend(validator, item, items, index)


MemoValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "properties": _properties,
        "additionalProperties": _additional,
        "propertyNames": _property_names,
        "items": _items,
    },
)


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
_DATA = frozenset({"enum", "const", "required", "title", "description"})  # hold no subschemas
_NAMED = frozenset({"properties", "$defs"})  # map names to subschemas
_DRAFT7 = "http://json-schema.org/draft-07/schema#"
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


def compiled_check(schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool] | None:
    """``schema`` compiled to Python by fastjsonschema, as an exact ``is_valid``; None when
    the schema uses a keyword whose meaning changed after draft-07 (or fastjsonschema is
    missing).  Any exception of the generated code counts as "not valid": the caller then
    runs the full validator, so a doubt costs time, never a wrong verdict.
    """
    if _keywords(schema) - _SAME_IN_DRAFT7:
        return None
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - a dependency; the memo check serves
        return None
    validate = fastjsonschema.compile({**schema, "$schema": _DRAFT7})

    def check(body: Mapping[str, Any]) -> bool:
        try:
            validate(body)
        except Exception:
            return False
        return True

    return check


def build_quick_check(full: Any, registry: Any) -> Callable[[Mapping[str, Any]], bool]:
    """The memo check (:func:`build_memo_check`) for the first :data:`COMPILE_AFTER`
    bodies, then :func:`compiled_check` when the schema allows it (ten times faster on
    10,000 distinct bodies, where the memo remembers little)."""
    memo = build_memo_check(full, registry)
    seen = 0
    fast: list[Callable[[Mapping[str, Any]], bool] | None] = []

    def check(body: Mapping[str, Any]) -> bool:
        nonlocal seen
        if fast:
            compiled = fast[0]
            return compiled(body) if compiled is not None else memo(body)
        seen += 1
        if seen > COMPILE_AFTER:
            fast.append(compiled_check(full.schema))
        return memo(body)

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
