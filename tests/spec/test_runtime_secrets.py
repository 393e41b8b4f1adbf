"""A secret from the environment is required only to send: validate, render and a dry run
pass without it (showing its placeholder), a live run refuses to send without it, and
with it the call carries the value, masked in every output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import TOKEN, cred_env, invoke, read_report, sandbox

from callspec.errors import ExitCode

PIN = "8675309"


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\n"
        "profiles:\n"
        "  default:\n"
        "    secrets:\n"
        "      - env: PAGER_PIN\n"
        "        var: pin\n"
        "    defaults: {from: '+14152224444'}\n"
    )
    path = tmp_path / "page.yaml"
    path.write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: page\n"
        "    to: '+14155550101'\n"
        "    answer_url: https://hooks.example.com/a.xml\n"
        "    send_digits: '{{ pin }}'\n"
    )
    return path


def test_validate_render_and_a_dry_run_pass_without_it(spec: Path) -> None:
    assert invoke(["validate", spec]).exit_code == ExitCode.OK
    rendered = invoke(["render", spec])
    assert rendered.exit_code == ExitCode.OK, rendered.stderr
    assert json.loads(rendered.stdout)[0]["body"]["send_digits"] == "${PAGER_PIN}"
    dry = invoke(["run", spec, "--dry-run", "--report", "dry.json"])
    assert dry.exit_code == ExitCode.OK, dry.stderr
    assert read_report(Path("dry.json"))["calls"][0]["body"]["send_digits"] == "${PAGER_PIN}"


def test_a_live_run_without_it_refuses_and_sends_nothing(spec: Path) -> None:
    with sandbox() as box:
        result = invoke(["run", spec, "--api-url", box.url, "--report", "r.json"], cred_env())
        assert box.calls == []
    assert result.exit_code == ExitCode.REFUSED
    assert result.stderr.splitlines()[-1] == (
        "callspec: profiles.yaml:5:9: profiles.default.secrets[0]: PAGER_PIN is not set: a live "
        "run needs it (validate, render, --dry-run and --sandbox use ${PAGER_PIN} in its "
        "place); nothing was sent"
    )


def test_with_it_the_call_carries_the_value_and_no_output_shows_it(spec: Path) -> None:
    with sandbox() as box:
        args = ["run", spec, "--api-url", box.url, "--report", "r.json"]
        result = invoke(args, cred_env(PAGER_PIN=PIN))
        assert result.exit_code == ExitCode.OK, result.stderr
        assert [c["body"]["send_digits"] for c in box.calls] == [PIN]
    report = Path("r.json").read_text()
    for secret in (PIN, TOKEN):
        assert secret not in result.output + report
    assert json.loads(report)["calls"][0]["body"]["send_digits"] == "***"


def test_a_wrong_value_is_refused_when_it_is_given(spec: Path) -> None:
    # Unchecked while it waits, the value is checked as soon as it is there.
    result = invoke(["validate", spec], {"PAGER_PIN": "12 34"})
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines()[0].startswith("page.yaml:6:18: calls[0].send_digits: '***'")


def test_an_example_stands_in_checked_sent_to_the_sandbox_and_masked(spec: Path) -> None:
    profiles = Path("profiles.yaml")
    example = "var: pin\n        example: '0000'"
    profiles.write_text(profiles.read_text().replace("var: pin", example))
    assert invoke(["validate", spec]).exit_code == ExitCode.OK
    ran = invoke(["run", spec, "--sandbox", "--report", "s.json"])
    assert ran.exit_code == ExitCode.OK, ran.stderr
    assert read_report(Path("s.json"))["calls"][0]["body"]["send_digits"] == "***"
    with sandbox() as box:
        live = invoke(["run", spec, "--api-url", box.url, "--report", "r.json"], cred_env())
        assert box.calls == []
    assert live.exit_code == ExitCode.REFUSED
    assert "(validate, render, --dry-run and --sandbox use its example in its place)" in (
        live.stderr
    )


def test_a_wrong_example_is_refused_by_validate(spec: Path) -> None:
    profiles = Path("profiles.yaml")
    profiles.write_text(profiles.read_text().replace("var: pin", "var: pin\n        example: x y"))
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert "calls[0].send_digits: '***' must be DTMF digits" in result.stderr
