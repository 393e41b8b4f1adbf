"""``run --wait``: following placed calls to their end over real HTTP.

Against the Plivo stand-in of ``conftest.py`` (the ``plivo`` fixture): each
destination's scripted story is read over real HTTP.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_stories import REFUSED, run_followed
from plivo_fake import NOANSWER, NOT_FOUND, Lifecycle, PlivoFake, Reply, Script, answers, plivo_fake
from plivo_fake import Leg as Leg_
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report, spawn

from callspec.delivery.credentials import Credentials
from callspec.delivery.follow import Follower
from callspec.delivery.legs import Leg, legs_of
from callspec.delivery.request import Timeouts
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


# -- what a read may be believed to say ----------------------------------------------------

ONE = (
    "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
    "    answer_url: https://example.com/a.xml\n"
)
A = "+14155550101"


def _one(folder: Path, extra: str = "") -> Path:
    spec = folder / "calls.yaml"
    spec.write_text(ONE + extra)
    return spec


def test_an_answer_without_a_record_is_not_a_human(tmp_path: Path) -> None:
    # In progress, then gone; the record that would say who answered never comes.
    story = Script(["in-progress", "ended"])
    with plivo_fake({A: story}) as fake:
        result, report, _ = run_followed(
            _one(tmp_path, "    machine_detection: hangup\n"), fake.url, "--wait", "1"
        )
    (answer,) = report["calls"][0]["answers"]
    assert (answer["answered"], answer["answered_by"]) == (True, None)
    assert "yes (human)" not in result.stdout


def test_a_200_that_is_not_a_call_is_not_an_answer(tmp_path: Path) -> None:
    def garbage(method: str, leg: Leg_, status: str | None) -> Reply:
        return (200, ["not", "a", "call"]) if status == "live" and leg.reads == 1 else NOT_FOUND

    with plivo_fake({A: garbage}) as fake:
        _, report, _ = run_followed(_one(tmp_path), fake.url, "--wait", "1")
        assert f"GET {A} live" in fake.log
    (answer,) = report["calls"][0]["answers"]
    assert answer["answered"] is None


@contextlib.contextmanager
def trickling() -> Iterator[tuple[str, threading.Event]]:
    """A server whose every answer trickles a byte per 0.1 s (well inside requests' read
    timeout) until the test lets it go."""
    release = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 100000\r\n\r\n")
            while not release.wait(0.1):
                conn.sendall(b" ")

    def accept() -> None:
        while not release.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", release
    finally:
        release.set()
        thread.join(5)
        listener.close()


def test_a_trickling_state_api_does_not_hold_the_wait() -> None:
    with trickling() as (url, release):
        stop = threading.Event()
        quick = Timeouts(connect=0.5, read=0.5)  # each read must be over within 1 s
        options = WaitOptions(0.5, interval=0.01, read_rate=1000, timeouts=quick)
        follower = Follower(options, {}, str, stop)
        leg = Leg(str(uuid.uuid4()), A, url, Credentials(AUTH_ID, TOKEN))
        answers: list[Any] = []
        thread = threading.Thread(target=lambda: answers.extend(follower.follow([leg])))
        thread.start()
        thread.join(1)
        stop.set()  # Ctrl-C too
        thread.join(3)
        finished = not thread.is_alive()
        release.set()
        thread.join(10)
        follower.close()
    assert finished  # a 0.5 s wait, 1 s reads, then Ctrl-C: done within 4 s
    assert answers[0].answered is None


def test_reads_honour_retry_after(tmp_path: Path) -> None:
    def limited(method: str, leg: Leg_, status: str | None) -> Reply:
        return 429, {"error": "too many requests"}

    with plivo_fake({A: limited}) as fake:
        result, _, _ = run_followed(_one(tmp_path), fake.url, "--wait", "1")
        reads = [line for line in fake.log if line.startswith("GET")]
    assert "429" in result.stdout
    assert reads == [f"GET {A} live"]  # told to come back in 60 s: not within this 1 s wait


def test_detail_record_text_is_cleaned_and_capped(tmp_path: Path) -> None:
    cause = "No Answer\x1b]0;owned\x07\x1b[2J"
    fields = {**NOANSWER, "hangup_cause_name": cause, "hangup_source": "A" * 100_000}
    with plivo_fake({A: Script(["ended"], fields=fields)}) as fake:
        result, report, _ = run_followed(_one(tmp_path), fake.url, "--wait", "5")
    assert "\x1b" not in result.stdout + result.stderr
    assert len(result.stdout) < 20_000 and len(result.stderr) < 20_000
    assert report["calls"][0]["answers"][0]["hangup_cause"] == "No Answer\\x1b]0;owned\\x07\\x1b[2J"


def test_sandbox_wait_without_simulate_says_why(tmp_path: Path) -> None:
    args = ["run", _one(tmp_path), "--sandbox", "--wait", "1", "--report", tmp_path / "r.json"]
    result = invoke([str(a) for a in [*args, "--no-progress"]])
    assert "--simulate" in result.output


@pytest.mark.parametrize("request_uuid", [12345, "../Application/APP1"])
def test_a_request_uuid_that_is_no_uuid_is_never_read(tmp_path: Path, request_uuid: Any) -> None:
    def placed(to: str, n: int) -> Reply:
        return 201, {"api_id": "a", "message": "call fired", "request_uuid": request_uuid}

    with plivo_fake({A: answers()}, placed) as fake:
        result, report, _ = run_followed(_one(tmp_path), fake.url, "--wait", "1")
        assert fake.posts() == [A]
        assert fake.paths == []  # nothing went into a URL
    assert "internal error" not in result.stderr
    assert report["calls"][0]["outcome"] == "fired"  # placed: it is in the report
    assert "is not a call UUID" in report["calls"][0]["answers"][0]["note"]


def test_a_queued_call_not_answered_in_time_is_cancelled(plivo: PlivoFake) -> None:
    plivo.stories[A] = Lifecycle(["queued"] * 1000, None)
    call_uuid = plivo.place(A)
    follower = Follower(WaitOptions(30, interval=0.01, read_rate=1000), {}, str)
    try:
        (answer,) = follower.follow(
            [Leg(call_uuid, A, plivo.url, Credentials(AUTH_ID, TOKEN))], answer_within=0.2
        )
    finally:
        follower.close()
    assert [x for x in plivo.log if x.startswith("DELETE")] == [
        f"DELETE {A} call",  # no live call: nothing to hang up
        f"DELETE {A} request",  # so its request is cancelled
    ]
    assert (answer.hung_up, answer.cancelled, answer.call_state) == (True, True, "CANCEL")
    assert answer.note == "still queued: cancelled with Plivo's cancel API"
