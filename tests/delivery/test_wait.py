"""``run --wait``: following placed calls to their end over real HTTP.

A small Plivo stand-in on 127.0.0.1 answers Make-a-call and serves each
call's state in Plivo's shapes (live, queued, detail record) and its hangup
API, advancing a scripted lifecycle one step per live read (no clocks: the
same reads give the same story on any machine).
"""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report, spawn

from callspec.delivery.credentials import Credentials
from callspec.delivery.wait import Follower, Leg, WaitOptions, legs_of
from callspec.errors import ExitCode

# Each destination's story: the live states it goes through, then its detail record.
# "ring-forever" rings until hung up; "refused" answers reads with 401; "flaky" fails
# its first reads with 500 before answering.
STORIES: dict[str, tuple[list[str], dict[str, Any] | None]] = {
    "+14155550001": (
        ["queued", "ringing", "in-progress"],
        {
            "call_state": "ANSWER",
            "call_duration": 31,
            "bill_duration": 60,
            "hangup_cause_name": "End Of XML Instructions",
            "hangup_cause_code": 4010,
            "hangup_source": "Plivo",
            "answer_time": "2026-11-27 02:00:05+00:00",
        },
    ),
    "+14155550002": (
        ["ringing", "ringing"],
        {
            "call_state": "NOANSWER",
            "call_duration": 0,
            "bill_duration": 0,
            "hangup_cause_name": "No Answer",
            "hangup_cause_code": 3010,
            "hangup_source": "Callee",
            "answer_time": None,
        },
    ),
    "+14155550003": (
        ["ringing", "in-progress"],
        {
            "call_state": "ANSWER",
            "call_duration": 4,
            "bill_duration": 60,
            "hangup_cause_name": "Machine Detected",
            "hangup_cause_code": 3050,
            "hangup_source": "Plivo",
            "answer_time": "2026-11-27 02:00:03+00:00",
        },
    ),
    "+14155550004": (["ringing"] * 10_000, None),  # ring-forever
    "+14155550005": (["in-progress"], None),  # refused: see the handler
    "+14155550006": (
        ["ringing", "in-progress"],
        {
            "call_state": "ANSWER",
            "call_duration": 12,
            "bill_duration": 60,
            "hangup_cause_name": "Normal Hangup",
            "hangup_cause_code": 4000,
            "hangup_source": "Callee",
            "answer_time": "2026-11-27 02:00:04+00:00",
        },
    ),
}
REFUSED = "+14155550005"
FLAKY = "+14155550006"
CANCELED = {
    "call_state": "CANCEL",
    "call_duration": 0,
    "bill_duration": 0,
    "hangup_cause_name": "Canceled",
    "hangup_cause_code": 1000,
    "hangup_source": "API Request",
    "answer_time": None,
}


class PlivoCalls:
    """The stand-in's state: each placed leg's destination, step and every request seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.legs: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []
        self.url = ""

    def place(self, to: str) -> str:
        call_uuid = str(uuid.uuid4())
        self.legs[call_uuid] = {"to": to, "step": 0, "ended": False, "hung_up": False, "reads": 0}
        return call_uuid

    def read(self, call_uuid: str, status: str | None) -> tuple[int, dict[str, Any]]:
        leg = self.legs.get(call_uuid)
        if leg is None:
            return 404, {"error": "call not found"}
        leg["reads"] += 1
        if leg["to"] == REFUSED:
            return 401, {"error": "authentication failed"}
        if leg["to"] == FLAKY and leg["reads"] <= 2:
            return 500, {"error": "internal error"}
        states, record = STORIES[leg["to"]]
        if status is not None:
            if leg["ended"] or leg["step"] >= len(states):
                leg["ended"] = True
                return 404, {"error": "call not found"}
            state = states[leg["step"]]
            if status == "live" and state == "queued":
                return 404, {"error": "call not found"}
            if status == "queued":
                if state != "queued":
                    return 404, {"error": "call not found"}
                leg["step"] += 1
                return 200, {
                    "api_id": "q",
                    "call_uuid": call_uuid,
                    "request_uuid": call_uuid,
                    "direction": "outbound",
                    "to": leg["to"],
                    "from": "+14155550100",
                }
            leg["step"] += 1
            return 200, {
                "api_id": "l",
                "call_status": state,
                "call_uuid": call_uuid,
                "request_uuid": call_uuid,
                "direction": "outbound",
                "to": leg["to"],
                "from": "+14155550100",
                "caller_name": "",
                "session_start": "x",
            }
        if not leg["ended"]:
            return 404, {"error": "call not found"}
        record = CANCELED if leg["hung_up"] else record
        return 200, {
            "api_id": "r",
            "call_uuid": call_uuid,
            "to_number": leg["to"],
            "end_time": "2026-11-27 02:00:40+00:00",
            **(record or {}),
        }

    def hang_up(self, call_uuid: str) -> int:
        leg = self.legs.get(call_uuid)
        if leg is None or leg["ended"]:
            return 404
        leg["ended"] = leg["hung_up"] = True
        return 204


@pytest.fixture
def plivo() -> Iterator[PlivoCalls]:
    calls = PlivoCalls()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, doc: dict[str, Any] | None) -> None:
            body = json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            auth = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
            if auth != f"{AUTH_ID}:{TOKEN}":
                self._answer(401, {"error": "authentication failed"})
                return False
            return True

        def _uuid(self) -> tuple[str, str | None]:
            parts = urlsplit(self.path)
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            return parts.path.rstrip("/").rsplit("/", 1)[-1], query.get("status")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if not self._authorized():
                return
            with calls.lock:
                calls.log.append(f"POST {body['to']}")
                uuids = [calls.place(to) for to in body["to"].split("<")]
            many = len(uuids) > 1
            self._answer(
                201,
                {
                    "api_id": "a",
                    "message": "calls fired" if many else "call fired",
                    "request_uuid": uuids if many else uuids[0],
                },
            )

        def do_GET(self) -> None:
            if not self._authorized():
                return
            call_uuid, status = self._uuid()
            with calls.lock:
                calls.log.append(f"GET {status or 'record'}")
                code, doc = calls.read(call_uuid, status)
            self._answer(code, doc)

        def do_DELETE(self) -> None:
            if not self._authorized():
                return
            call_uuid, _ = self._uuid()
            with calls.lock:
                calls.log.append(f"DELETE {call_uuid}")
                code = calls.hang_up(call_uuid)
            self._answer(code, None if code == 204 else {"error": "call not found"})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    calls.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


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
    spec = _spec(tmp_path, *to, machine=machine)
    report = tmp_path / "report.json"
    junit = tmp_path / "junit.xml"
    args = [
        "run",
        spec,
        "--api-url",
        url,
        "--rate",
        "200",
        "--report",
        report,
        "--junit",
        junit,
        "--poll-interval",
        "0.01",
        "--read-rate",
        "500",
        *extra,
    ]
    result = invoke([str(a) for a in args], cred_env())
    return result, read_report(report), junit.read_text()


def test_answered_call_reports_who_how_long_and_how_it_ended(tmp_path: Path, plivo: PlivoCalls):
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
    assert plivo.log[1:4] == ["GET live", "GET queued", "GET live"]
    assert plivo.log[-1] == "GET record"
    header = result.stdout.splitlines()[0].split()
    assert "answered" in header
    assert " yes " in result.stdout.splitlines()[1]
    assert "answered (ANSWER, End Of XML Instructions, source Plivo), 31 s" in junit
    assert report["options"]["wait"] == 30


def test_unanswered_call_exits_1_unless_wait_ok_no_answer(tmp_path: Path, plivo: PlivoCalls):
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


def test_machine_detection_says_a_machine_answered(tmp_path: Path, plivo: PlivoCalls):
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


def test_bulk_call_follows_every_destination(tmp_path: Path, plivo: PlivoCalls):
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
    assert "2/3 yes" in result.output
    assert "page-0: +14155550002 not answered" in result.stdout
    assert junit.count('type="not-answered"') == 1 and "+14155550006: answered" in junit


def test_wait_runs_out_on_a_call_still_ringing(tmp_path: Path, plivo: PlivoCalls):
    result, report, _ = _run(tmp_path, plivo.url, "--wait", "0.3", to=("+14155550004",))
    (answer,) = report["calls"][0]["answers"]
    assert (answer["answered"], answer["state"]) == (False, "ringing")
    assert answer["note"] == "the wait ran out; it was still ringing"
    assert not any(line.startswith("DELETE") for line in plivo.log)  # --wait never hangs up
    assert result.exit_code == ExitCode.CALL_FAILED


def test_refused_reads_are_unknown_and_fail_even_with_wait_ok(tmp_path: Path, plivo: PlivoCalls):
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


def test_without_wait_nothing_is_read(tmp_path: Path, plivo: PlivoCalls):
    result, report, _ = _run(tmp_path, plivo.url, to=("+14155550002",))
    assert result.exit_code == ExitCode.OK
    assert "answers" not in report["calls"][0]
    assert plivo.log == ["POST +14155550002"]
    assert "answered" not in result.stdout.splitlines()[0]


def test_follower_hangs_up_a_call_not_answered_in_time(plivo: PlivoCalls):
    creds = Credentials(AUTH_ID, TOKEN)
    with plivo.lock:
        call_uuid = plivo.place("+14155550004")
    follower = Follower(WaitOptions(30, interval=0.01, read_rate=1000), {}, str)
    try:
        (answer,) = follower.follow(
            [Leg(call_uuid, "+14155550004", plivo.url, creds)], answer_within=0.2
        )
    finally:
        follower.close()
    assert f"DELETE {call_uuid}" in plivo.log
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


def test_ctrl_c_ends_the_wait_and_reports_what_was_known(tmp_path: Path, plivo: PlivoCalls):
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
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(x.startswith("GET") for x in plivo.log) < 3:
            time.sleep(0.02)
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
