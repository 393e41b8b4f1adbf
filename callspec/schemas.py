"""The JSON Schemas: where they are, loading them once, their derived checks and validators.

``schemas/`` at the top of the source tree is the single source of truth; the
wheel carries a copy at ``callspec/schemas`` so an installed ``callspec`` finds
them from any directory.  Each validator is compiled once per process.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from referencing import Registry


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
    from referencing import Registry, Resource  # with jsonschema: only when validating

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
    from callspec.fastpaths import MemoValidator

    return MemoValidator(schema, registry=_registry())


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


@functools.cache
def compiled_check(name: SchemaName) -> Callable[[Any], bool] | None:
    """The schema (references inlined) compiled by fastjsonschema, or None (see
    :func:`callspec.fastpaths.compiled_check`); exact on valid documents."""
    from callspec.fastpaths import compiled_check as compile_schema

    return compile_schema(validator(name).schema)


@functools.cache
def derived_check(name: SchemaName) -> Callable[[Any], bool] | None:
    """An exact ``is_valid`` made from the schema file without jsonschema, or None (see
    :func:`callspec.fastpaths.derived_check`): a document that passes needs no validator."""
    from callspec.fastpaths import derived_check as derive

    return derive(load_schema(name), _document)


def _document(uri: str) -> dict[str, Any] | None:
    """The schema whose ``$id`` is ``uri`` (a reference to another schema file)."""
    for name in SCHEMA_NAMES:
        if load_schema(name).get("$id") == uri:
            return load_schema(name)
    return None


@functools.cache
def quick_check(name: SchemaName) -> Callable[[Mapping[str, Any]], bool]:
    """An exact, fast ``is_valid`` for the call schema (see :mod:`callspec.fastpaths`)."""
    from callspec.fastpaths import build_quick_check

    return build_quick_check(derived_check(name), lambda: validator(name), _registry)


def call_properties() -> dict[str, dict[str, Any]]:
    """The call schema's argument definitions, by name."""
    props: dict[str, dict[str, Any]] = load_schema("call")["properties"]
    return props
