"""``escalate:`` and ``--wait`` against the sandbox's simulated calls (``--simulate``).

The sandbox plays each call as Plivo would (ring, answer, the answer XML from a
local handler, hangup) and serves its state (live, queued, detail record) and
the hangup API; ``--answer-by`` scripts who answers.  Its own record says which
phones were rung.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from simulation_plugin import Start, scripted
from support import (
    AUTH_ID,
    TOKEN,
    answering,
    cred_env,
    free_port,
    invoke,
    read_report,
    spawned,
    wait_until,
)

from callspec.errors import ExitCode
from callspec.report.verdicts import when
from callspec.sandbox.server import Sandbox

ALICE, BOB, CAROL = "+14155550101", "+14155550102", "+14155550103"
PAGE_XML = b'<?xml version="1.0"?><Response><Speak>db-1 is down</Speak></Response>'


def _xml(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, PAGE_XML


@pytest.fixture
def hooks() -> Iterator[str]:
    """The team's answer URL: a Speak, for every call."""
    with answering(_xml) as (url, _):
        yield url


def _roster(folder: Path, hooks: str, until: str = "human") -> Path:
    (folder / "oncall.csv").write_text(f"name,phone\nalice,{ALICE}\nbob,{BOB}\ncarol,{CAROL}\n")
    spec = folder / "page.yaml"
    spec.write_text(
        "version: 1\n"
        "calls:\n"
        '  - name: "page-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        f"    answer_url: {hooks}/page.xml\n"
        "    machine_detection: hangup\n"
        f"    escalate: {{answer_within: 45, until: {until}}}\n"
    )
    return spec


def _run(folder: Path, box: Sandbox, *extra: str) -> tuple[Any, dict[str, Any]]:
    report = folder / "report.json"
    args = [
        "run",
        folder / "page.yaml",
        "--api-url",
        box.url,
        "--report",
        report,
        "--poll-interval",
        "0.05",
        "--read-rate",
        "200",
        "--no-progress",
        *extra,
    ]
    result = invoke([str(a) for a in args], cred_env())
    return result, read_report(report)


def _rung(box: Sandbox) -> list[str]:
    return [c["body"]["to"] for c in box.calls if c.get("placed")]


def test_roster_of_three_only_the_second_answers(tmp_path: Path, hooks: str, start: Start):
    box = start(scripted(f"{ALICE}=no-answer", f"{BOB}=human", f"{CAROL}=human", duration_s=0.2))
    _roster(tmp_path, hooks)
    result, report = _run(tmp_path, box)
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ALICE, BOB]  # exactly two phones
    alice, bob, carol = report["calls"]
    assert (alice["answers"][0]["answered"], alice["answers"][0]["call_state"]) == (
        False,
        "NOANSWER",
    )
    answer = bob["answers"][0]
    assert (answer["answered"], answer["answered_by"]) == (True, "human")
    assert answer["answer_time"] and answer["hangup_cause"] == "End Of XML Instructions"
    assert carol["outcome"] == "skipped"
    assert carol["reason"] == "escalation stopped: answered by 'page-bob' (human), row 2"
    assert f"answered by 'page-bob' (human) at {when(answer['answer_time'])}, row 2 of 3" in (
        result.stdout
    )

    # The official SDK reads the same detail record from the sandbox.
    plivo = pytest.importorskip("plivo")
    import plivo.rest.client as rest

    base = f"{box.url}/v1/Account"
    saved = {n: getattr(rest, n) for n in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI")}
    try:
        for name in saved:
            setattr(rest, name, base)
        record = plivo.RestClient(AUTH_ID, TOKEN).calls.get(bob["request_uuid"])
    finally:
        for name, value in saved.items():
            setattr(rest, name, value)
    assert record.answer_time == answer["answer_time"]
    assert record.hangup_cause_name == answer["hangup_cause"]
    assert record.bill_duration == answer["bill_duration"]


def test_nobody_answers_three_phones_exit_1(tmp_path: Path, hooks: str, start: Start):
    box = start(scripted(f"{ALICE}=no-answer", f"{BOB}=busy", f"{CAROL}=rejected", duration_s=0.2))
    _roster(tmp_path, hooks, until="answered")
    result, report = _run(tmp_path, box)
    assert result.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == [ALICE, BOB, CAROL]
    assert [c["answers"][0]["call_state"] for c in report["calls"]] == ["NOANSWER", "BUSY", "BUSY"]
    assert (
        "unanswered: 'page-alice': no answer, 'page-bob': busy, 'page-carol': busy "
        "(3 of 3 called)" in result.stdout
    )


def test_voicemail_is_not_a_human(tmp_path: Path, hooks: str, start: Start):
    box = start(scripted(f"{ALICE}=machine", f"{BOB}=human", duration_s=0.2))
    _roster(tmp_path, hooks, until="human")
    result, report = _run(tmp_path, box)
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ALICE, BOB]
    alice = report["calls"][0]["answers"][0]
    assert (alice["answered_by"], alice["hangup_cause"]) == ("machine", "Machine Detected")
    assert report["calls"][1]["answers"][0]["answered_by"] == "human"


def test_crash_after_the_first_call_then_resume(tmp_path: Path, hooks: str, start: Start):
    box = start(scripted(f"{ALICE}=no-answer", f"{BOB}=human", duration_s=0.3))
    _roster(tmp_path, hooks)
    journal = tmp_path / "page.journal.jsonl"
    args = [
        "run",
        str(tmp_path / "page.yaml"),
        "--api-url",
        box.url,
        "--journal",
        str(journal),
        "--report",
        str(tmp_path / "first.json"),
        "--poll-interval",
        "5",
        "--no-progress",
    ]
    with spawned(args, cred_env(), tmp_path) as run:
        # Placed and journaled: the run is waiting on it (it reads its state every 5 s).
        wait_until(lambda: _rung(box), "alice's phone to ring")
        wait_until(
            lambda: journal.exists() and '"event":"finished"' in journal.read_text(),
            "alice's call journaled as placed",
        )
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=20)
    assert _rung(box) == [ALICE]
    assert box.wait_for_calls(20)  # alice's phone has stopped ringing: nobody answered

    result, report = _run(tmp_path, box, "--resume", str(journal))
    assert result.exit_code == ExitCode.OK, result.output
    assert _rung(box) == [ALICE, BOB]  # alice was not rung again
    alice, bob, carol = report["calls"]
    assert alice["reason"].startswith("already fired in run")
    # Read back: rung out unanswered before the resume (the resume hanging up a phone
    # still ringing is test_escalate's test_ctrl_c_while_a_step_rings_then_resume_hangs_it_up).
    assert alice["answers"][0]["answered"] is False
    assert alice["answers"][0]["call_state"] == "NOANSWER"
    assert bob["answers"][0]["answered_by"] == "human"
    assert carol["outcome"] == "skipped"


def test_wait_over_a_bulk_call(tmp_path: Path, hooks: str, start: Start):
    box = start(scripted(f"{ALICE}=human", f"{BOB}=busy", f"{CAROL}=no-answer", duration_s=0.2))
    (tmp_path / "page.yaml").write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: all-hands\n"
        f'    to: "{ALICE}<{BOB}<{CAROL}"\n'
        '    from: "+14155550100"\n'
        f"    answer_url: {hooks}/page.xml\n"
    )
    result, report = _run(tmp_path, box, "--wait", "60")
    assert result.exit_code == ExitCode.CALL_FAILED
    call = report["calls"][0]
    assert [a["to"] for a in call["answers"]] == [ALICE, BOB, CAROL]
    assert [a["call_uuid"] for a in call["answers"]] == call["request_uuid"]
    assert [(a["answered"], a["call_state"]) for a in call["answers"]] == [
        (True, "ANSWER"),
        (False, "BUSY"),
        (False, "NOANSWER"),
    ]
    assert "1/3 yes" in result.stdout
    ok, _ = _run(tmp_path, box, "--wait", "60", "--wait-ok", "no-answer")
    assert ok.exit_code == ExitCode.OK


def test_a_machine_the_sandbox_plays_is_never_a_human(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: page\n"
        f'    to: ["{ALICE}", "{BOB}"]\n'
        '    from: "+14155550100"\n'
        f"    answer_url: http://127.0.0.1:{free_port()}/gone.xml\n"
        "    machine_detection: hangup\n"
        "    escalate: {answer_within: 5, until: human}\n"
    )
    args = ["run", spec, "--sandbox", "--simulate", "--answer-by", f"{ALICE}=machine"]
    args += ["--answer-by", f"{BOB}=no-answer", "--report", tmp_path / "r.json", "--no-progress"]
    result = invoke([str(a) for a in args])
    first = read_report(tmp_path / "r.json")["calls"][0]
    assert first["outcome"] == "fired", result.output
    assert (first["answers"][0]["answered"], first["answers"][0]["answered_by"]) == (
        True,
        "machine",
    )
