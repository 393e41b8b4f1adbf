"""spec.schema.json's argument entries are generated from call.schema.json
(tools/spec_schema.py): the file is what the tool makes, every argument carries the
call schema's documentation, and the generated form accepts exactly the documents the
hand-written form (names through ``propertyNames``) accepted."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from support import EXAMPLES, ROOT

SCHEMAS = ROOT / "schemas"
OWN = ("name", "tags", "vars", "escalate", "each", "each_where")  # callspec's keys of a call


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("spec_schema", ROOT / "tools" / "spec_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_is_what_the_tool_generates() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "spec_schema.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_changed_argument_is_a_difference_the_check_finds() -> None:
    tool = _tool()
    spec, call = _load("spec"), _load("call")
    assert tool.render(tool.generate(spec, call)) == (SCHEMAS / "spec.schema.json").read_text()
    call["properties"]["ring_timeout"]["description"] = "Changed in call.schema.json."
    drifted = tool.generate(spec, call)
    assert drifted != spec
    assert drifted["$defs"]["call"]["properties"]["ring_timeout"]["description"] == (
        "Changed in call.schema.json."
    )


def test_every_argument_carries_the_call_schemas_documentation() -> None:
    spec, call = _load("spec"), _load("call")
    for where in (spec["$defs"]["arguments"], spec["$defs"]["call"]):
        properties = where["properties"]
        for name, prop in call["properties"].items():
            assert properties[name]["description"] == prop["description"], name
            assert properties[name]["$ref"] == "#/$defs/writtenValue", name
        assert where["additionalProperties"] is False


def _hand_written(spec: dict[str, Any]) -> dict[str, Any]:
    """The form before generation: argument names through ``propertyNames`` (the call
    schema's ``argumentName``), their values through ``additionalProperties``."""
    old = copy.deepcopy(spec)
    names = {"$ref": "call.schema.json#/$defs/argumentName"}
    written = {"$ref": "#/$defs/writtenValue"}
    arguments = old["$defs"]["arguments"]
    del arguments["properties"]
    arguments.update(propertyNames=names, additionalProperties=written)
    entry = old["$defs"]["call"]
    entry["properties"] = {k: v for k, v in entry["properties"].items() if k in OWN}
    entry["propertyNames"] = {"anyOf": [{"enum": list(OWN)}, names]}
    entry["additionalProperties"] = written
    return old


def _validators(spec: dict[str, Any]) -> tuple[Draft202012Validator, Draft202012Validator]:
    """(spec validator, profiles validator) with ``spec`` as the spec schema."""
    documents = {"spec": spec, "call": _load("call"), "profiles": _load("profiles")}
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
    )
    return (
        Draft202012Validator(spec, registry=registry),
        Draft202012Validator(documents["profiles"], registry=registry),
    )


VALUES: list[Any] = ["x", "{{ v }}", 30, 2.5, True, None, ["+14155550100"], {"k": "v"}]


def _documents() -> list[Any]:
    """Every spec the repository holds, and each argument and key with every kind of value,
    in a call and in defaults, beside unknown and misspelt keys."""
    found: list[Any] = []
    for path in [*sorted((ROOT / "specs").glob("*.yaml")), *sorted(EXAMPLES.rglob("*.yaml"))]:
        try:
            found.append(yaml.safe_load(path.read_text()))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
    keys = [*_load("call")["properties"], *OWN, "ring_timout", "answer_ulr", "", "NAME", "1"]
    for key in keys:
        for value in VALUES:
            call = {"name": "n", "to": "+14155550100", key: value}
            found.append({"version": 1, "calls": [call]})
            found.append({"version": 1, "defaults": {key: value}, "calls": [{"name": "n"}]})
    return found


def _profiles() -> list[Any]:
    keys = [*_load("call")["properties"], "ring_timout"]
    return [
        {"version": 1, "profiles": {"default": {"defaults": {key: value}}}}
        for key in keys
        for value in VALUES
    ]


@pytest.mark.parametrize("kind", ["spec", "profiles"])
def test_the_generated_schema_accepts_what_the_hand_written_one_did(kind: str) -> None:
    spec = _load("spec")
    now, before = _validators(spec), _validators(_hand_written(spec))
    index = 0 if kind == "spec" else 1
    documents = _documents() if kind == "spec" else _profiles()
    verdicts = [(now[index].is_valid(d), before[index].is_valid(d)) for d in documents]
    assert all(a == b for a, b in verdicts), [
        d for d, (a, b) in zip(documents, verdicts, strict=True) if a != b
    ][:5]
    assert {a for a, _ in verdicts} == {True, False}  # the corpus has both kinds


def test_the_hand_written_form_is_the_schema_before_generation() -> None:
    """What the equivalence test compares against is the schema as it was written by hand
    (its references to the call schema's argumentName)."""
    old = _hand_written(_load("spec"))
    assert old["$defs"]["arguments"]["propertyNames"] == {
        "$ref": "call.schema.json#/$defs/argumentName"
    }
    assert "properties" not in old["$defs"]["arguments"]


def test_the_spec_schema_needs_no_other_file() -> None:
    """An editor given only spec.schema.json resolves every reference in it (before, its
    argument names were in call.schema.json, which the editor had to find beside it)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                found.add(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_load("spec"))
    assert found == set()
