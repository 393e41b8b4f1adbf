"""The JSON Schemas: where they are, loading them once, their derived checks and validators.

``schemas/`` at the top of the source tree is the single source of truth; the
wheel carries a copy at ``callspec/schemas`` so an installed ``callspec`` finds
them from any directory.  Each validator is compiled once per process.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
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
    """The full ``Draft202012Validator`` of one schema, built once per process.

    It runs only to word the errors of a document or body that :func:`valid_check`
    refused: a valid spec never imports jsonschema.
    """
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name), registry=_registry())


@functools.cache
def valid_check(name: SchemaName) -> Callable[[Any], bool]:
    """An exact ``is_valid`` for one schema, made from the schema file without jsonschema
    (:func:`callspec.fastpaths.derived_check`).  Every shipped schema has one, which a test
    checks: a schema that used a keyword the derived check lacks fails loudly, never
    slows every run down unnoticed."""
    from callspec.fastpaths import derived_check

    derived = derived_check(load_schema(name), _document)
    if derived is None:
        raise RuntimeError(f"{name}.schema.json uses a keyword the derived check lacks")
    return derived


def _document(uri: str) -> dict[str, Any] | None:
    """The schema whose ``$id`` is ``uri`` (a reference to another schema file)."""
    for name in SCHEMA_NAMES:
        if load_schema(name).get("$id") == uri:
            return load_schema(name)
    return None


def call_properties() -> dict[str, dict[str, Any]]:
    """The call schema's argument definitions, by name."""
    props: dict[str, dict[str, Any]] = load_schema("call")["properties"]
    return props
