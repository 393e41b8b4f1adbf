"""``run --sandbox --simulate`` and ``sandbox --simulate`` options through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import answering, invoke

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
