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

from jsonschema import Draft202012Validator
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
def validator(name: SchemaName) -> Draft202012Validator:
    """A compiled validator for one schema, built once per process."""
    return Draft202012Validator(load_schema(name), registry=_registry())


def call_properties() -> dict[str, dict[str, Any]]:
    """The call schema's argument definitions, by name."""
    props: dict[str, dict[str, Any]] = load_schema("call")["properties"]
    return props
