"""``run --wait``: following placed calls to their end over real HTTP.

Against the Plivo stand-in of ``conftest.py`` (the ``plivo`` fixture): each
destination's scripted story is read over real HTTP.
"""

from __future__ import annotations

import signal
from pathlib import Path

from conftest import REFUSED, run_followed
from plivo_fake import PlivoFake
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report, spawn

from callspec.delivery.credentials import Credentials
from callspec.delivery.follow import Follower
from callspec.delivery.legs import Leg, legs_of
from callspec.delivery.wait import WaitOptions
from callspec.errors import ExitCode


def _spec(folder: Path, *destinations: str, machine: bool = False) -> Path:
    lines = ["version: 1", "calls:"]
    for i, to in enumerate(destinations):
        lines += [
            f"  - name: page-{i}",
            f'    to: "{to}"',
            '    from: "+14155550100"',
            "    answer_url: https://example.com/answer.xml",
        ]
        if machine:
            lines.append("    machine_detection: hangup")
    path = folder / "calls.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(tmp_path: Path, url: str, *extra: str, machine: bool = False, to: tuple[str, ...]):
    return run_followed(_spec(tmp_path, *to, machine=machine), url, *extra)


def test_answered_call_reports_who_how_long_and_how_it_ended(tmp_path: Path, plivo: PlivoFake):
    result, report, junit = _run(tmp_path, plivo.url, "--wait", "30", to=("+14155550001",))
    assert result.exit_code == ExitCode.OK, result.output + result.stderr
    (answer,) = report["calls"][0]["answers"]
    assert answer["answered"] is True
    assert answer["answered_by"] is None  # no machine detection asked
    assert (answer["duration"], answer["bill_duration"]) == (31, 60)
    assert (answer["hangup_cause"], answer["hangup_cause_code"]) == (
        "End Of XML Instructions",
        4010,
    )
    assert answer["hangup_source"] == "Plivo"
    assert answer["answer_time"] == "2026-11-27 02:00:05+00:00"
    assert answer["to"] == "+14155550001"
    # queued first (live 404, queued 200), then live twice, then gone: the detail record.
    to = "+14155550001"
    assert plivo.log[1:4] == [f"GET {to} live", f"GET {to} queued", f"GET {to} live"]
    assert plivo.log[-1] == f"GET {to} record"
    header = result.stdout.splitlines()[0].split()
    assert "answered" in header
    assert " yes " in result.stdout.splitlines()[1]
    assert "answered (ANSWER, End Of XML Instructions, source Plivo), 31 s" in junit
    assert report["options"]["wait"] == 30


def test_unanswered_call_exits_1_unless_wait_ok_no_answer(tmp_path: Path, plivo: PlivoFake):
    result, report, junit = _run(tmp_path, plivo.url, "--wait", "30", to=("+14155550002",))
    assert result.exit_code == ExitCode.CALL_FAILED
    (answer,) = report["calls"][0]["answers"]
    assert (answer["answered"], answer["call_state"], answer["hangup_source"]) == (
        False,
        "NOANSWER",
        "Callee",
    )
    assert report["exit_code"] == 1
    assert 'type="not-answered"' in junit
    assert "page-0: not answered (NOANSWER, No Answer, source Callee), 0 s" in result.output
    assert " no " in result.stdout.splitlines()[1]

    ok, report, junit = _run(
        tmp_path, plivo.url, "--wait", "30", "--wait-ok", "no-answer", to=("+14155550002",)
    )
    assert ok.exit_code == ExitCode.OK, ok.output + ok.stderr
    assert report["exit_code"] == 0 and report["options"]["wait_ok"] == ["no-answer"]
    assert "<failure" not in junit and "not answered (NOANSWER" in junit


def test_machine_detection_says_a_machine_answered(tmp_path: Path, plivo: PlivoFake):
    result, report, _ = _run(
        tmp_path, plivo.url, "--wait", "30", machine=True, to=("+14155550003",)
    )
    (answer,) = report["calls"][0]["answers"]
    assert (answer["answered"], answer["answered_by"]) == (True, "machine")
    assert "yes (machine)" in result.output
    result, report, _ = _run(
        tmp_path, plivo.url, "--wait", "30", machine=True, to=("+14155550001",)
    )
    assert report["calls"][0]["answers"][0]["answered_by"] == "human"


def test_bulk_call_follows_every_destination(tmp_path: Path, plivo: PlivoFake):
    result, report, junit = _run(
        tmp_path, plivo.url, "--wait", "30", to=("+14155550001<+14155550002<+14155550006",)
    )
    call = report["calls"][0]
    assert isinstance(call["request_uuid"], list) and len(call["request_uuid"]) == 3
    answers = call["answers"]
    assert [a["call_uuid"] for a in answers] == call["request_uuid"]
    assert [a["to"] for a in answers] == ["+14155550001", "+14155550002", "+14155550006"]
    assert [a["answered"] for a in answers] == [True, False, True]
    assert answers[2]["read_errors"] == 2  # the flaky leg's 500s were read again
    assert answers[2]["hangup_cause"] == "Normal Hangup"
    assert result.exit_code == ExitCode.CALL_FAILED
    assert "2/3 yes" in result.stdout
    assert "page-0: +14155550002 not answered" in result.stdout
    assert junit.count('type="not-answered"') == 1 and "+14155550006: answered" in junit


def test_wait_runs_out_on_a_call_still_ringing(tmp_path: Path, plivo: PlivoFake):
    result, report, _ = _run(tmp_path, plivo.url, "--wait", "0.3", to=("+14155550004",))
    (answer,) = report["calls"][0]["answers"]
    assert (answer["answered"], answer["state"]) == (False, "ringing")
    assert answer["note"] == "the wait ran out; it was still ringing"
    assert not any(line.startswith("DELETE") for line in plivo.log)  # --wait never hangs up
    assert result.exit_code == ExitCode.CALL_FAILED


def test_refused_reads_are_unknown_and_fail_even_with_wait_ok(tmp_path: Path, plivo: PlivoFake):
    result, report, junit = _run(
        tmp_path, plivo.url, "--wait", "30", "--wait-ok", "no-answer", to=(REFUSED,)
    )
    (answer,) = report["calls"][0]["answers"]
    assert answer["answered"] is None
    assert answer["note"].startswith("reading the call's state was refused: HTTP 401")
    assert answer["reads"] == 1  # a refusal is not read again and again
    assert result.exit_code == ExitCode.CALL_FAILED
    assert 'type="answer-unknown"' in junit
    assert TOKEN not in result.output + result.stderr + junit


def test_wait_ok_needs_wait(tmp_path: Path):
    result = invoke(["run", str(_spec(tmp_path, "+14155550001")), "--wait-ok", "no-answer"])
    assert result.exit_code == ExitCode.USAGE
    assert "--wait-ok goes with --wait" in result.stderr


def test_without_wait_nothing_is_read(tmp_path: Path, plivo: PlivoFake):
    result, report, _ = _run(tmp_path, plivo.url, to=("+14155550002",))
    assert result.exit_code == ExitCode.OK
    assert "answers" not in report["calls"][0]
    assert plivo.log == ["POST +14155550002"]
    assert "answered" not in result.stdout.splitlines()[0]


def test_follower_hangs_up_a_call_not_answered_in_time(plivo: PlivoFake):
    creds = Credentials(AUTH_ID, TOKEN)
    call_uuid = plivo.place("+14155550004")
    follower = Follower(WaitOptions(30, interval=0.01, read_rate=1000), {}, str)
    try:
        (answer,) = follower.follow(
            [Leg(call_uuid, "+14155550004", plivo.url, creds)], answer_within=0.2
        )
    finally:
        follower.close()
    assert "DELETE +14155550004 call" in plivo.log
    assert (answer.answered, answer.hung_up, answer.call_state) == (False, True, "CANCEL")
    assert answer.hangup_source == "API Request"
    assert answer.note == "not answered in time: hung up with Plivo's hangup API"


def test_legs_pair_destinations_with_uuids():
    creds = Credentials(AUTH_ID, TOKEN)
    legs = legs_of(["u1", "u2"], {"to": "+1<+2", "machine_detection": "true"}, "http://x", creds)
    assert [(leg.call_uuid, leg.to, leg.machine_detection) for leg in legs] == [
        ("u1", "+1", True),
        ("u2", "+2", True),
    ]
    assert [leg.to for leg in legs_of(["u1", "u2"], {"to": "+1"}, "http://x", creds)] == [
        None,
        None,
    ]
    assert legs_of(None, {"to": "+1"}, "http://x", creds) == []


def test_ctrl_c_ends_the_wait_and_reports_what_was_known(tmp_path: Path, plivo: PlivoFake):
    spec = _spec(tmp_path, "+14155550004")
    report = tmp_path / "report.json"
    args = [
        "run",
        str(spec),
        "--api-url",
        plivo.url,
        "--report",
        str(report),
        "--wait",
        "60",
        "--poll-interval",
        "0.05",
        "--no-progress",
    ]
    proc = spawn(args, cred_env(), tmp_path)
    try:
        plivo.wait_for(lambda log: sum(x.startswith("GET") for x in log) >= 3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    doc = read_report(report)
    assert doc["stopped"]["kind"] == "interrupt"
    (answer,) = doc["calls"][0]["answers"]
    assert (answer["answered"], answer["state"]) == (False, "ringing")
    assert answer["note"] == "the wait was interrupted; it was still ringing"
