"""Review 11: validate --format, --changed, the GitHub Action, init, import postman.

Each test reproduced a finding of that review (all fixed since); they assert the correct
behaviour and stay as regressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from support import invoke

from callspec.errors import ExitCode

CALL_URL = "https://api.plivo.com/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/"
GOOD_BODY = {"from": "+14152224444", "to": "+14155550100", "answer_url": "https://h.example.com/a"}


def _item(name: str, body: object) -> dict[str, object]:
    return {"name": name, "request": {"method": "POST", "url": CALL_URL, "body": body}}


def _raw(body: Mapping[str, object]) -> dict[str, str]:
    return {"mode": "raw", "raw": json.dumps(body)}


def _collection(tmp_path: Path, items: list[object], **extra: object) -> Path:
    path = tmp_path / "c.postman_collection.json"
    path.write_text(json.dumps({"info": {"name": "t"}, "item": items, **extra}))
    return path


# --- import postman ------------------------------------------------------------------------


def test_imported_body_values_are_literal_not_jinja(tmp_path: Path) -> None:
    value = "{% for c in [env.CALLSPEC_TEST_SURELY_UNSET] %}{{c}}{% endfor %}"
    col = _collection(tmp_path, [_item("a", _raw({**GOOD_BODY, "caller_name": value}))])
    spec = tmp_path / "out.yaml"
    assert invoke(["import", "postman", col, "-o", spec]).exit_code == 0
    result = invoke(
        ["render", spec, "--format", "json"], env={"CALLSPEC_TEST_SURELY_UNSET": "leakme-123"}
    )
    assert "leakme-123" not in result.output


def test_imported_collection_variables_are_literal(tmp_path: Path) -> None:
    body = {**GOOD_BODY, "answer_url": "https://h.example.com/a?x={{tok}}"}
    col = _collection(
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


def test_item_name_with_newline_cannot_inject_calls(tmp_path: Path) -> None:
    name = (
        "b\n  - name: injected\n    to: '+14155550199'\n    from: '+14152224444'\n"
        "    answer_url: https://evil.example/x"
    )
    col = _collection(tmp_path, [_item(name, _raw(GOOD_BODY))])
    spec = tmp_path / "out.yaml"
    result = invoke(["import", "postman", col, "-o", spec])
    assert result.exit_code == 0
    calls = yaml.safe_load(spec.read_text())["calls"]
    assert len(calls) == 1  # the name stays inside its comment, on one line
    assert all(call["to"] != "+14155550199" for call in calls)


def test_collection_title_with_newline_cannot_inject_keys(tmp_path: Path) -> None:
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
    "body",
    [
        {"mode": "urlencoded", "urlencoded": [{"value": "x"}]},
        {"mode": "urlencoded", "urlencoded": ["to=1"]},
        "to=%2B14155550100",
    ],
    ids=["field-without-key", "field-not-object", "body-is-string"],
)
def test_malformed_collection_is_a_located_problem(tmp_path: Path, body: object) -> None:
    col = _collection(tmp_path, [_item("a", body)])
    result = invoke(["import", "postman", col])
    assert result.exit_code == ExitCode.INVALID
    assert "internal error" not in result.output
    assert str(col.name) in result.output


def test_deeply_nested_collection_is_refused_cleanly(tmp_path: Path) -> None:
    leaf = json.dumps(_item("x", _raw(GOOD_BODY)))
    n = 1500
    text = '{"name":"f","item":[' * n + leaf + "]}" * n
    col = tmp_path / "deep.json"
    col.write_text('{"item":[' + text + "]}")
    result = invoke(["import", "postman", col])
    assert "internal error" not in result.output
    assert result.exit_code in (0, ExitCode.INVALID)


def test_ten_thousand_same_named_items_import_with_unique_names(tmp_path: Path) -> None:
    # Found as a quadratic blow-up in making names unique; no timing assertion here
    # (the suite has none): the suite's timeout bounds it, and every name is checked.
    col = _collection(tmp_path, [_item("call", _raw(GOOD_BODY)) for _ in range(10_000)])
    out = tmp_path / "out.yaml"
    result = invoke(["import", "postman", col, "-o", out])
    assert result.exit_code == 0
    names = re.findall(r"^  - name: (.+)$", out.read_text(), flags=re.MULTILINE)
    assert len(names) == 10_000
    assert len(set(names)) == 10_000


def test_empty_postman_variable_imports_to_a_valid_spec(tmp_path: Path) -> None:
    body = {**GOOD_BODY, "hangup_url": "https://h.example.com/{{ }}"}
    col = _collection(tmp_path, [_item("a", _raw(body))])
    spec = tmp_path / "out.yaml"
    imported = invoke(["import", "postman", col, "-o", spec])
    assert imported.exit_code == 0
    # No variable is made up for it (it was v_, defined nowhere): `{{ }}` stays text,
    # and validate then says what is wrong with that URL, where it is written.
    assert "v_" not in spec.read_text()
    checked = invoke(["validate", spec])
    assert checked.exit_code == ExitCode.INVALID
    assert "calls[0].hangup_url" in checked.stderr


# --- validate --changed (pre-commit) -------------------------------------------------------


def test_changed_profiles_file_in_a_folder_without_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    rate: 2\n"
    )
    result = invoke(["validate", "--changed", "config/profiles.yaml"])
    assert result.exit_code == 0, result.output


def test_changed_profiles_file_named_by_env_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "config" / "team.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    rate: -1\n"
    )
    (tmp_path / "specs" / "a.yaml").write_text(
        'version: 1\ndefaults: {from: "+14152224444"}\ncalls:\n'
        '  - {name: a, to: "+14155550100", answer_url: "https://h.example.com/a"}\n'
    )
    env = {"CALLSPEC_PROFILES": "config/team.yaml"}
    assert invoke(["validate", "specs/a.yaml"], env=env).exit_code == ExitCode.INVALID
    result = invoke(["validate", "--changed", "config/team.yaml"], env=env)
    assert result.exit_code == ExitCode.INVALID, result.output


# --- validate --format ---------------------------------------------------------------------


def test_format_json_stdout_is_json_on_usage_error(tmp_path: Path) -> None:
    result = invoke(["validate", tmp_path / "missing.yaml", "--format", "json"])
    assert result.exit_code == ExitCode.USAGE
    json.loads(result.stdout)


# --- init ----------------------------------------------------------------------------------


def test_init_with_non_utf8_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"caf\xe9/\n")
    result = invoke(["init", tmp_path])
    assert "internal error" not in result.output
    assert result.exit_code in (0, ExitCode.USAGE)


def test_init_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").mkdir()
    result = invoke(["init", tmp_path])
    assert result.exit_code == ExitCode.USAGE
    assert not (tmp_path / "profiles.yaml").exists()
    assert not (tmp_path / "specs" / "example.yaml").exists()


def test_init_refuses_beside_an_existing_profiles_yml(tmp_path: Path) -> None:
    (tmp_path / "profiles.yml").write_text("version: 1\nprofiles:\n  default: {rate: 1}\n")
    result = invoke(["init", tmp_path])
    assert result.exit_code == ExitCode.USAGE
    assert not (tmp_path / "profiles.yaml").exists()


def test_changed_unparsable_non_spec_yaml_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    template = tmp_path / "chart" / "templates" / "deployment.yaml"
    template.write_text("{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n")
    result = invoke(["validate", "--changed", "chart/templates/deployment.yaml"])
    assert result.exit_code == 0, result.output


def test_changed_deleted_file_is_not_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["validate", "--changed", "deleted.yaml"])
    assert result.exit_code == 0, result.output
