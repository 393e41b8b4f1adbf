"""``callspec import postman``: the seed's Postman item becomes a spec that validates and
renders to the seed's body; what a collection holds arrives as literal text (never a
template, never a key of the spec), and a malformed collection is a located problem."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from support import EXAMPLES, SEED_CURL_BODY, invoke, seed_page

from callspec.errors import ExitCode

COLLECTION = EXAMPLES / "postman" / "seed-collection.json"


def test_the_fixture_holds_the_seeds_item() -> None:
    text = seed_page().read_text()
    item = json.loads(text[text.index("{", text.index("Postman Collection Item JSON")) :])
    assert json.loads(COLLECTION.read_text())["item"][0]["item"][0] == item


def test_import_renders_the_seeds_body(tmp_path: Path) -> None:
    spec = tmp_path / "imported.yaml"
    result = invoke(["import", "postman", str(COLLECTION), "-o", str(spec)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "2 calls, 3 skipped" in result.stdout
    assert "skipped 'Voice / Get call': not a Make-a-call request (GET" in result.stderr
    text = spec.read_text()
    assert "# from Voice / Make an outbound call" in text
    rendered = invoke(["render", str(spec), "--format", "json"])
    assert rendered.exit_code == ExitCode.OK, rendered.stderr
    bodies = {r["call"]: r["body"] for r in json.loads(rendered.stdout)}
    seed = json.loads(SEED_CURL_BODY)
    expected = {**seed, "send_on_preanswer": True, "time_limit": 300}
    assert bodies["make-an-outbound-call"] == expected
    assert bodies["page-with-variables"]["from"] == "+14152224444"  # {{caller-id}}: a var


def test_a_saved_example_is_never_a_second_call(tmp_path: Path) -> None:
    # The seed's item keeps two saved examples (responses with the request that made
    # them, to the same number): a spec rings that number once.
    spec = tmp_path / "imported.yaml"
    result = invoke(["import", "postman", str(COLLECTION), "-o", str(spec)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert (
        "skipped 'Voice / Make an outbound call / Successful call': a saved example "
        "(a recorded response)"
    ) in result.stderr
    rendered = invoke(["render", str(spec), "--format", "json"])
    destinations = [r["body"]["to"] for r in json.loads(rendered.stdout)]
    assert destinations.count("+14152223333") == 1


def test_an_existing_output_is_not_overwritten_without_force(tmp_path: Path) -> None:
    spec = tmp_path / "mine.yaml"
    spec.write_text("keep me\n")
    result = invoke(["import", "postman", str(COLLECTION), "-o", str(spec)])
    assert result.exit_code == ExitCode.USAGE
    assert spec.read_text() == "keep me\n"
    assert invoke(["import", "postman", str(COLLECTION), "-o", str(spec), "--force"]).exit_code == 0
    assert "make-an-outbound-call" in spec.read_text()


def test_a_file_that_is_no_collection_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"requests": []}')
    result = invoke(["import", "postman", str(bad)])
    assert result.exit_code == ExitCode.INVALID
    assert "not a Postman collection" in result.stderr
    bad.write_text("{not json")
    assert invoke(["import", "postman", str(bad)]).exit_code == ExitCode.INVALID


def _collection(tmp_path: Path, answer_url: str, variables: dict[str, str]) -> Path:
    body = {"from": "+14152224444", "to": "+14155550100", "answer_url": answer_url}
    collection = {
        "info": {"name": "c"},
        "variable": [{"key": k, "value": v} for k, v in variables.items()],
        "item": [
            {
                "name": "page",
                "request": {
                    "method": "POST",
                    "url": "https://api.plivo.com/v1/Account/{{auth_id}}/Call/",
                    "body": {"mode": "raw", "raw": json.dumps(body)},
                },
            }
        ],
    }
    source = tmp_path / "c.json"
    source.write_text(json.dumps(collection))
    return source


TOKEN_VALUE = "Zk3qT9vLr2Xw8mPa0sDd4fGh6jKl1nBv"  # a Plivo-shaped auth token


def test_a_collections_credentials_are_never_printed_nor_written(tmp_path: Path) -> None:
    url = "https://h.example.com/a?t={{auth_token}}&k={{hook_key}}"
    source = _collection(tmp_path, url, {"auth_token": TOKEN_VALUE, "hook_key": "hk-12345678"})
    out = tmp_path / "s.yaml"
    for args in (["import", "postman", source], ["import", "postman", source, "-o", out]):
        result = invoke(args)
        assert result.exit_code == ExitCode.OK, result.output
        written = result.output + (out.read_text() if out.exists() else "")
        for value in (TOKEN_VALUE, "hk-12345678"):
            assert value not in written
    text = out.read_text()
    assert "auth_token: '{{ env.PLIVO_AUTH_TOKEN }}'" in text
    assert "hook_key: '{{ env.POSTMAN_HOOK_KEY }}'" in text
    assert "the variable 'hook_key' holds a credential: its value is not written" in result.stderr
    # Plivo's token in a call's URL: a template cannot read it, so validate says so.
    checked = invoke(["validate", out], {"PLIVO_AUTH_TOKEN": TOKEN_VALUE, "POSTMAN_HOOK_KEY": "k"})
    assert checked.exit_code == ExitCode.INVALID
    assert "env.PLIVO_AUTH_TOKEN is callspec's own credential" in checked.stderr


@pytest.mark.parametrize("name", ["pwd", "path", "home", "user", "shell"])
def test_a_credential_never_reads_a_well_known_environment_variable(
    tmp_path: Path, name: str
) -> None:
    """A credential named like the shell's variables reads POSTMAN_<NAME>, not $PWD."""
    source = _collection(tmp_path, f"https://h.example.com/a?p={{{{{name}}}}}", {name: "s3cret"})
    data = json.loads(source.read_text())
    data["auth"] = {"type": "basic", "basic": [{"key": "password", "value": f"{{{{{name}}}}}"}]}
    source.write_text(json.dumps(data))
    out = tmp_path / "s.yaml"
    assert invoke(["import", "postman", source, "-o", out]).exit_code == ExitCode.OK
    env = {name.upper(): "/the/shell/value", f"POSTMAN_{name.upper()}": "from-postman"}
    rendered = invoke(["render", out, "--format", "json"], env)
    assert rendered.exit_code == ExitCode.OK, rendered.output
    sent = json.loads(rendered.stdout)[0]["body"]["answer_url"]
    assert sent == "https://h.example.com/a?p=from-postman"


@pytest.mark.parametrize("header", ["{{hdr}}", "Basic {{b64}}"])
def test_a_basic_headers_user_and_password_are_credentials_in_any_variable(
    tmp_path: Path, header: str
) -> None:
    """A plain ``k`` holding the token an Authorization header carries is not written."""
    auth_id = "MAXXXXXXXXXXXXXXXXXX"
    b64 = base64.b64encode(f"{auth_id}:{TOKEN_VALUE}".encode()).decode()
    url = "https://h.example.com/a?k={{k}}&who={{who}}&n={{n}}"
    variables = {"hdr": f"Basic {b64}", "b64": b64, "k": TOKEN_VALUE, "who": auth_id, "n": "7"}
    source = _collection(tmp_path, url, variables)
    data = json.loads(source.read_text())
    data["item"][0]["request"]["header"] = [{"key": "Authorization", "value": header}]
    source.write_text(json.dumps(data))
    out = tmp_path / "s.yaml"
    result = invoke(["import", "postman", source, "-o", out])
    assert result.exit_code == ExitCode.OK, result.output
    text = out.read_text()
    assert TOKEN_VALUE not in result.output + text and auth_id not in result.output + text
    spec_vars = yaml.safe_load(text)["vars"]
    assert spec_vars == {
        "k": "{{ env.POSTMAN_K }}",
        "who": "{{ env.POSTMAN_WHO }}",
        "n": "7",  # a variable holding nothing of the header's is written as it is
    }


def test_a_credentials_value_written_into_a_request_refuses_the_import(tmp_path: Path) -> None:
    source = _collection(tmp_path, f"https://h.example.com/a?t={TOKEN_VALUE}", {})
    data = json.loads(source.read_text())
    data["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{tok}}"}]}
    data["variable"] = [{"key": "tok", "value": TOKEN_VALUE}]
    source.write_text(json.dumps(data))
    result = invoke(["import", "postman", source])
    assert result.exit_code == ExitCode.INVALID
    assert "holds the value of the credential 'tok'" in result.stderr
    assert TOKEN_VALUE not in result.output


def test_reserved_variable_names_are_renamed_and_said(tmp_path: Path) -> None:
    url = "https://h.example.com/{{env}}/{{row}}/{{in}}/{{env_}}.xml"
    source = _collection(tmp_path, url, {"env": "a", "row": "b", "in": "c", "env_": "d"})
    out = tmp_path / "s.yaml"
    imported = invoke(["import", "postman", source, "-o", out])
    assert imported.exit_code == 0, imported.output
    assert "the variable 'env' is 'env__' in the spec" in imported.stderr
    assert "the variable 'row' is 'row_' in the spec" in imported.stderr
    rendered = invoke(["render", out])
    assert rendered.exit_code == 0, rendered.output
    assert (
        json.loads(rendered.stdout)[0]["body"]["answer_url"] == "https://h.example.com/a/b/c/d.xml"
    )


def test_dynamic_variables_are_left_to_set_with_a_warning_and_a_todo(tmp_path: Path) -> None:
    source = _collection(tmp_path, "https://h.example.com/a?id={{$guid}}&t={{$timestamp}}", {})
    out = tmp_path / "s.yaml"
    imported = invoke(["import", "postman", source, "-o", out])
    assert imported.exit_code == 0, imported.output
    assert "{{$guid}} (a new UUID each request) has no equivalent" in imported.stderr
    assert "--var postman_timestamp=VALUE" in imported.stderr
    assert "# TODO: set postman_guid, postman_timestamp" in out.read_text()
    unset = invoke(["validate", out])  # never sent with a made-up value
    assert unset.exit_code == 3 and "'postman_guid' is not defined" in unset.stderr
    given = ["--var", "postman_guid=g1", "--var", "postman_timestamp=7"]
    rendered = invoke(["render", out, *given])
    assert rendered.exit_code == 0, rendered.output
    assert (
        json.loads(rendered.stdout)[0]["body"]["answer_url"] == "https://h.example.com/a?id=g1&t=7"
    )


# --- what a collection holds is text ------------------------------------------------------

CALL_URL = "https://api.plivo.com/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/"
GOOD_BODY = {"from": "+14152224444", "to": "+14155550100", "answer_url": "https://h.example.com/a"}


def _item(name: str, body: object) -> dict[str, object]:
    return {"name": name, "request": {"method": "POST", "url": CALL_URL, "body": body}}


def _raw(body: Mapping[str, object]) -> dict[str, str]:
    return {"mode": "raw", "raw": json.dumps(body)}


def _items(tmp_path: Path, items: list[object], **extra: object) -> Path:
    """A collection of ``items`` (and top-level ``extra``)."""
    path = tmp_path / "c.postman_collection.json"
    path.write_text(json.dumps({"info": {"name": "t"}, "item": items, **extra}))
    return path


def test_imported_body_values_are_literal_not_jinja(tmp_path: Path) -> None:
    value = "{% for c in [env.CALLSPEC_TEST_SURELY_UNSET] %}{{c}}{% endfor %}"
    col = _items(tmp_path, [_item("a", _raw({**GOOD_BODY, "caller_name": value}))])
    spec = tmp_path / "out.yaml"
    assert invoke(["import", "postman", col, "-o", spec]).exit_code == 0
    result = invoke(
        ["render", spec, "--format", "json"], env={"CALLSPEC_TEST_SURELY_UNSET": "leakme-123"}
    )
    assert "leakme-123" not in result.output


def test_imported_collection_variables_are_literal(tmp_path: Path) -> None:
    body = {**GOOD_BODY, "answer_url": "https://h.example.com/a?x={{tok}}"}
    col = _items(
        tmp_path,
        [_item("a", _raw(body))],
        variable=[{"key": "tok", "value": "{{ env.CALLSPEC_TEST_SURELY_UNSET }}"}],
    )
    spec = tmp_path / "out.yaml"
    assert invoke(["import", "postman", col, "-o", spec]).exit_code == 0
    result = invoke(
        ["render", spec, "--format", "curl"], env={"CALLSPEC_TEST_SURELY_UNSET": "leakme-456"}
    )
    assert "leakme-456" not in result.output


def test_an_item_name_with_a_newline_cannot_inject_calls(tmp_path: Path) -> None:
    name = (
        "b\n  - name: injected\n    to: '+14155550199'\n    from: '+14152224444'\n"
        "    answer_url: https://evil.example/x"
    )
    col = _items(tmp_path, [_item(name, _raw(GOOD_BODY))])
    spec = tmp_path / "out.yaml"
    result = invoke(["import", "postman", col, "-o", spec])
    assert result.exit_code == 0
    calls = yaml.safe_load(spec.read_text())["calls"]
    assert len(calls) == 1  # the name stays inside its comment, on one line
    assert all(call["to"] != "+14155550199" for call in calls)


def test_a_collection_title_with_a_newline_cannot_inject_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "info": {"name": "t)\ndefaults: {ring_url: 'https://evil.example/r'}\n#"},
                "item": [_item("a", _raw(GOOD_BODY))],
            }
        )
    )
    spec = tmp_path / "out.yaml"
    assert invoke(["import", "postman", path, "-o", spec]).exit_code == 0
    assert "defaults" not in yaml.safe_load(spec.read_text())


@pytest.mark.parametrize(
    ("char", "escaped"),
    [("\u202e", "\\u202e"), ("\x1b", "\\x1b"), ("\ufffe", "\\ufffe")],
    ids=["bidi-override", "escape", "noncharacter"],
)
def test_names_are_escaped_in_the_specs_comments(tmp_path: Path, char: str, escaped: str) -> None:
    """A collection's and an item's names reach the spec's comments as outside text does."""
    col = _items(tmp_path, [_item(f"pa{char}ge", _raw(GOOD_BODY))])
    data = json.loads(col.read_text())
    data["info"]["name"] = f"evil{char}txt.exe"
    col.write_text(json.dumps(data))
    result = invoke(["import", "postman", col])
    assert result.exit_code == ExitCode.OK, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"# Imported from the Postman collection {col.name} (evil{escaped}txt.exe) "
        "by `callspec import postman`."
    )
    assert f"  # from pa{escaped}ge" in lines
    assert char not in result.output


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "urlencoded", "urlencoded": [{"value": "x"}]},
        {"mode": "urlencoded", "urlencoded": ["to=1"]},
        "to=%2B14155550100",
    ],
    ids=["field-without-key", "field-not-object", "body-is-string"],
)
def test_a_malformed_collection_is_a_located_problem(tmp_path: Path, body: object) -> None:
    col = _items(tmp_path, [_item("a", body)])
    result = invoke(["import", "postman", col])
    assert result.exit_code == ExitCode.INVALID
    assert "internal error" not in result.output
    assert str(col.name) in result.output


def test_a_deeply_nested_collection_is_refused_cleanly(tmp_path: Path) -> None:
    leaf = json.dumps(_item("x", _raw(GOOD_BODY)))
    n = 1500
    text = '{"name":"f","item":[' * n + leaf + "]}" * n
    col = tmp_path / "deep.json"
    col.write_text('{"item":[' + text + "]}")
    result = invoke(["import", "postman", col])
    assert "internal error" not in result.output
    assert result.exit_code == ExitCode.INVALID, result.output
    assert f"{col}: cannot read JSON: maximum recursion depth exceeded" in result.stderr


def test_ten_thousand_same_named_items_import_with_unique_names(tmp_path: Path) -> None:
    # Found as a quadratic blow-up in making names unique; no timing assertion here
    # (the suite has none): the suite's timeout bounds it, and every name is checked.
    col = _items(tmp_path, [_item("call", _raw(GOOD_BODY)) for _ in range(10_000)])
    out = tmp_path / "out.yaml"
    result = invoke(["import", "postman", col, "-o", out])
    assert result.exit_code == 0
    names = re.findall(r"^  - name: (.+)$", out.read_text(), flags=re.MULTILINE)
    assert len(names) == 10_000
    assert len(set(names)) == 10_000


def test_an_empty_postman_variable_imports_to_a_valid_spec(tmp_path: Path) -> None:
    body = {**GOOD_BODY, "hangup_url": "https://h.example.com/{{ }}"}
    col = _items(tmp_path, [_item("a", _raw(body))])
    spec = tmp_path / "out.yaml"
    imported = invoke(["import", "postman", col, "-o", spec])
    assert imported.exit_code == 0
    # No variable is made up for it (it was v_, defined nowhere): `{{ }}` stays text,
    # and validate then says what is wrong with that URL, where it is written.
    assert "v_" not in spec.read_text()
    checked = invoke(["validate", spec])
    assert checked.exit_code == ExitCode.INVALID
    assert "calls[0].hangup_url" in checked.stderr


LITERAL_PASSWORD = "LiteralPassw0rd"
_LITERAL_BASIC = base64.b64encode(f"MAXXXXXXXXXXXXXXXXXX:{LITERAL_PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    ("where", "auth", "header"),
    [
        (
            "the basic auth's password",
            {
                "type": "basic",
                "basic": [
                    {"key": "username", "value": "MAXXXXXXXXXXXXXXXXXX"},
                    {"key": "password", "value": LITERAL_PASSWORD},
                ],
            },
            None,
        ),
        (
            "the bearer auth's token",
            {"type": "bearer", "bearer": [{"key": "token", "value": LITERAL_PASSWORD}]},
            None,
        ),
        ("an Authorization header's Basic credentials", None, f"Basic {_LITERAL_BASIC}"),
        ("an Authorization header's bAsIc credentials", None, f"bAsIc {_LITERAL_BASIC}"),
    ],
)
def test_a_credential_written_literally_in_auth_or_a_header_refuses_the_import(
    tmp_path: Path, where: str, auth: object, header: str | None
) -> None:
    source = _collection(tmp_path, f"https://h.example.com/a?p={LITERAL_PASSWORD}", {})
    data = json.loads(source.read_text())
    request = data["item"][0]["request"]
    if auth is not None:
        request["auth"] = auth
    if header is not None:
        request["header"] = [{"key": "AUTHORIZATION", "value": header}]
    source.write_text(json.dumps(data))
    out = tmp_path / "s.yaml"
    result = invoke(["import", "postman", source, "-o", out])
    assert result.exit_code == ExitCode.INVALID
    assert f"holds {where}, written literally" in result.stderr
    assert LITERAL_PASSWORD not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("variables", "url"),
    [
        ({"a-b": "one", "a_b": "two"}, "https://h.example.com/a?a={{a-b}}&b={{a_b}}"),
        (
            {"hook-key": "hk-11111111", "hook_key": "hk-22222222"},
            "https://h.example.com/a?k={{hook_key}}",
        ),
    ],
)
def test_two_variables_that_would_be_one_name_refuse_the_import(
    tmp_path: Path, variables: dict[str, str], url: str
) -> None:
    source = _collection(tmp_path, url, variables)
    out = tmp_path / "s.yaml"
    result = invoke(["import", "postman", source, "-o", out])
    assert result.exit_code == ExitCode.INVALID
    first, second = variables
    spec_name = second
    assert (
        f"the variables {first!r} and {second!r} would both be {spec_name!r} in the spec"
        in result.stderr
    )
    assert not out.exists()
    assert "hk-1111" not in result.output and "hk-2222" not in result.output


def test_a_variable_used_but_not_declared_clashes_too(tmp_path: Path) -> None:
    source = _collection(tmp_path, "https://h.example.com/a?a={{a-b}}&b={{a_b}}", {})
    result = invoke(["import", "postman", source])
    assert result.exit_code == ExitCode.INVALID
    assert "the variables 'a-b' and 'a_b' would both be 'a_b' in the spec" in result.stderr
