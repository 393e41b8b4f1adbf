"""Check the shape of a loaded spec or profiles file against its schema, with positions.

The file schemas (``spec.schema.json``, ``profiles.schema.json``) say which keys
a file may have and what kind of value each holds; this module runs them on a
:class:`~callspec.spec.loader.Document` and turns every error into a
:class:`~callspec.errors.Problem` at the line and column of the offending key
or value.  Unknown keys get the nearest valid name as a suggestion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callspec.errors import Problem
from callspec.schemas import SchemaName, valid_check, validator
from callspec.spec.loader import Document, Path_, describe, format_path
from callspec.spec.validate import Mask, error_message, missing_name, quote, suggest, unmasked

if TYPE_CHECKING:
    from jsonschema import ValidationError


def check_document(doc: Document, schema: SchemaName, mask: Mask | None = None) -> list[Problem]:
    """Every shape error in ``doc``; empty when it fits ``schema``.

    ``mask`` hides secrets in the values messages quote, before long ones are cut short.
    """
    if not isinstance(doc.data, dict):
        loc = doc.where(())
        what = describe(doc.data)
        return [Problem(loc, "", f"expected a mapping at the top level, found {what}")]
    # The check derived from the schema says "valid" without loading jsonschema (and
    # faster than any validator); the validator runs only to word the errors.
    if valid_check(schema)(doc.data):
        return []
    problems: list[Problem] = []
    for error in validator(schema).iter_errors(doc.data):
        problems.extend(_problems(doc, error, mask or unmasked))
    return problems


def _problems(doc: Document, error: ValidationError, mask: Mask) -> list[Problem]:
    path: Path_ = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        if error.validator == "pattern":
            message = f"{quote(key, mask)} is not a valid name: use letters, digits and '_'"
            return [
                Problem(
                    doc.where_key((*path, key)), format_path((*path, key)), message, (*path, key)
                )
            ]
        return [_unknown(doc, (*path, key), key, _choices(error), mask)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        return [
            _unknown(doc, (*path, key), key, known, mask)
            for key in error.instance
            if key not in known
        ]
    if error.validator == "required":
        name = missing_name(error)
        return [Problem(doc.where(path), format_path(path), f"missing required key '{name}'", path)]
    if error.validator == "type" and isinstance(error.validator_value, list):
        message = f"{describe(error.instance)} is not allowed here"
        return [Problem(doc.where(path), format_path(path), message, path)]
    return [Problem(doc.where(path), format_path(path), error_message(error, mask), path)]


def _unknown(doc: Document, path: Path_, key: str, choices: list[str], mask: Mask) -> Problem:
    hint = suggest(key, choices)
    return Problem(
        doc.where_key(path), format_path(path), f"unknown key {quote(key, mask)}{hint}", path
    )


def _choices(error: ValidationError) -> list[str]:
    """The names a propertyNames rule accepts, gathered from its enums."""
    names: list[str] = []

    def walk(err: ValidationError) -> None:
        if err.validator == "enum" and isinstance(err.validator_value, list):
            names.extend(str(v) for v in err.validator_value)
        for sub in err.context or ():
            walk(sub)

    walk(error)
    return names


def get(doc: Document, *path: str | int) -> Any:
    """The value at ``path`` in a checked document, or None."""
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
        elif not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
