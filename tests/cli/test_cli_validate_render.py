"""``callspec validate``, ``render`` and ``schema`` through the command line (CliRunner).

The precedence fixtures are in tests/examples/precedence (a profile chain base -> team,
a sibling profile 'other', a spec with defaults and call overrides, a vars file) and
tests/examples/profiles-elsewhere (a profiles file found only by --profiles or
$CALLSPEC_PROFILES).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from jsonschema import Draft202012Validator
from support import EXAMPLES, ROOT, RunCli, invoke, seed_page, write_spec

from callspec.cli.app import COMMANDS
from callspec.errors import ExitCode

TOKEN = "tok-7c1e-never-printed-4f2b"
AUTH_ID = "MAZZZZZZZZZZZZZZZZZZ"


def rendered(result: Result) -> dict[str, dict[str, Any]]:
    """The bodies of a ``render -f json`` result, by call name."""
    assert result.exit_code == 0, result.output
    return {item["call"]: item["body"] for item in json.loads(result.stdout)}


def curl_body(command: str) -> dict[str, Any]:
    words = shlex.split(command)
    body: dict[str, Any] = json.loads(words[words.index("-d") + 1])
    return body


# --- validate ---------------------------------------------------------------------


def test_validate_the_example_specs(run_cli: RunCli) -> None:
    result = run_cli("validate", "specs/", cwd=ROOT)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"OK: \d+ calls in \d+ files valid\n", result.stdout)
    assert result.stderr == ""


def test_validate_needs_no_credentials(run_cli: RunCli) -> None:
    """The example profiles template their credentials from env; validate never renders them."""
    result = run_cli("validate", "specs/", cwd=ROOT)  # run_cli unsets PLIVO_AUTH_*
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "no/such/file.yaml"], "callspec: no such file or folder: no/such/file.yaml"),
        (["validate", "precedence/nested", "--only", "nosuch"], "--only: no call named 'nosuch'"),
        (["validate", "precedence/spec.yaml", "--tag", "nosuch"], "no call matches --tag"),
        (["validate", "precedence/spec.yaml", "--var", "no-equals"], "expected NAME=VALUE"),
        (["validate", "precedence/spec.yaml", "--var", "1x=2"], "expected NAME=VALUE"),
        (["render", "-f", "xml", "precedence/spec.yaml"], "'xml' is not one of"),
        (["validate"], "Missing argument"),
        (["schema", "nosuch"], "'nosuch' is not one of"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, run_cli: RunCli) -> None:
    result = run_cli(*args, cwd=EXAMPLES)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_folder_without_specs_is_a_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "profiles.yaml").write_text("version: 1\nprofiles:\n  default: {}\n")
    result = run_cli("validate", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "no spec files found" in result.stderr


def test_folder_scan_skips_profiles_and_hidden_files(tmp_path: Path, run_cli: RunCli) -> None:
    spec = (EXAMPLES / "valid" / "yaml-values.yaml").read_text()
    (tmp_path / "a.yml").write_text(spec)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(spec)
    (tmp_path / "sub" / "profiles.yml").write_text("version: 1\nprofiles:\n  x: {}\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "broken.yaml").write_text("- not a spec\n")
    (tmp_path / "notes.txt").write_text("not yaml")
    result = run_cli("validate", ".", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK: 2 calls in 2 files valid\n"


# --- render: the seed ---------------------------------------------------------------


def seed_body() -> list[tuple[str, Any]]:
    """The body of the seed's curl command, string values as written."""
    text = seed_page().read_text(encoding="utf-8")
    curl = text[text.index("Curl Command") : text.index("Postman Collection")]
    match = re.search(r"-d '(\{.*?\})'", curl, re.S)
    assert match
    pairs: list[tuple[str, Any]] = json.loads(match[1], object_pairs_hook=list)
    return pairs


def test_seed_renders_to_the_seed_body(run_cli: RunCli) -> None:
    expected = [
        (k, {"300": 300, "true": True}.get(v, v) if k in ("time_limit", "send_on_preanswer") else v)
        for k, v in seed_body()
    ]
    assert ("time_limit", 300) in expected and ("send_on_preanswer", True) in expected
    result = run_cli("render", "-f", "json", "specs/seed.yaml", cwd=ROOT)
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.stdout, object_pairs_hook=list)
    body = dict(item)["body"]
    assert body == expected  # same keys, values, JSON types and order
    assert [type(v) for _, v in body] == [type(v) for _, v in expected]


def test_render_json_shape(run_cli: RunCli) -> None:
    result = run_cli("render", "specs/seed.yaml", cwd=ROOT)  # json is the default
    [item] = json.loads(result.stdout)
    assert item["spec_file"] == "specs/seed.yaml"
    assert item["call"] == "seed-example"
    assert item["method"] == "POST"
    assert item["url"] == "https://api.plivo.com/v1/Account/{auth_id}/Call/"
    assert item["headers"]["Content-Type"] == "application/json"
    assert item["headers"]["Authorization"] == "Basic ***"


def test_render_with_known_auth_id(run_cli: RunCli) -> None:
    env = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    result = run_cli("render", "specs/seed.yaml", cwd=ROOT, env=env)
    [item] = json.loads(result.stdout)
    assert item["url"] == f"https://api.plivo.com/v1/Account/{AUTH_ID}/Call/"
    assert TOKEN not in result.output


def test_api_url_option(run_cli: RunCli) -> None:
    result = run_cli("render", "specs/seed.yaml", "--api-url", "http://127.0.0.1:8765", cwd=ROOT)
    [item] = json.loads(result.stdout)
    assert item["url"] == "http://127.0.0.1:8765/v1/Account/{auth_id}/Call/"


# --- render: curl and yaml ----------------------------------------------------------


@pytest.mark.parametrize("auth_id", [None, AUTH_ID])
def test_curl_reads_the_token_from_the_environment(auth_id: str | None, run_cli: RunCli) -> None:
    env = {"PLIVO_AUTH_TOKEN": TOKEN, "PLIVO_AUTH_ID": auth_id}
    result = run_cli("render", "-f", "curl", "specs/seed.yaml", cwd=ROOT, env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "$PLIVO_AUTH_TOKEN" in out
    assert TOKEN not in result.output
    user = auth_id or "$PLIVO_AUTH_ID"
    assert f'-u "{user}:$PLIVO_AUTH_TOKEN"' in out
    assert f'"https://api.plivo.com/v1/Account/{user}/Call/"' in out
    json_result = run_cli("render", "-f", "json", "specs/seed.yaml", cwd=ROOT, env=env)
    command = out.split("\n", 1)[1]  # after the '# file: call' line
    assert curl_body(command) == rendered(json_result)["seed-example"]


def test_yaml_format_parses_to_the_json_format(run_cli: RunCli) -> None:
    as_yaml = run_cli("render", "-f", "yaml", "specs/", cwd=ROOT)
    as_json = run_cli("render", "-f", "json", "specs/", cwd=ROOT)
    assert as_yaml.exit_code == 0, as_yaml.output
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)


def test_curl_has_one_command_per_call(run_cli: RunCli) -> None:
    result = run_cli("render", "-f", "curl", "specs/", cwd=ROOT)
    as_json = run_cli("render", "-f", "json", "specs/", cwd=ROOT)
    chunks = result.stdout.rstrip("\n").split("\n\n")
    items = json.loads(as_json.stdout)
    assert len(chunks) == len(items)
    for chunk, item in zip(chunks, items, strict=True):
        first, command = chunk.split("\n", 1)
        assert first == f"# {item['spec_file']}: {item['call']}"
        # A declared secret: *** in JSON; spliced from a shell variable in curl.
        expected = {k: "${PAGER_PIN}" if v == "***" else v for k, v in item["body"].items()}
        assert curl_body(command) == expected


# --- secrets ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml", "curl"])
@pytest.mark.parametrize("pin", [None, "86420"])
def test_declared_secret_never_printed(fmt: str, pin: str | None, run_cli: RunCli) -> None:
    """specs/profiles.yaml declares the secret pager_pin from $PAGER_PIN (example 4321)."""
    result = run_cli("render", "-f", fmt, "specs/oncall.yaml", cwd=ROOT, env={"PAGER_PIN": pin})
    assert result.exit_code == 0, result.output
    assert (pin or "4321") not in result.output
    assert ("${PAGER_PIN}" if fmt == "curl" else "***") in result.stdout


def test_secret_given_by_var_is_masked(run_cli: RunCli) -> None:
    result = run_cli("render", "specs/oncall.yaml", "--var", "pager_pin=97531", cwd=ROOT)
    assert "97531" not in result.output
    assert rendered(result)["page-primary"]["send_digits"] == "***"


def test_a_var_typo_does_not_print_the_secrets_value(tmp_path: Path) -> None:
    pin = "zq-SECRET-PIN-77"
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pager_pin]\n"
        '    vars: {pager_pin: "{{ env.PAGER_PIN }}"}\n'
    )
    write_spec(tmp_path, 1, send_digits="{{ pager_pin }}")
    result = invoke(  # NAME:VALUE for NAME=VALUE
        ["run", str(tmp_path / "calls.yaml"), "--dry-run", "--var", f"pager_pin:{pin}"],
        {"PAGER_PIN": pin},
    )
    assert result.exit_code == ExitCode.USAGE
    assert pin not in result.stdout + result.stderr


@pytest.mark.parametrize("fmt", ["json", "curl"])
def test_secret_with_special_characters_never_printed(
    fmt: str, tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [word]\n"
        '    vars:\n      word: "Zürich\'s \\"best\\""\n'
    )
    (tmp_path / "spec.yaml").write_text(
        "version: 1\ncalls:\n  - name: c\n    from: '+14152224444'\n    to: '+14152223333'\n"
        "    answer_url: https://hooks.example.com/a.xml\n    caller_name: '{{ word }}'\n"
    )
    result = run_cli("render", "-f", fmt, "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)[0]["body"] if fmt == "json" else curl_body(result.stdout)
    assert body["caller_name"] == ("***" if fmt == "json" else "${word}")
    assert "Zürich" not in result.output and "Z\\u00fcrich" not in result.output


# --- selection and precedence -------------------------------------------------------


def render_precedence(run_cli: RunCli, *options: str) -> dict[str, dict[str, Any]]:
    return rendered(run_cli("render", "precedence/spec.yaml", *options, cwd=EXAMPLES))


def test_precedence_of_arguments(run_cli: RunCli) -> None:
    """Profile chain parent-first < spec defaults < call."""
    bodies = render_precedence(run_cli)
    plain, override = bodies["plain"], bodies["override"]
    assert plain["from"] == "+14152224444"  # only in base
    assert plain["ring_timeout"] == 20  # team over base
    assert plain["time_limit"] == 30  # spec defaults over team and base
    assert plain["hangup_on_ring"] == 30  # spec defaults over base
    assert override["hangup_on_ring"] == 40  # the call over spec defaults
    assert plain["caller_name"] != "base"  # the call over the profile's default
    assert plain["to"] == "+14152223333"  # spec defaults only


def test_precedence_of_variables(run_cli: RunCli) -> None:
    """Profile (chain) < spec < call < --vars-file < --var."""
    assert render_precedence(run_cli)["plain"]["caller_name"] == "base-team-spec"
    assert render_precedence(run_cli)["override"]["caller_name"] == "call-spec"
    with_file = render_precedence(run_cli, "--vars-file", "precedence/vars.yaml")
    assert with_file["plain"]["caller_name"] == "base-team-file"
    assert with_file["override"]["caller_name"] == "file-file"
    with_var = render_precedence(
        run_cli, "--vars-file", "precedence/vars.yaml", "--var", "tier=cli", "--var", "who=me"
    )
    assert with_var["plain"]["caller_name"] == "me-team-cli"
    assert with_var["override"]["caller_name"] == "cli-file"
    assert with_var["plain"]["answer_url"] == "https://hooks.example.com/me.xml"


def test_var_values_are_literal(run_cli: RunCli) -> None:
    bodies = render_precedence(run_cli, "--var", "tier={{ nosuch }}")
    assert bodies["plain"]["caller_name"] == "base-team-{{ nosuch }}"


def test_profile_option_overrides_the_spec(run_cli: RunCli) -> None:
    bodies = render_precedence(run_cli, "--profile", "other")
    assert bodies["plain"]["ring_timeout"] == 15  # other, not team
    assert bodies["plain"]["time_limit"] == 30  # spec defaults still win
    assert bodies["plain"]["caller_name"] == "base-other-spec"


def test_unknown_profile_option(run_cli: RunCli) -> None:
    result = run_cli("validate", "precedence/spec.yaml", "--profile", "nosuch", cwd=EXAMPLES)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        "--profile: unknown profile 'nosuch' "
        "(defined in precedence/profiles.yaml: base, team, other)"
    )


def test_only_and_tag(run_cli: RunCli) -> None:
    assert set(render_precedence(run_cli)) == {"plain", "override"}
    assert set(render_precedence(run_cli, "--only", "override")) == {"override"}
    assert set(render_precedence(run_cli, "--only", "plain", "--only", "override")) == {
        "plain",
        "override",
    }
    assert set(render_precedence(run_cli, "--tag", "first")) == {"plain"}
    assert set(render_precedence(run_cli, "--tag", "both")) == {"override"}
    assert set(render_precedence(run_cli, "--tag", "first", "--tag", "second")) == {
        "plain",
        "override",
    }
    result = run_cli("validate", "precedence/spec.yaml", "--tag", "second", cwd=EXAMPLES)
    assert result.stdout == "OK: 1 call in 1 file valid\n"


def test_only_nosuch_exits_2(run_cli: RunCli) -> None:
    result = run_cli("render", "precedence/spec.yaml", "--only", "nosuch", cwd=EXAMPLES)
    assert result.exit_code == 2
    assert result.stderr == "callspec: --only: no call named 'nosuch'\n"
    assert result.stdout == ""


def test_only_checks_the_selected_calls(run_cli: RunCli) -> None:
    result = run_cli("validate", "multi/three-defects.yaml", "--only", "b", cwd=EXAMPLES)
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "multi/three-defects.yaml:15:20: calls[1].answer_method: 'PUT' is not allowed: "
        "use 'GET' or 'POST'",
        "callspec: 1 problem; nothing was sent",
    ]
    # The shape of the whole file is still checked.
    result = run_cli("validate", "invalid/unknown-key.yaml", "--only", "nosuch", cwd=EXAMPLES)
    assert result.exit_code == 3


def test_nearest_profiles_file_upward(run_cli: RunCli) -> None:
    """nested/ has no profiles.yaml: ../profiles.yaml is used; it has no 'default'."""
    bodies = rendered(run_cli("render", "precedence/nested", cwd=EXAMPLES))
    assert bodies["nested"] == {
        "from": "+14152224444",
        "to": "+14152223333",
        "answer_url": "https://hooks.example.com/nested.xml",
    }
    assert bodies["named"]["ring_timeout"] == 15  # profile 'other' from ../profiles.yaml
    bodies = rendered(
        run_cli("render", "precedence/nested/spec.yaml", "--profile", "team", cwd=EXAMPLES)
    )
    assert bodies["nested"]["ring_timeout"] == 20


def test_profiles_option(run_cli: RunCli) -> None:
    spec = "profiles-elsewhere/spec.yaml"
    missing = run_cli("validate", spec, cwd=EXAMPLES)
    assert missing.exit_code == 3
    assert "missing required argument 'from'" in missing.stderr
    result = run_cli(
        "render", spec, "--profiles", "profiles-elsewhere/elsewhere.yaml", cwd=EXAMPLES
    )
    [item] = json.loads(result.stdout)
    assert item["body"]["from"] == "+14152227777"
    assert item["url"] == "http://127.0.0.1:9/v1/Account/{auth_id}/Call/"


def test_callspec_profiles_environment_variable(run_cli: RunCli) -> None:
    env = {"CALLSPEC_PROFILES": "profiles-elsewhere/elsewhere.yaml"}
    result = run_cli("render", "profiles-elsewhere/spec.yaml", cwd=EXAMPLES, env=env)
    assert rendered(result)["elsewhere"]["from"] == "+14152227777"
    # $CALLSPEC_PROFILES wins over the nearest profiles.yaml ...
    result = run_cli("validate", "precedence/spec.yaml", cwd=EXAMPLES, env=env)
    assert result.exit_code == 3
    assert "unknown profile 'team'" in result.stderr
    # ... and --profiles wins over $CALLSPEC_PROFILES.
    result = run_cli(
        "validate",
        "precedence/spec.yaml",
        "--profiles",
        "precedence/profiles.yaml",
        cwd=EXAMPLES,
        env=env,
    )
    assert result.exit_code == 0, result.output


def test_missing_profiles_file_option(run_cli: RunCli) -> None:
    # A path given on the command line that does not exist is a usage error (exit 2).
    result = run_cli("validate", "precedence/spec.yaml", "--profiles", "nope.yaml", cwd=EXAMPLES)
    assert result.exit_code == 2
    assert "'nope.yaml' does not exist" in result.stderr


def test_vars_file_problems_are_located(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "vars.yaml").write_text("- a\n- b\n")
    spec = EXAMPLES / "precedence" / "spec.yaml"
    result = run_cli("validate", spec, "--vars-file", "vars.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert "vars.yaml:1:1: a vars file must be a mapping of names to values" in result.stderr


# --- schema and help ----------------------------------------------------------------


SCHEMA_NAMES = ["call", "spec", "profiles"] + (
    ["report"] if (ROOT / "schemas" / "report.schema.json").exists() else []
)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_command(name: str, run_cli: RunCli) -> None:
    result = run_cli("schema", name)
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["$id"].endswith(f"/{name}.schema.json")
    Draft202012Validator.check_schema(schema)
    assert schema == json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())


def test_schema_defaults_to_call(run_cli: RunCli) -> None:
    assert json.loads(run_cli("schema").stdout)["$id"].endswith("/call.schema.json")


@pytest.mark.parametrize("command", [[], *([name] for name in sorted(COMMANDS))])
def test_help(command: list[str], run_cli: RunCli) -> None:
    for flag in ("--help", "-h"):
        result = run_cli(*command, flag)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("callspec, version ")


@pytest.mark.parametrize("command", ["validate", "render", "run --dry-run"])
def test_a_symlink_loop_is_a_clear_error(command: str, tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "folder" / "b.yaml").symlink_to("a.yaml")
    loop = "cannot read file: it is a symlink loop (too many levels of symbolic links)"
    for path, lines in (
        ("loop.yaml", [f"loop.yaml: {loop}"]),
        ("folder", [f"folder/a.yaml: {loop}", f"folder/b.yaml: {loop}"]),
    ):
        report = ["--report", tmp_path / "r.json"] if command.startswith("run") else []
        result = run_cli(*command.split(), path, *report, cwd=tmp_path)
        assert result.exit_code == 3, result.output
        n = len(lines)
        assert result.stderr.splitlines() == [
            *lines,
            f"callspec: {n} problem{'s' if n > 1 else ''}; nothing was sent",
        ]


def test_format_json_stdout_is_json_on_a_usage_error(tmp_path: Path) -> None:
    result = invoke(["validate", tmp_path / "missing.yaml", "--format", "json"])
    assert result.exit_code == ExitCode.USAGE
    json.loads(result.stdout)
