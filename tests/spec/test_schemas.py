"""The JSON Schemas in schemas/: well-formed, documented, and faithful to Plivo's argument table.

The argument table (shared/reference/plivo-call-api.md) is checked row by row on
request bodies through :func:`callspec.spec.validate.check_request_body`, the function
the sandbox answers with: normalize (strings to numbers and booleans, methods
upper-case) then validate.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from support import EXAMPLES, ROOT

from callspec.schemas import load_schema, validator
from callspec.spec.validate import check_body, check_request_body, normalize

SCHEMAS = ROOT / "schemas"
NAMES = [
    "call",
    "spec",
    "profiles",
    *(["report"] if (SCHEMAS / "report.schema.json").exists() else []),
]
CALL = json.loads((SCHEMAS / "call.schema.json").read_text())
PROPS: dict[str, Any] = CALL["properties"]
METHODS = [
    "answer_method",
    "ring_method",
    "hangup_method",
    "fallback_method",
    "machine_detection_method",
    "callback_method",
]
URLS = [
    "answer_url",
    "ring_url",
    "hangup_url",
    "fallback_url",
    "machine_detection_url",
    "callback_url",
]
BASE = {
    "from": "+14152224444",
    "to": "+14152223333",
    "answer_url": "https://hooks.example.com/a.xml",
}


def schema_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded


def plain_validator(name: str) -> Draft202012Validator:
    """The reference: jsonschema's own validator on the schema file, no shortcuts."""
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Draft202012Validator(schema_file(name), registry=Registry().with_resources(resources))


# --- form ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = schema_file(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://schemas.callspec.dev/{name}.schema.json"
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("name", NAMES)
def test_load_schema_reads_the_file(name: str) -> None:
    assert load_schema(name) == schema_file(name)  # type: ignore[arg-type]


def test_ids_are_unique() -> None:
    ids = [json.loads(p.read_text())["$id"] for p in SCHEMAS.glob("*.schema.json")]
    assert len(ids) == len(set(ids))


def test_every_call_argument_is_described() -> None:
    for name, prop in PROPS.items():
        assert prop.get("description", "").strip(), name


@pytest.mark.parametrize("name", ["spec", "profiles"])
def test_every_file_property_is_described(name: str) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                assert sub.get("description", "").strip(), f"{where}.{key}"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(schema_file(name), name)


def test_argument_name_enum_is_the_call_properties() -> None:
    names = CALL["$defs"]["argumentName"]["enum"]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(PROPS)


def test_call_schema_covers_the_argument_table() -> None:
    table = {
        "from", "to", "answer_url", *METHODS, *URLS, "caller_name", "send_digits",
        "send_on_preanswer", "time_limit", "hangup_on_ring", "machine_detection",
        "machine_detection_time", "machine_detection_maximum_speech_length",
        "machine_detection_initial_silence", "machine_detection_maximum_words",
        "machine_detection_initial_greeting", "sip_headers", "ring_timeout",
        "parent_call_uuid", "error_if_parent_not_found",
    }  # fmt: skip
    assert set(PROPS) == table
    assert CALL["required"] == ["from", "to", "answer_url"]
    assert CALL["additionalProperties"] is False


def test_spec_and_profiles_accept_only_argument_names() -> None:
    spec = schema_file("spec")
    arguments = spec["$defs"]["arguments"]
    assert list(arguments["properties"]) == list(PROPS)  # generated: tools/spec_schema.py
    assert arguments["additionalProperties"] is False
    call = spec["$defs"]["call"]
    own = ["name", "tags", "vars", "escalate", "message", "voice", "ack", "repeat", "cooldown"]
    own += ["each", "each_where"]
    assert list(call["properties"]) == [*own, *PROPS]
    assert call["additionalProperties"] is False
    profile = schema_file("profiles")["$defs"]["profile"]["properties"]
    assert profile["defaults"]["$ref"] == "spec.schema.json#/$defs/arguments"


def test_annotations_are_consistent() -> None:
    """Strings written for numbers and booleans are converted: each such argument says so."""
    known = {"integer", "boolean", "method", "machine_detection", "destinations", "sip_headers"}
    for name, prop in PROPS.items():
        if "x-normalize" in prop:
            assert prop["x-normalize"] in known, name
        if prop.get("type") in ("integer", "boolean"):
            assert prop.get("x-normalize") == prop["type"], name
        if "pattern" in prop:
            assert prop.get("x-error"), name
    for name in METHODS:
        assert PROPS[name]["enum"] == ["GET", "POST"]
        assert PROPS[name]["x-normalize"] == "method"
    url_patterns = {PROPS[name]["pattern"] for name in URLS}
    assert len(url_patterns) == 1  # one URL rule for every URL argument


# --- the example files fit their schemas ---------------------------------------------


def example_documents(kind: str) -> list[Path]:
    roots = [ROOT / "specs", EXAMPLES / "valid", EXAMPLES / "precedence"]
    found = [p for root in roots for p in sorted(root.rglob("*.yaml"))]
    if kind == "profiles":
        return [p for p in found if p.name == "profiles.yaml"]
    return [p for p in found if p.name not in ("profiles.yaml", "vars.yaml")]


@pytest.mark.parametrize("kind", ["spec", "profiles"])
def test_examples_fit_their_schema(kind: str) -> None:
    files = example_documents(kind)
    assert files
    for path in files:
        data = yaml.safe_load(path.read_text())
        errors = list(plain_validator(kind).iter_errors(data))
        assert not errors, (path, [e.message for e in errors])


# --- the argument table, row by row --------------------------------------------------

UUID = "9834029e-58b6-11e1-b8b7-a5bd0e4e126f"

# (argument, value as a person may write it, valid?)
TABLE: list[tuple[str, Any, bool]] = [
    ("from", "14157654321", True),
    ("from", "+14152224444", True),
    ("from", "+1", False),
    ("from", "+1415222444455555", False),
    ("from", "04152224444", False),
    ("from", "tel:+14152224444", False),
    ("to", "+14152223333", True),
    ("to", "sip:john1234@phone.plivo.com", True),
    ("to", "15677654321<15673464321<sip:john1234@phone.plivo.com", True),
    ("to", ["+14152223333", "sip:a@b.c"], True),
    ("to", "john", False),
    ("to", "+14152223333<", False),
    ("to", "+14152223333,+14152225555", False),
    ("to", "sip:@phone.plivo.com", False),
    ("answer_url", "http://127.0.0.1:8080/answer.xml", True),
    ("answer_url", "https://hooks.example.com/a.xml?x=1#ct=100&rc=5", True),
    ("answer_url", "ftp://hooks.example.com/a.xml", False),
    ("answer_url", "hooks.example.com/a.xml", False),
    *[(m, v, True) for m in METHODS for v in ("GET", "POST", "post", "POSt", "Get")],
    *[(m, v, False) for m in METHODS for v in ("PUT", "DELETE", "", "GET POST")],
    *[(u, "https://hooks.example.com/cb", True) for u in URLS[1:]],
    *[(u, "gopher://hooks.example.com/cb", False) for u in URLS[1:]],
    # callback retry settings in the fragment: ct 100-10000, rt 100-40000, tt 100-55000, rc 0-5
    ("callback_url", "https://h.example.com/cb#ct=100", True),
    ("callback_url", "https://h.example.com/cb#ct=10000", True),
    ("callback_url", "https://h.example.com/cb#ct=99", False),
    ("callback_url", "https://h.example.com/cb#ct=50", False),
    ("callback_url", "https://h.example.com/cb#ct=10001", False),
    ("callback_url", "https://h.example.com/cb#rt=100", True),
    ("callback_url", "https://h.example.com/cb#rt=40000", True),
    ("callback_url", "https://h.example.com/cb#rt=40001", False),
    ("callback_url", "https://h.example.com/cb#tt=55000", True),
    ("callback_url", "https://h.example.com/cb#tt=54999", True),
    ("callback_url", "https://h.example.com/cb#tt=55001", False),
    ("callback_url", "https://h.example.com/cb#tt=99", False),
    ("callback_url", "https://h.example.com/cb#rc=0", True),
    ("callback_url", "https://h.example.com/cb#rc=5", True),
    ("callback_url", "https://h.example.com/cb#rc=6", False),
    ("callback_url", "https://h.example.com/cb#rc=9", False),
    ("callback_url", "https://h.example.com/cb#rp=4xx,5xx,ct,rt,all", True),
    ("callback_url", "https://h.example.com/cb#rp=3xx", False),
    ("callback_url", "https://h.example.com/cb#er=nearest", True),
    ("callback_url", "https://h.example.com/cb#ct=2000&rt=40000&tt=55000&rc=1&rp=ct,rt&er=x", True),
    ("callback_url", "https://h.example.com/cb#top", False),
    ("caller_name", "x" * 50, True),
    ("caller_name", "é" * 50, True),
    ("caller_name", "", True),
    ("caller_name", "x" * 51, False),
    ("send_digits", "1w2W3", True),
    ("send_digits", "123@1000", True),
    ("send_digits", "*#0AbCd", True),
    ("send_digits", 1234, True),
    ("send_digits", "12x", False),
    ("send_digits", "123@", False),
    ("send_digits", "123@0", False),
    ("send_digits", "", False),
    ("time_limit", 1, True),
    ("time_limit", "300", True),
    ("time_limit", 86400, True),
    ("time_limit", 100000, True),
    ("time_limit", 0, False),
    ("time_limit", -1, False),
    ("time_limit", "abc", False),
    ("time_limit", 1.5, False),
    ("time_limit", True, False),
    ("hangup_on_ring", 1, True),
    ("hangup_on_ring", "60", True),
    ("hangup_on_ring", 0, False),
    ("hangup_on_ring", "-5", False),
    ("machine_detection", "true", True),
    ("machine_detection", True, True),
    ("machine_detection", "hangup", True),
    ("machine_detection", "Hangup", True),
    ("machine_detection", False, False),
    ("machine_detection", "false", False),
    ("machine_detection", "yes", False),
    ("machine_detection_time", 2000, True),
    ("machine_detection_time", "10000", True),
    ("machine_detection_time", 1999, False),
    ("machine_detection_time", 10001, False),
    ("machine_detection_maximum_speech_length", 1000, True),
    ("machine_detection_maximum_speech_length", 6000, True),
    ("machine_detection_maximum_speech_length", 999, False),
    ("machine_detection_maximum_speech_length", 6001, False),
    ("machine_detection_initial_silence", 2000, True),
    ("machine_detection_initial_silence", 10000, True),
    ("machine_detection_initial_silence", 1999, False),
    ("machine_detection_initial_silence", 10001, False),
    ("machine_detection_maximum_words", 2, True),
    ("machine_detection_maximum_words", 10, True),
    ("machine_detection_maximum_words", 1, False),
    ("machine_detection_maximum_words", 11, False),
    ("machine_detection_initial_greeting", 1000, True),
    ("machine_detection_initial_greeting", 5000, True),
    ("machine_detection_initial_greeting", 999, False),
    ("machine_detection_initial_greeting", 5001, False),
    ("sip_headers", "head1=val1,head2=val2", True),
    ("sip_headers", {"team": "payments", "severity": 1}, True),
    ("sip_headers", "head1=val1,", False),
    ("sip_headers", "head-1=val1", False),
    ("sip_headers", "head1=val 1", False),
    ("sip_headers", "head1", False),
    ("ring_timeout", 1, True),
    ("ring_timeout", "120", True),
    ("ring_timeout", 0, False),
    ("ring_timeout", -120, False),
    ("parent_call_uuid", UUID, True),
    ("parent_call_uuid", UUID.upper(), True),
    ("parent_call_uuid", UUID[:-1], False),
    ("parent_call_uuid", UUID.replace("-", ""), False),
    ("parent_call_uuid", UUID[:-1] + "g", False),
]


@pytest.mark.parametrize(("arg", "value", "ok"), TABLE, ids=[f"{a}={v!r:.40}" for a, v, _ in TABLE])
def test_argument_table(arg: str, value: Any, ok: bool) -> None:
    body = {**BASE, arg: value}
    problems = check_request_body(body)
    if ok:
        assert problems == []
    else:
        assert problems, body
        assert all(p.startswith(f"{arg}: ") for p in problems), problems


@pytest.mark.parametrize(
    ("arg", "value"),
    [("send_on_preanswer", v) for v in (True, False, "true", "FALSE")]
    + [("error_if_parent_not_found", v) for v in (True, False, "True", "false")],
)
def test_booleans(arg: str, value: Any) -> None:
    partner = {"send_on_preanswer": {"send_digits": "1"}, "error_if_parent_not_found": {}}[arg]
    extra = {"parent_call_uuid": UUID} if arg == "error_if_parent_not_found" else partner
    assert check_request_body({**BASE, **extra, arg: value}) == []
    assert check_request_body({**BASE, **extra, arg: "maybe"})


CROSS: list[tuple[dict[str, Any], str]] = [
    ({"from": "+14152223333"}, "from"),
    ({"from": "14152223333"}, "from"),
    ({"to": "+14152225555<+14152224444"}, "from"),
    ({"to": "+14152223333<+14152225555", "parent_call_uuid": UUID}, "parent_call_uuid"),
    ({"to": "+14152223333<+14152226666", "parent_call_uuid": UUID}, "parent_call_uuid"),
    ({"send_on_preanswer": True}, "send_on_preanswer"),
    ({"error_if_parent_not_found": "true"}, "error_if_parent_not_found"),
]


@pytest.mark.parametrize(("change", "arg"), CROSS)
def test_cross_field_rules(change: dict[str, Any], arg: str) -> None:
    problems = check_request_body({**BASE, **change})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{arg}: ")


def test_destination_limit_counts_unique_destinations() -> None:
    numbers = [f"+1415{i:07d}" for i in range(1001)]
    assert check_request_body({**BASE, "to": "<".join(numbers[:1000])}) == []
    [repeat] = check_request_body({**BASE, "to": "<".join([*numbers[:1000], numbers[0]])})
    assert (
        repeat == f"to: {numbers[0]!r} appears more than once: that phone would ring more than once"
    )
    [problem] = check_request_body({**BASE, "to": "<".join(numbers)})
    assert problem == "to: has 1001 unique destinations; Plivo allows at most 1000"


@pytest.mark.parametrize("missing", ["from", "to", "answer_url"])
def test_required(missing: str) -> None:
    body = {k: v for k, v in BASE.items() if k != missing}
    assert check_request_body(body) == [f"missing required argument '{missing}'"]


def test_unknown_argument_suggests() -> None:
    assert check_request_body({**BASE, "answer_ulr": "x"}) == [
        "answer_ulr: unknown argument 'answer_ulr'; did you mean 'answer_url'?"
    ]


def test_normalize() -> None:
    body = normalize(
        {
            "from": 14152224444,
            "to": ["+14152223333", " 14152225555 "],
            "answer_method": " post ",
            "time_limit": "300",
            "send_on_preanswer": "TRUE",
            "machine_detection": True,
            "sip_headers": {"a": 1, "b": "c"},
            "caller_name": 42,
            "not_an_argument": "kept",
        }
    )
    assert body == {
        "from": "14152224444",
        "to": "+14152223333<14152225555",
        "answer_method": "POST",
        "time_limit": 300,
        "send_on_preanswer": True,
        "machine_detection": "true",
        "sip_headers": "a=1,b=c",
        "caller_name": "42",
        "not_an_argument": "kept",
    }
    assert type(body["time_limit"]) is int and body["send_on_preanswer"] is True


def test_check_body_takes_normalized_values() -> None:
    assert check_body({**BASE, "time_limit": 300}) == []
    assert [i.arg for i in check_body({**BASE, "time_limit": "300"})] == ["time_limit"]


# --- the fast validator agrees with jsonschema's own ---------------------------------


@pytest.mark.parametrize("name", ["call", "spec", "profiles"])
def test_callspec_validator_agrees_with_jsonschema(name: str) -> None:
    instances: list[Any]
    if name == "call":
        instances = [normalize({**BASE, a: v}) for a, v, _ in TABLE]
        instances += [normalize({**BASE, **c}) for c, _ in CROSS]
        instances += [{}, [], "x", {"from": 1}, {**BASE, "extra": 1}]
    else:
        files = example_documents(name)
        instances = [yaml.safe_load(p.read_text()) for p in files]
        bad = (EXAMPLES / "invalid").glob("*.yaml") if name == "spec" else []
        for path in bad:
            with contextlib.suppress(yaml.YAMLError):
                instances.append(yaml.safe_load(path.read_text()))
    reference = plain_validator(name)
    ours = validator(name)  # type: ignore[arg-type]
    for _ in range(2):  # twice: a memo of valid values must not change the second answer
        for instance in instances:
            expected = sorted(
                (list(e.absolute_path), e.message) for e in reference.iter_errors(instance)
            )
            got = sorted((list(e.absolute_path), e.message) for e in ours.iter_errors(instance))
            assert got == expected, instance
