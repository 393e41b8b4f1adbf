"""``run --sandbox --simulate`` and ``sandbox --simulate`` options through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from misbehaving import ODD_SECRET, redirect_then_xml
from support import answering, cred_env, invoke, raw_server, wait_until

from callspec.errors import ExitCode

pytestmark = pytest.mark.timeout(30)

XML = b"<Response><Speak>Disk full on db-1</Speak></Response>"


def respond(handler: Any, n: int) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, XML


def write_spec(folder: Path, url: str, secret_in_url: bool = False) -> Path:
    query = "?pin={{ pin }}" if secret_in_url else ""
    spec = {
        "version": 1,
        "vars": {"pin": "4711-secret-pin"},
        "calls": [
            {
                "name": "page",
                "from": "+14152224444",
                "to": ["+14155550100", "+14155550101"],
                "answer_url": f"{url}/answer{query}",
                "hangup_url": f"{url}/hangup",
            }
        ],
    }
    path = folder / "page.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    if secret_in_url:
        profiles = {"version": 1, "profiles": {"default": {"secrets": ["pin"]}}}
        (folder / "profiles.yaml").write_text(yaml.safe_dump(profiles))
    return path


def test_run_waits_for_every_simulated_call(tmp_path: Path) -> None:
    with answering(respond) as (url, log):
        spec = write_spec(tmp_path, url, secret_in_url=True)
        args = ["run", spec, "--sandbox", "--simulate", "--simulate-duration", "0.05"]
        args += ["--answer-by", "+14155550100=busy", "--report", tmp_path / "r.json"]
        result = invoke([*args, "--no-progress"])
    assert result.exit_code == 0, result.stderr
    # Both calls ended (hangup sent) before the run exited: the busy one never answered.
    assert sorted(line.split("?")[0].split()[0] for line in log) == [
        "/answer",
        "/hangup",
        "/hangup",
    ]
    steps = [line for line in result.stderr.splitlines() if " simulate " in line]
    assert any("Busy Line (3010, Callee)" in line for line in steps)
    assert any("End Of XML Instructions (4010, Plivo)" in line for line in steps)
    assert "4711-secret-pin" not in result.stderr and "pin=***" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--simulate"], "--simulate goes with --sandbox"),
        (["--sandbox", "--answer", "busy"], "--answer goes with --simulate"),
        (["--sandbox", "--answer-by", "+1415=busy"], "--answer-by goes with --simulate"),
        (["--sandbox", "--simulate", "--answer", "voicemail"], "unknown outcome 'voicemail'"),
        (["--sandbox", "--simulate", "--answer", "busy:2"], "between 0 and 1"),
        (["--sandbox", "--simulate", "--answer-by", "busy"], "DESTINATION=OUTCOME"),
        (
            ["--sandbox", "--simulate", "--answer", "busy:0.6", "--answer", "machine:0.6"],
            "add up to more than 1",
        ),
    ],
)
def test_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    spec = write_spec(tmp_path, "http://127.0.0.1:9")
    result = invoke(["run", spec, *extra])
    assert result.exit_code == 2
    assert message in result.stderr


def test_sandbox_command_refuses_answer_without_simulate() -> None:
    result = invoke(["sandbox", "--port", "0", "--answer", "busy"])
    assert result.exit_code == 2 and "--answer goes with --simulate" in result.stderr


def test_sandbox_command_simulates_and_serves_the_detail_record(tmp_path: Path) -> None:
    import re
    import signal

    import requests
    from support import spawn

    args = ["sandbox", "--port", "0", "--auth-id", "MASIMCLI000000000000", "--auth-token", "pw"]
    args += ["--simulate", "--simulate-duration", "0", "--answer-by", "+14155550100=busy"]
    with answering(respond) as (url, log):
        proc = spawn(args, {}, tmp_path)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "simulating calls" in line
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert found, line
            base = f"{found.group(0)}/v1/Account/MASIMCLI000000000000/Call/"
            auth = ("MASIMCLI000000000000", "pw")
            body = {"from": "+14152224444", "to": "+14155550100<+14155550101"}
            body |= {"answer_url": f"{url}/answer", "hangup_url": f"{url}/hangup"}
            placed = requests.post(base, json=body, auth=auth, timeout=5).json()
            busy, human = placed["request_uuid"]
            records: dict[str, dict[str, Any]] = {}

            def both_ended() -> bool:  # a call's detail record is served once it has ended
                for uuid in (busy, human):
                    answer = requests.get(f"{base}{uuid}/", auth=auth, timeout=5)
                    if answer.status_code == 200:
                        records[uuid] = answer.json()
                return len(records) == 2

            wait_until(both_ended, "the detail records of both calls")
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
    assert records[busy]["hangup_cause_name"] == "Busy Line"
    assert records[busy]["answer_time"] is None
    assert records[human]["hangup_cause_name"] == "End Of XML Instructions"
    assert proc.returncode == 0 and "Traceback" not in err
    assert f"simulate {busy} end Busy Line (3010, Callee)" in err
    assert sum(1 for line in log if line.startswith("/answer")) == 1


def test_interrupted_wait_hangs_up_the_live_calls(tmp_path: Path) -> None:
    """Ctrl-C while ``run --sandbox --simulate`` waits: live calls end, hangups are sent."""
    import io
    import threading

    from callspec.delivery.options import RunOptions
    from callspec.execute import Outputs, RunRequest, execute
    from callspec.sandbox.outcomes import SimulationConfig
    from callspec.spec.model import PlanOptions

    stop = threading.Event()

    def answer_then_stop(handler: Any, n: int) -> tuple[int, dict[str, str], bytes]:
        if handler.path.startswith("/answer"):
            stop.set()  # as Ctrl-C would, while both calls are in progress
        return respond(handler, n)

    with answering(answer_then_stop) as (url, log):
        spec = write_spec(tmp_path, url)
        request = RunRequest(
            (spec,),
            PlanOptions(),
            RunOptions(),
            Outputs(report=tmp_path / "r.json", progress=False),
            sandbox=True,
            simulate=SimulationConfig(duration_s=60),
        )
        err = io.StringIO()
        execute(request, {}, io.StringIO(), err, stop)
    hangups = [line for line in log if line.startswith("/hangup")]
    assert len(hangups) == 2  # not 60 s later: both ended when the wait was interrupted
    assert "Normal Hangup (4000, Plivo)" in err.getvalue()


SIMULATE = ["--sandbox", "--simulate", "--simulate-duration", "0"]


def _one_call(folder: Path, answer_url: str, **profile: Any) -> list[str]:
    """calls.yaml with one call (and a profiles file of ``profile``): run's arguments."""
    call = {"name": "c0", "from": "+14152224444", "to": "+14155550100", "answer_url": answer_url}
    (folder / "calls.yaml").write_text(yaml.safe_dump({"version": 1, "calls": [call]}))
    profiles = {"version": 1, "profiles": {"default": profile}}
    (folder / "profiles.yaml").write_text(yaml.safe_dump(profiles))
    return [str(folder / "calls.yaml"), "--profiles", str(folder / "profiles.yaml")]


def test_simulated_step_lines_mask_a_redirected_secret(tmp_path: Path) -> None:
    with raw_server(redirect_then_xml) as (url, seen):
        args = _one_call(
            tmp_path, f"{url}/r?pin={{{{ pin }}}}", secrets=["pin"], vars={"pin": ODD_SECRET}
        )
        result = invoke(["run", *args, *SIMULATE, "--report", tmp_path / "r.json"], cred_env())
    assert result.exit_code == 0, result.output
    assert any(b" /x?" in request for request in seen), "the redirect was followed"
    assert "a%7Cb" not in result.output


def test_answer_by_a_destination_no_call_dials_is_a_warning_with_the_nearest(
    tmp_path: Path,
) -> None:
    with raw_server(redirect_then_xml) as (url, _):
        args = _one_call(tmp_path, f"{url}/x")
        script = ["--answer-by", "+1415555010=no-answer"]
        result = invoke(
            ["run", *args, *SIMULATE, *script, "--report", tmp_path / "r.json"], cred_env()
        )
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stderr.startswith(
        "callspec: warning: --answer-by +1415555010: no call dials it; its outcome is never "
        "played (did you mean +14155550100?)\n"
    )
