"""The JSON Schemas: where they are, loading them once, and compiled validators.

``schemas/`` at the top of the source tree is the single source of truth; the
wheel carries a copy at ``callspec/schemas`` so an installed ``callspec`` finds
them from any directory.  Each validator is compiled once per process.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource

SchemaName = Literal["call", "spec", "profiles", "report"]
SCHEMA_NAMES: tuple[SchemaName, ...] = ("call", "spec", "profiles", "report")

_PACKAGE = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """The folder holding the schema files: inside the wheel, else the source tree's."""
    for candidate in (_PACKAGE / "schemas", _PACKAGE.parent / "schemas"):
        if (candidate / "call.schema.json").is_file():
            return candidate
    raise FileNotFoundError("callspec's schemas/ folder is missing from the installation")


def schema_path(name: SchemaName) -> Path:
    """The file of one schema."""
    return schema_dir() / f"{name}.schema.json"


@functools.cache
def load_schema(name: SchemaName) -> dict[str, Any]:
    """The parsed schema document (shared; do not mutate)."""
    with schema_path(name).open(encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


@functools.cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        with path.open(encoding="utf-8") as f:
            contents = json.load(f)
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: SchemaName) -> Any:
    """A compiled validator for one schema, built once per process.

    It validates exactly as ``Draft202012Validator`` on the schema file does, with
    two shortcuts that matter for a file of thousands of calls: references are
    inlined once (instead of looked up for every instance), and a scalar value
    already found valid against the same subschema is not checked again (10,000
    calls share most of their values and every key name).
    """
    schema = _inline(load_schema(name), _registry().resolver(load_schema(name)["$id"]), ())
    return _MemoValidator(schema, registry=_registry())


def _inline(node: Any, resolver: Any, stack: tuple[str, ...]) -> Any:
    """A copy of a schema with every (non-recursive) ``$ref`` replaced by its target."""
    if isinstance(node, list):
        return [_inline(item, resolver, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in stack:
        resolved = resolver.lookup(ref)
        target = _inline(resolved.contents, resolved.resolver, (*stack, ref))
        rest = {k: _inline(v, resolver, stack) for k, v in node.items() if k != "$ref"}
        return {**rest, "allOf": [target, *rest.get("allOf", [])]} if rest else target
    return {k: _inline(v, resolver, stack) for k, v in node.items()}


_SCALARS = (str, int, float, bool, type(None))
_VALID: set[tuple[int, type, Any]] = set()
_MAX_MEMO = 200_000


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
    elif len(_VALID) < _MAX_MEMO:
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


_MemoValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "properties": _properties,
        "additionalProperties": _additional,
        "propertyNames": _property_names,
        "items": _items,
    },
)


def call_properties() -> dict[str, dict[str, Any]]:
    """The call schema's argument definitions, by name."""
    props: dict[str, dict[str, Any]] = load_schema("call")["properties"]
    return props


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


@functools.cache
def quick_check(name: SchemaName) -> Any:
    """An exact, fast ``is_valid`` for a flat object schema (the call schema).

    A body is valid exactly when each value is valid against its property's
    subschema and the object-level rules (required, no unknown names, the
    ``allOf`` rules) hold; the first part is remembered per (name, value), the
    second per (key set, values the rules read).  Calls sharing most of their
    values cost a dictionary lookup each.  Returns False when invalid; the
    caller then runs the full validator for the messages.
    """
    full = validator(name)
    schema: dict[str, Any] = full.schema
    props: dict[str, Any] = schema.get("properties", {})
    per_property = {k: _MemoValidator(sub, registry=_registry()) for k, sub in props.items()}
    rest = {k: v for k, v in schema.items() if k != "properties"}
    shape = _MemoValidator({**rest, "properties": dict.fromkeys(props, True)}, registry=_registry())
    watched = _property_names_in({k: v for k, v in rest.items() if k != "$defs"})
    values_ok: set[tuple[str, type, Any]] = set()
    shapes: dict[tuple[Any, ...], bool] = {}

    def check(body: dict[str, Any]) -> bool:
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
                if len(values_ok) < _MAX_MEMO:
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
            shapes[shape_key] = known
        return known

    return check
