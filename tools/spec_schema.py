"""Generate the per-argument part of schemas/spec.schema.json from schemas/call.schema.json.

A spec names Plivo's arguments in two places: a file's (or a profile's) ``defaults``
(``$defs/arguments``) and each call (``$defs/call``). Each argument gets its own entry
under ``properties`` there, carrying the call schema's description, so that an editor
running the YAML language server shows that documentation on hover and completes the
name; ``additionalProperties: false`` then makes an unknown key a diagnostic that offers
the valid names as quick fixes. What a value may be is unchanged: an argument's value
as written (``$defs/writtenValue``: numbers and booleans may be strings, any string may
be a template); the call schema checks the rendered value.

The rest of spec.schema.json is written by hand and kept as it is: the file's keys,
callspec's own keys of a call (name, tags, vars, escalate, each, each_where), their
order and descriptions. Run after changing call.schema.json::

    python tools/spec_schema.py            # rewrite schemas/spec.schema.json
    python tools/spec_schema.py --check    # exit 1 when the file is not what it generates

tests/spec/test_spec_schema_generated.py fails while the file and the call schema disagree.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
WRITTEN = {"$ref": "#/$defs/writtenValue"}


def argument_properties(call: dict[str, Any]) -> dict[str, Any]:
    """One entry per Plivo argument, in the call schema's order: its description, and
    the written-value rule every argument shares in a spec."""
    return {
        name: {"description": prop["description"], **WRITTEN}
        for name, prop in call["properties"].items()
    }


def generate(spec: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with its argument entries made from ``call`` (a new document)."""
    out = copy.deepcopy(spec)
    arguments = argument_properties(call)
    defs = out["$defs"]
    defs["arguments"] = _with_properties(defs["arguments"], {}, arguments)
    own = {k: v for k, v in defs["call"].get("properties", {}).items() if k not in arguments}
    clash = set(own) & set(call["properties"])
    if clash:
        raise ValueError(f"callspec keys that are also Plivo arguments: {sorted(clash)}")
    defs["call"] = _with_properties(defs["call"], own, arguments)
    return out


def _with_properties(
    entry: dict[str, Any], own: dict[str, Any], arguments: dict[str, Any]
) -> dict[str, Any]:
    """An object schema whose keys are ``own`` then ``arguments``, nothing else: its other
    keywords kept, ``propertyNames`` dropped (the names are the properties now), its keys
    in one order (so the file reads the same however it was written before)."""
    kept = {
        k: v
        for k, v in entry.items()
        if k not in ("type", "properties", "propertyNames", "additionalProperties")
    }
    head = {k: kept.pop(k) for k in ("description", "required") if k in kept}
    return {
        **head,
        "type": "object",
        "properties": {**own, **copy.deepcopy(arguments)},
        "additionalProperties": False,
        **kept,
    }


def render(doc: dict[str, Any]) -> str:
    """The file's text: JSON indented by two, as every schema in schemas/ is written."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    path = SCHEMAS / "spec.schema.json"
    current = path.read_text(encoding="utf-8")
    call = json.loads((SCHEMAS / "call.schema.json").read_text(encoding="utf-8"))
    wanted = render(generate(json.loads(current), call))
    if argv[1:] == ["--check"]:
        if current != wanted:
            print(f"{path}: not what tools/spec_schema.py generates; run it", file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print("usage: python tools/spec_schema.py [--check]", file=sys.stderr)
        return 2
    path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
