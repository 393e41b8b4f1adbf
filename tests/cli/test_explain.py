"""callspec explain: each final argument's value (secrets masked) and every kind of origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TOKEN, invoke

from callspec.spec.origins import KINDS

PROFILES = """\
version: 1
profiles:
  base:
    auth_id: "{{ env.PLIVO_AUTH_ID }}"
    auth_token: "{{ env.PLIVO_AUTH_TOKEN }}"
    secrets: [pin]
    vars:
      hooks: https://hooks.example.com
      pin: "{{ env.PAGER_PIN }}"
    defaults:
      from: "+14152224444"
      ring_timeout: 10
      time_limit: 10
  team:
    extends: base
    vars:
      level: team
    defaults:
      ring_timeout: 20
"""

SPEC = """\
version: 1
profile: team
vars:
  service: payments
  region: "{{ env.REGION }}"
defaults:
  answer_url: "{{ hooks }}/answer.xml?service={{ service }}"
  time_limit: 30
calls:
  - name: page
    vars:
      who: "{{ level }}-{{ region }}"
    to: "+14152223333"
    caller_name: "{{ who }} {{ tier }} {{ shift }}"
    send_digits: "{{ pin }}"
    time_limit: 40
  - name: other
    to: "+14152225555"
    answer_url: https://other.example.com/a.xml
"""


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    (tmp_path / "profiles.yaml").write_text(PROFILES)
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "vars.yaml").write_text("tier: gold\n")
    return tmp_path


ENV = {"PAGER_PIN": "80808", "REGION": "eu", "PLIVO_AUTH_TOKEN": TOKEN}


def _explain(specs: Path, *extra: str) -> Any:
    args = ["explain", specs / "spec.yaml", "--vars-file", specs / "vars.yaml"]
    args += ["--var", "shift=night", "--format", "json", *extra]
    result = invoke(args, ENV)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _argument(call: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in call["arguments"] if a["name"] == name)


def _where(origin: dict[str, Any]) -> tuple[str, str, int, str]:
    return origin["kind"], Path(origin["file"]).name, origin["line"], origin["detail"]


def test_every_origin_kind_with_file_and_line(specs: Path) -> None:
    [page, other] = _explain(specs)
    assert (page["name"], page["profile"], page["chain"]) == ("page", "team", ["base", "team"])
    assert page["line"] == 10 and other["name"] == "other"
    # A profile of the extends chain: the parent's and the child's, each at its own line.
    assert [_where(o) for o in _argument(page, "from")["origins"]] == [
        ("profile", "profiles.yaml", 11, "profile 'base' defaults")
    ]
    assert [_where(o) for o in _argument(page, "ring_timeout")["origins"]] == [
        ("profile", "profiles.yaml", 19, "profile 'team' defaults")
    ]
    # The spec's defaults, with the variables it read: a profile's vars and the spec's.
    answer = _argument(page, "answer_url")
    assert answer["value"] == "https://hooks.example.com/answer.xml?service=payments"
    assert [_where(o) for o in answer["origins"]] == [
        ("defaults", "spec.yaml", 7, "spec defaults"),
        ("variable", "profiles.yaml", 8, "variable 'hooks' from profile 'base' vars"),
        ("variable", "spec.yaml", 4, "variable 'service' from spec vars"),
    ]
    # The call itself, with call vars (and what they read in turn: a profile's variable and
    # a spec variable that reads the environment), --vars-file and --var.
    caller = _argument(page, "caller_name")
    assert caller["value"] == "team-eu gold night"
    assert [_where(o) for o in caller["origins"]] == [
        ("call", "spec.yaml", 14, "call"),
        ("variable", "", 0, "variable 'shift' from --var"),
        ("variable", "vars.yaml", 1, "variable 'tier' from --vars-file"),
        ("variable", "spec.yaml", 12, "variable 'who' from call vars"),
        ("variable", "profiles.yaml", 17, "variable 'level' from profile 'team' vars"),
        ("variable", "spec.yaml", 5, "variable 'region' from spec vars"),
        ("env", "", 0, "environment variable REGION"),
    ]
    assert {o["kind"] for a in page["arguments"] for o in a["origins"]} == set(KINDS) - {
        "row",
        "default",
        "service",
    }  # no page here


def test_a_roster_value_comes_from_its_row_in_the_data_file(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text(PROFILES)
    (tmp_path / "oncall.csv").write_text("name,phone\nann,+14152220001\nbob,+14152220002\n")
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nprofile: team\ncalls:\n"
        "  - name: 'page-{{ row.name }}'\n"
        "    each: oncall.csv\n"
        "    to: '{{ row.phone }}'\n"
        "    caller_name: 'for {{ row.name }}'\n"
        "    answer_url: https://a.example.com/a.xml\n"
    )
    result = invoke(
        ["explain", tmp_path / "spec.yaml", "--only", "page-bob", "--format", "json"],
        ENV,
    )
    assert result.exit_code == 0, result.stderr
    [page] = json.loads(result.stdout)
    assert page["name"] == "page-bob"
    to = _argument(page, "to")
    assert to["value"] == "+14152220002"
    assert [_where(o)[0] for o in to["origins"]] == ["call", "row"]
    assert to["origins"][1]["file"].endswith("oncall.csv")
    assert (to["origins"][1]["line"], to["origins"][1]["detail"]) == (3, "roster row 2")
    assert "row" in KINDS


def test_replaced_settings_are_named(specs: Path) -> None:
    [page, other] = _explain(specs)
    limit = _argument(page, "time_limit")
    assert limit["value"] == 40
    assert [_where(o) for o in limit["overrides"]] == [
        ("defaults", "spec.yaml", 8, "spec defaults"),
        ("profile", "profiles.yaml", 13, "profile 'base' defaults"),
    ]
    # Along the extends chain: the child's default replaced the parent's.
    assert [_where(o) for o in _argument(page, "ring_timeout")["overrides"]] == [
        ("profile", "profiles.yaml", 12, "profile 'base' defaults")
    ]
    assert [_where(o) for o in _argument(other, "answer_url")["overrides"]] == [
        ("defaults", "spec.yaml", 7, "spec defaults")
    ]


def test_secrets_masked_in_both_formats(specs: Path) -> None:
    [page, _] = _explain(specs)
    digits = _argument(page, "send_digits")
    assert digits["value"] == "***"
    assert [o["detail"] for o in digits["origins"]][1:] == [
        "variable 'pin' from profile 'base' vars",
        "environment variable PAGER_PIN",
    ]
    # A --var holding the token, read by a template, is masked too.
    (specs / "spec.yaml").write_text(SPEC.replace("{{ shift }}", "{{ shift }} {{ tok }}"))
    args = ["explain", specs / "spec.yaml", "--vars-file", specs / "vars.yaml"]
    args += ["--var", "shift=night", "--var", f"tok={TOKEN}"]
    for fmt in ("text", "json"):
        result = invoke([*args, "--format", fmt], ENV)
        assert result.exit_code == 0, result.stderr
        assert "80808" not in result.output and TOKEN not in result.output
        assert "***" in result.stdout


def test_a_secret_of_one_profile_is_masked_in_every_spec_of_the_run(tmp_path: Path) -> None:
    """As render masks it: the value of a secret that one spec's profile declares is
    masked where another spec, of another profile, writes the same value."""
    oncall = {"from": "+14152224444", "answer_url": "https://hooks.example.com/a"}
    (tmp_path / "profiles.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "profiles": {
                    "oncall": {"secrets": ["pin"], "vars": {"pin": "4321"}, "defaults": oncall},
                    "plain": {"defaults": oncall},
                },
            }
        )
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(
        "version: 1\nprofile: oncall\ncalls:\n"
        '  - name: one\n    to: "+14155550100"\n    send_digits: "{{ pin }}"\n'
    )
    (specs / "b.yaml").write_text(
        "version: 1\nprofile: plain\ncalls:\n"
        '  - name: two\n    to: "+14155550101"\n    send_digits: "4321"\n'
    )
    profiles = tmp_path / "profiles.yaml"
    rendered = invoke(["render", specs, "--profiles", profiles])
    assert rendered.exit_code == 0, rendered.output
    assert "4321" not in rendered.output  # render masks it in call two as well
    for fmt in ("text", "json"):
        explained = invoke(["explain", specs, "--profiles", profiles, "--format", fmt])
        assert explained.exit_code == 0, explained.output
        assert "4321" not in explained.output, fmt


def test_text_table(specs: Path) -> None:
    result = invoke(
        ["explain", specs / "spec.yaml", "--only", "page", "--var", "shift=x", "--var", "tier=y"],
        ENV,
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(
        f"spec.yaml:10  page  profile 'team' (base -> team, {specs / 'profiles.yaml'})"
    )
    assert lines[1].split() == ["argument", "value", "from"]
    row = next(line for line in lines if line.lstrip().startswith("ring_timeout"))
    assert row.split()[:2] == ["ring_timeout", "20"]
    assert row.endswith(f"profile 'team' defaults at {specs / 'profiles.yaml'}:19")
    assert any(line.strip() == "<- variable 'tier' from --var" for line in lines)
    assert any(line.strip().startswith("(replaces spec defaults at ") for line in lines)
    assert "other" not in result.stdout  # --only


def test_long_value_cut_in_text_whole_in_json(specs: Path) -> None:
    url = "https://hooks.example.com/" + "a" * 200 + ".xml"
    (specs / "spec.yaml").write_text(SPEC.replace("https://other.example.com/a.xml", url))
    result = invoke(["explain", specs / "spec.yaml", "--only", "other"], ENV)
    assert f"({len(url):,} characters)" in result.stdout and url not in result.stdout
    [other] = _explain(specs, "--only", "other")
    assert _argument(other, "answer_url")["value"] == url


def test_invalid_spec_reported_as_validate_does(specs: Path) -> None:
    (specs / "spec.yaml").write_text(SPEC.replace("time_limit: 40", "time_limit: -1"))
    result = invoke(["explain", specs / "spec.yaml", "--var", "shift=x", "--var", "tier=y"], ENV)
    validated = invoke(
        ["validate", specs / "spec.yaml", "--var", "shift=x", "--var", "tier=y"], ENV
    )
    assert result.exit_code == validated.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == validated.stderr
    assert "spec.yaml:16:17: calls[0].time_limit:" in result.stderr


def test_unknown_only_is_a_usage_error(specs: Path) -> None:
    result = invoke(["explain", specs / "spec.yaml", "--only", "nope"], ENV)
    assert result.exit_code == 2
    assert "--only: no call named 'nope'" in result.stderr


def test_a_spec_without_profiles(tmp_path: Path) -> None:
    spec = tmp_path / "solo.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: solo\n    from: '+14152224444'\n"
        "    to: '+14152223333'\n    answer_url: https://a.example.com/x.xml\n"
    )
    result = invoke(["explain", spec])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{spec}:3  solo  no profile"
    [call] = json.loads(invoke(["explain", spec, "--format", "json"]).stdout)
    assert (call["profile"], call["chain"], call["profiles_file"]) == (None, [], None)
    assert {o["kind"] for a in call["arguments"] for o in a["origins"]} == {"call"}
