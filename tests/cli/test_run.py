"""End-to-end: `callspec run` against the real sandbox on 127.0.0.1, every exit code."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import support
from support import (
    AUTH_ID,
    ROOT,
    TOKEN,
    cred_env,
    invoke,
    placed_counts,
    read_report,
    sandbox,
    write_profiles,
    write_spec,
)

from callspec.errors import ExitCode
from callspec.sandbox.faults import Fault


@pytest.fixture
def box():  # type: ignore[no-untyped-def]
    sb = sandbox()
    yield sb
    sb.stop()


def run_args(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return support.run_args(
        tmp_path, url, "--report", str(tmp_path / "out" / "report.json"), *extra
    )


def test_readme_main_command_runs_on_the_embedded_sandbox(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["run", str(ROOT / "specs"), "--sandbox", "--rate", "50"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "10 calls: 10 fired" in result.stdout
    assert "warning" not in result.output  # each example call rings phones of its own
    reports = list(tmp_path.glob(".callspec/runs/*/report.json"))
    assert len(reports) == 1
    doc = read_report(reports[0])
    assert doc["mode"] == "sandbox"
    assert doc["summary"]["fired"] == 10
    bulk = next(c for c in doc["calls"] if c["name"] == "incident-bridge")
    assert isinstance(bulk["request_uuid"], list) and len(bulk["request_uuid"]) == 3
    # the declared secret (pager PIN, default 4321) is masked in the report
    assert "4321" not in reports[0].read_text()


def test_fired_calls_reach_the_sandbox_once_each(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 5)
    result = invoke(run_args(tmp_path, box.url, "--junit", str(tmp_path / "junit.xml")), cred_env())
    assert result.exit_code == ExitCode.OK, result.stderr
    assert placed_counts(box.calls) == {f"call-{i:03d}": 1 for i in range(5)}
    doc = read_report(tmp_path / "out" / "report.json")
    assert [c["outcome"] for c in doc["calls"]] == ["fired"] * 5
    assert doc["calls"][0]["body"]["from"] == "+14152224444"
    uuids = {c["request_uuid"] for c in doc["calls"]}
    assert uuids == {r["request_uuid"] for r in box.calls}
    suites = ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == 1 and len(suites[0].findall("testcase")) == 5


def test_queued_over_the_sandbox_cps_is_success(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)
    with sandbox(cps=2) as sb:
        result = invoke(run_args(tmp_path, sb.url, "--concurrency", "6"), cred_env())
    assert result.exit_code == ExitCode.OK, result.stderr
    doc = read_report(tmp_path / "out" / "report.json")
    outcomes = [c["outcome"] for c in doc["calls"]]
    assert "queued" in outcomes and "fired" in outcomes
    queued = next(c for c in doc["calls"] if c["outcome"] == "queued")
    assert queued["status"] == 200 and queued["message"] == "call queued"


def test_wrong_token_exits_1_with_plivos_error_in_the_report(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    env = cred_env(PLIVO_AUTH_TOKEN="wrong-token-zzz")
    result = invoke(run_args(tmp_path, box.url), env)
    assert result.exit_code == ExitCode.CALL_FAILED
    doc = read_report(tmp_path / "out" / "report.json")
    assert {c["outcome"] for c in doc["calls"]} == {"failed"}
    assert all(c["status"] == 401 for c in doc["calls"])
    assert "uthenticat" in doc["calls"][0]["error"]
    assert doc["calls"][0]["api_id"]
    assert box.calls == []
    assert "wrong-token-zzz" not in result.stdout + result.stderr
    assert "wrong-token-zzz" not in (tmp_path / "out" / "report.json").read_text()


def test_400_from_the_api_is_a_failed_call(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with sandbox(faults=(Fault(400, 1.0),)) as sb:
        result = invoke(run_args(tmp_path, sb.url), cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "out" / "report.json")["calls"][0]
    assert (call["outcome"], call["status"], len(call["attempts"])) == ("failed", 400, 1)


def test_404_for_a_wrong_api_url(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    result = invoke(run_args(tmp_path, box.url + "/not-plivo"), cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "out" / "report.json")["calls"][0]
    assert (call["outcome"], call["status"]) == ("failed", 404)


def test_a_server_that_never_answers_gives_unknown_and_no_resend(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with sandbox(hang=1.0) as sb:
        result = invoke(run_args(tmp_path, sb.url, "--timeout", "0.5"), cred_env())
        records = sb.calls
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "out" / "report.json")["calls"][0]
    assert call["outcome"] == "unknown"
    assert len(call["attempts"]) == 1 and call["attempts"][0]["maybe_sent"] is True
    assert "may have been placed" in call["error"]
    assert len(records) == 1


def test_connection_refused_is_retried_then_failed(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    result = invoke(run_args(tmp_path, f"http://127.0.0.1:{port}", "--retries", "2"), cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "out" / "report.json")["calls"][0]
    assert call["outcome"] == "failed"
    assert len(call["attempts"]) == 3
    assert all(a["maybe_sent"] is False for a in call["attempts"])
    assert "before the request was sent" in call["error"]


def test_dry_run_sends_nothing(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    result = invoke(run_args(tmp_path, box.url, "--dry-run"))  # no credentials needed
    assert result.exit_code == ExitCode.OK, result.stderr
    assert box.calls == []
    doc = read_report(tmp_path / "out" / "report.json")
    assert doc["mode"] == "dry-run"
    assert doc["summary"]["skipped"] == 3


def test_invalid_spec_exits_3_and_sends_nothing(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    write_spec(tmp_path, 1, name="broken.yaml", time_limit=0)
    result = invoke(["run", str(tmp_path), "--api-url", box.url], cred_env())
    assert result.exit_code == ExitCode.INVALID
    assert (
        "broken.yaml:" in result.stderr
        and "time_limit: 0 is less than the minimum of 1" in result.stderr
    )
    assert box.calls == []


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = invoke(["run", str(tmp_path), "--concurrency", "0"])
    assert result.exit_code == ExitCode.USAGE


def test_live_run_without_credentials_is_refused(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    env = {"PLIVO_AUTH_ID": None, "PLIVO_AUTH_TOKEN": None}
    result = invoke(run_args(tmp_path, box.url), env)
    assert result.exit_code == ExitCode.REFUSED
    assert "missing credentials" in result.stderr
    assert "PLIVO_AUTH_TOKEN is not set" in result.stderr
    assert box.calls == []


def test_unset_env_in_profile_credentials_is_refused_with_its_location(tmp_path: Path, box) -> None:
    write_profiles(tmp_path, auth_id="{{ env.MY_ID }}", auth_token="{{ env.MY_TOKEN }}")
    write_spec(tmp_path, 1)
    result = invoke(run_args(tmp_path, box.url), {"MY_ID": None, "MY_TOKEN": None})
    assert result.exit_code == ExitCode.REFUSED
    assert "profiles.yaml:3:14: template error: environment variable MY_ID is not set" in (
        result.stderr
    )
    assert "profiles.yaml:4:17: template error: environment variable MY_TOKEN is not set" in (
        result.stderr
    )


def test_max_calls_guard_counts_destinations(tmp_path: Path, box) -> None:
    write_profiles(tmp_path, max_calls=4)
    write_spec(tmp_path, 5)
    result = invoke(run_args(tmp_path, box.url), cred_env())
    assert result.exit_code == ExitCode.REFUSED
    assert "refusing to place 5 calls" in result.stderr
    result = invoke(run_args(tmp_path, box.url, "--max-calls", "5"), cred_env())
    assert result.exit_code == ExitCode.OK
    assert len(box.calls) == 5


def test_profile_credentials_and_api_url_are_used(tmp_path: Path, box) -> None:
    write_profiles(
        tmp_path, auth_id="{{ env.TEAM_ID }}", auth_token="{{ env.TEAM_TOKEN }}", api_url=box.url
    )
    write_spec(tmp_path, 1)
    env = {"TEAM_ID": AUTH_ID, "TEAM_TOKEN": TOKEN, "PLIVO_AUTH_ID": None, "PLIVO_AUTH_TOKEN": None}
    result = invoke(
        ["run", str(tmp_path / "calls.yaml"), "--report", str(tmp_path / "r.json")], env
    )
    assert result.exit_code == ExitCode.OK, result.stderr
    assert len(box.calls) == 1 and box.calls[0]["auth_id"] == AUTH_ID


def test_github_step_summary_is_appended(tmp_path: Path, box) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = invoke(run_args(tmp_path, box.url), cred_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert result.exit_code == ExitCode.OK
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "call-001" in text and "|" in text


def test_the_token_appears_in_no_output_of_any_command(tmp_path: Path) -> None:
    """validate, render (3 formats), run (sandbox ok, 401, 400, timeout, dry-run): no token."""
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": "pin-7d1e55"})
    write_spec(
        tmp_path, 2, send_digits="{{ pin | replace('pin-', '') | length }}", caller_name="{{ pin }}"
    )
    secrets = [TOKEN, "pin-7d1e55"]
    outputs: list[str] = []
    env = cred_env()
    for args in (
        ["validate", str(tmp_path / "calls.yaml")],
        ["render", str(tmp_path / "calls.yaml"), "-f", "json"],
        ["render", str(tmp_path / "calls.yaml"), "-f", "yaml"],
        ["render", str(tmp_path / "calls.yaml"), "-f", "curl"],
    ):
        result = invoke(args, env)
        assert result.exit_code == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    cases = [
        ({}, env, ExitCode.OK),
        ({}, cred_env(PLIVO_AUTH_TOKEN=TOKEN + "x"), ExitCode.CALL_FAILED),
        ({"faults": (Fault(400, 1.0),)}, env, ExitCode.CALL_FAILED),
        ({"hang": 1.0}, env, ExitCode.CALL_FAILED),
    ]
    for n, (config, case_env, code) in enumerate(cases):
        with sandbox(**config) as sb:
            report = tmp_path / f"r{n}.json"
            args = [
                "run",
                str(tmp_path / "calls.yaml"),
                "--api-url",
                sb.url,
                "--rate",
                "100",
                "--timeout",
                "0.5",
                "--report",
                str(report),
                "--junit",
                str(tmp_path / f"j{n}.xml"),
            ]
            result = invoke(args, case_env)
            assert result.exit_code == code, result.stderr
            outputs += [result.stdout, result.stderr]
    result = invoke(
        ["run", str(tmp_path / "calls.yaml"), "--dry-run", "--report", str(tmp_path / "d.json")],
        env,
    )
    outputs += [result.stdout, result.stderr]
    files = [
        p.read_text()
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix in (".json", ".xml", ".jsonl")
    ]
    assert any("caller_name" in f for f in files)
    for secret in secrets:
        for text in outputs + files:
            assert secret not in text
    assert "***" in "".join(files)


def test_report_schema_is_printed(tmp_path: Path) -> None:
    result = invoke(["schema", "report"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$id"].endswith("report.schema.json")


def test_invalid_specs_still_leave_a_report_and_junit(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2, time_limit=0)
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    result = invoke(
        ["run", str(tmp_path / "calls.yaml"), "--report", str(report), "--junit", str(junit)],
        cred_env(),
    )
    assert result.exit_code == ExitCode.INVALID
    doc = read_report(report)
    # time_limit: 0 is written once, in the file's defaults, and breaks both calls
    assert doc["calls"] == [] and doc["summary"]["invalid"] == 2
    assert [p["path"] for p in doc["problems"]] == ["calls[0].time_limit", "calls[1].time_limit"]
    assert all("minimum of 1" in p["message"] for p in doc["problems"])
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "2"
