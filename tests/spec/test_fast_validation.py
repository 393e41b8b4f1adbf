"""The check derived from each schema agrees exactly with a plain jsonschema validator.

callspec checks documents and bodies first with a check derived from the schema
files without jsonschema; these tests compare it with ``Draft202012Validator`` on
the schema files over many generated inputs, valid and invalid, so the shortcut can
never accept what the schema rejects (nor reject what it accepts), and check that
every shipped schema has one (no schema silently goes without).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from callspec.fastpaths import derived_check
from callspec.schemas import SCHEMA_NAMES, SchemaName, load_schema, valid_check, validator

POOL: dict[str, list[Any]] = {
    "from": ["+14152224444", "14152224444", "abc", 14152224444, "+1"],
    "to": ["+14152223333", "+14152223333<sip:a@b.c", "sip:x@y", "nope", "", 5],
    "answer_url": ["https://a.b/x", "http://h:80/p?q=1#ct=200", "ftp://x", "https://h/#rc=9"],
    "answer_method": ["GET", "POST", "PUT", "get", 1],
    "caller_name": ["x", "y" * 50, "z" * 51, None],
    "send_digits": ["1w2W3", "123@1000", "12x", ""],
    "send_on_preanswer": [True, False, "true"],
    "time_limit": [1, 300, 0, -5, "300", 1.5, True],
    "machine_detection": ["true", "hangup", "false", True],
    "machine_detection_time": [2000, 10000, 1999, 10001],
    "machine_detection_maximum_words": [2, 10, 1, 11],
    "sip_headers": ["a=b", "a=b,c=d", "a=b c", {"a": "b"}],
    "ring_timeout": [1, 120, 0],
    "parent_call_uuid": ["9834029e-58b6-11e1-b8b7-a5bd0e4e126f", "nope"],
    "error_if_parent_not_found": [True, False, "yes"],
    "answer_ulr": ["https://a.b"],
}


def plain(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in SCHEMA_NAMES
    )
    return Draft202012Validator(load_schema(name), registry=registry)  # type: ignore[arg-type]


def bodies(seed: int, n: int) -> list[dict[str, Any]]:
    """Random bodies; each value is its pool's first (valid) one 80% of the time."""
    rng = random.Random(seed)

    def pick(key: str) -> Any:
        return POOL[key][0] if rng.random() < 0.8 else rng.choice(POOL[key])

    out = []
    for _ in range(n):
        keys = rng.sample(list(POOL), rng.randint(0, 5))
        body = {k: pick(k) for k in ("from", "to", "answer_url") if rng.random() < 0.95}
        body.update({k: pick(k) for k in keys if k != "answer_ulr" or rng.random() < 0.2})
        out.append(body)
    return out


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_shipped_schema_has_a_derived_check(name: SchemaName) -> None:
    # valid_check raises for a schema the derived check lacks: no silent slow path.
    assert valid_check(name).__module__ == "callspec.fastpaths"


def test_the_validator_reports_the_plain_validators_errors() -> None:
    for name, docs in (("call", bodies(2, 500)), ("spec", specs(3, 300))):
        reference, ours = plain(name), validator(name)
        for doc in docs:
            want = sorted((list(e.absolute_path), e.message) for e in reference.iter_errors(doc))
            got = sorted((list(e.absolute_path), e.message) for e in ours.iter_errors(doc))
            assert got == want, doc


def specs(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    calls_pool = bodies(seed, 50)
    out: list[dict[str, Any]] = []
    for _ in range(n):
        calls = []
        for i in range(rng.randint(0, 4)):
            call: dict[str, Any] = dict(rng.choice(calls_pool))
            call["name"] = rng.choice([f"c{i}", "", " x", 5])
            if rng.random() < 0.3:
                call["tags"] = rng.choice([["a"], "a", ["a", "a"], [1]])
            if rng.random() < 0.3:
                call["vars"] = rng.choice([{"ok": 1}, {"bad-name": 1}, []])
            if rng.random() < 0.2:
                call["bogus"] = None
            if rng.random() < 0.15:  # dependentRequired: each_where needs each
                call["each_where"] = rng.choice(["row.ok", "", 1])
            if rng.random() < 0.15:
                call["each"] = rng.choice(["r.csv", "r.txt", [{"phone": "+1"}], [], [1]])
            calls.append(call)
        doc: dict[str, Any] = {"version": rng.choice([1, 1, 1, 2]), "calls": calls}
        if rng.random() < 0.3:
            doc["defaults"] = {"time_limit": rng.choice([1, "x", None]), "answer_ulr": 1}
        out.append(doc)
    return out


def profiles(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool: dict[str, list[Any]] = {
        "extends": ["base", "", 1],
        "auth_id": ["MA0000000000000000AB", 5],
        "api_url": ["http://127.0.0.1:8000", "https://api.plivo.com", "ftp://x", ""],
        "vars": [{"team": "payments"}, {"bad-name": 1}, []],
        "defaults": [{"from": "+14152224444"}, {"answer_ulr": "x"}, {"time_limit": "x"}],
        "secrets": [["token"], ["token", "token"], "token", [1]],
        "bogus": [1],
    }
    out: list[dict[str, Any]] = []
    for _ in range(n):
        named: dict[str, Any] = {}
        for i in range(rng.randint(0, 3)):
            keys = rng.sample(list(pool), rng.randint(0, 4))
            profile = {k: rng.choice(pool[k]) for k in keys if k != "bogus" or rng.random() < 0.3}
            named[rng.choice([f"p{i}", "bad name", "ok.name-1"])] = profile
        out.append({"version": rng.choice([1, 1, 1, 2]), "profiles": named})
    return out


def test_the_derived_checks_agree_with_the_plain_validators() -> None:
    cases = (("call", bodies(6, 3000)), ("spec", specs(7, 1500)), ("profiles", profiles(8, 600)))
    for name, docs in cases:
        reference, check = plain(name), valid_check(name)
        verdicts = [reference.is_valid(doc) for doc in docs]
        assert 0 < sum(verdicts) < len(docs), name  # both kinds are represented
        for doc, expected in zip(docs, verdicts, strict=True):
            assert check(doc) == expected, (name, doc)


CASES: list[tuple[dict[str, Any], list[Any]]] = [
    # JSON Schema's equality: true is not 1, 1.0 is 1, lists and mappings item by item.
    ({"enum": [1, "a", [1], {"k": True}]}, [1, 1.0, True, "a", [1], [True], {"k": True}, {"k": 1}]),
    ({"const": False}, [False, 0, 0.0, None]),
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
    ({"type": ["number", "null"]}, [1, 1.5, None, True, "x"]),
    ({"uniqueItems": True}, [[1, True], [1, 1.0], [[1], [True]], [{"a": 1}, {"a": 1}], "x"]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, [-1, 1, 1.5, "x"]),
    ({"anyOf": [{"pattern": "^a"}, {"maxLength": 1}], "not": {"const": "b"}}, ["ab", "b", "c", 5]),
    (
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"minProperties": 2}},
        [{"a": 1}, {"a": 1, "b": 2}, {"c": 1}, {"c": 1, "d": 2}, []],
    ),
    ({"then": {"const": 1}}, [1, 2]),  # then without if: ignored
    (
        {"additionalProperties": {"type": "string"}, "properties": {"n": {"type": "integer"}}},
        [{"n": 1, "x": "y"}, {"n": "1"}, {"x": 1}, 5],
    ),
    (
        {"propertyNames": {"maxLength": 2}, "dependentRequired": {"a": ["b"]}},
        [{"ab": 1}, {"abc": 1}, {"a": 1}, {"a": 1, "b": 1}],
    ),
    (
        {"items": {"exclusiveMinimum": 0}, "minItems": 1, "maxItems": 2},
        [[], [1], [0], [1, 2, 3], [1.5, 2]],
    ),
    (
        {"$defs": {"t": {"type": "array", "items": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"},
        [[], [[[]]], [[1]], 1],
    ),
    ({"format": "email"}, ["a@b.c", "not an address", 5]),  # an annotation, as in jsonschema
    ({"minimum": 1, "exclusiveMaximum": 3, "multipleOf": 1}, []),  # multipleOf: not derived
]


def test_the_derived_check_decides_each_keyword_as_jsonschema_does() -> None:
    for schema, instances in CASES:
        check = derived_check(schema, lambda uri: None)
        if "multipleOf" in schema:
            assert check is None  # a keyword it does not know: no derived check at all
            continue
        assert check is not None, schema
        reference = Draft202012Validator(schema)
        for instance in instances:
            assert check(instance) == reference.is_valid(instance), (schema, instance)


def test_what_the_derived_check_does_not_know_leaves_it_out() -> None:
    def none(uri: str) -> None:
        return None

    assert derived_check({"prefixItems": [{"type": "string"}]}, none) is None
    assert derived_check({"items": {"contains": {}}}, none) is None
    assert derived_check({"$ref": "other.json"}, none) is None  # a file it cannot find
    assert derived_check({"$ref": "#foo"}, none) is None  # an anchor
    assert derived_check({"$schema": "http://json-schema.org/draft-07/schema#"}, none) is None
    assert derived_check({"_ref": "#"}, none) is None  # not $ref: an unknown keyword
    assert derived_check({"$anchor": "a"}, none) is None
    assert derived_check({"x-error": "no", "description": "d"}, none) is not None


def test_a_spec_without_errors_is_checked_without_jsonschema() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from callspec.spec.loader import load_bytes\n"
        "from callspec.spec.documents import check_document\n"
        "from callspec.spec.validate import check_body\n"
        "doc = load_bytes(b'version: 1\\ncalls:\\n  - name: a\\n', 's.yaml')\n"
        "assert check_document(doc, 'spec') == []\n"
        "assert check_body({'from': '+14152224444', 'to': '+14152223333',"
        " 'answer_url': 'https://a.b/x'}) == []\n"
        "heavy = ('jsonschema', 'referencing')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "assert check_body({'from': 5}) != []\n"
        "print('jsonschema' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["[]", "True"], done.stderr
