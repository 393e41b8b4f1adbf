"""The fast validation paths agree exactly with a plain jsonschema validator.

callspec compiles its schemas with inlined references and per-value memos, and
checks call bodies with a decomposed ``quick_check``; these tests compare both
with ``Draft202012Validator`` on the schema files over many generated inputs,
valid and invalid, so a shortcut can never accept what the schema rejects.
"""

from __future__ import annotations

import random
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from callspec.schemas import SCHEMA_NAMES, load_schema, quick_check, validator

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


def test_quick_check_agrees_with_the_plain_validator() -> None:
    reference = plain("call")
    check = quick_check("call")
    cases = bodies(1, 3000)
    verdicts = [reference.is_valid(b) for b in cases]
    assert 100 < sum(verdicts) < 2900  # both kinds are well represented
    for body, expected in zip(cases, verdicts, strict=True):
        assert check(body) == expected, body
        assert check(body) == expected, body  # again, from the memo


def test_compiled_validators_report_the_same_errors() -> None:
    for name, docs in (("call", bodies(2, 500)), ("spec", specs(3, 300))):
        reference, fast = plain(name), validator(name)
        for doc in docs:
            want = sorted((list(e.absolute_path), e.message) for e in reference.iter_errors(doc))
            got = sorted((list(e.absolute_path), e.message) for e in fast.iter_errors(doc))
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
            calls.append(call)
        doc: dict[str, Any] = {"version": rng.choice([1, 1, 1, 2]), "calls": calls}
        if rng.random() < 0.3:
            doc["defaults"] = {"time_limit": rng.choice([1, "x", None]), "answer_ulr": 1}
        out.append(doc)
    return out


def test_the_compiled_schemas_agree_with_the_plain_validators() -> None:
    from callspec.schemas import compiled_check

    for name, docs in (("call", bodies(4, 3000)), ("spec", specs(5, 600))):
        reference, compiled = plain(name), compiled_check(name)
        assert compiled is not None
        verdicts = [reference.is_valid(doc) for doc in docs]
        assert 0 < sum(verdicts) < len(docs)  # both kinds are represented
        for doc, expected in zip(docs, verdicts, strict=True):
            assert compiled(doc) == expected, doc


def test_a_keyword_that_changed_after_draft_07_is_never_compiled() -> None:
    from callspec.fastpaths import compiled_check

    items = {"type": "array", "prefixItems": [{"type": "string"}]}
    assert compiled_check(items) is None
    assert compiled_check({"type": "array", "items": [{"type": "string"}]}) is None
    assert compiled_check({"properties": {"a": {"$ref": "#/$defs/x"}}}) is None
    check = compiled_check({"type": "array", "items": {"type": "string"}, "x-error": "no"})
    assert check is not None and check(["a"]) and not check([1])
