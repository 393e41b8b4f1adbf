"""Review 14: run --wait, escalate: chains, the journal's answered event and resume.

Each test reproduces a finding of that review (strict xfail until fixed).  The Plivo
stand-in here is a small server on 127.0.0.1 whose answers each test scripts: it
records every request, so a test can say exactly which phones were rung.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import AUTH_ID, TOKEN, cred_env, free_port, invoke, spawn

from callspec.delivery.credentials import Credentials
from callspec.delivery.http import Timeouts
from callspec.delivery.follow import Follower
from callspec.delivery.legs import Leg
from callspec.delivery.wait import WaitOptions
from callspec.errors import ExitCode

NOANSWER_RECORD = {
    "call_state": "NOANSWER",
    "call_duration": 0,
    "bill_duration": 0,
    "hangup_cause_name": "No Answer",
    "hangup_cause_code": 3010,
    "hangup_source": "Callee",
    "answer_time": None,
    "end_time": "2026-11-27 02:00:40+00:00",
}
ANSWER_RECORD = {
    "call_state": "ANSWER",
    "call_duration": 31,
    "bill_duration": 60,
    "hangup_cause_name": "End Of XML Instructions",
    "hangup_cause_code": 4010,
    "hangup_source": "Plivo",
    "answer_time": "2026-11-27 02:00:05+00:00",
    "end_time": "2026-11-27 02:00:40+00:00",
}

# respond(method, leg, query) -> (status, doc or None, or b"" to close the connection)
Respond = Callable[[str, dict[str, Any], str | None], tuple[int, Any]]


def ends_unanswered(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """Rings once, then its record says nobody answered."""
    if method == "DELETE":
        return 404, {"error": "not found"}
    if status == "live" and leg["reads"] <= 1:
        return 200, {"call_status": "ringing", "call_uuid": leg["uuid"]}
    if status is not None:
        return 404, {"error": "not found"}
    return 200, {"call_uuid": leg["uuid"], **NOANSWER_RECORD}


def answers(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """Answered at once, then its record says so."""
    if method == "DELETE":
        return 404, {"error": "not found"}
    if status == "live" and leg["reads"] <= 1:
        return 200, {"call_status": "in-progress", "call_uuid": leg["uuid"]}
    if status is not None:
        return 404, {"error": "not found"}
    return 200, {"call_uuid": leg["uuid"], **ANSWER_RECORD}


class Plivo:
    """Each leg's destination and reads; ``log`` holds every request as "METHOD to query"."""

    def __init__(self, stories: dict[str, Respond], post: Callable[[str, int], Any] | None) -> None:
        self.stories = stories
        self.post = post
        self.legs: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []
        self.read_times: list[float] = []  # when each state read or hangup arrived
        self.paths: list[str] = []  # "METHOD /v1/..." of each state read or hangup
        self.any_paths: list[str] = []  # the same, of every GET or DELETE, known call or not
        self.lock = threading.Lock()
        self.url = ""

    def posts(self) -> list[str]:
        return [line.split()[1] for line in self.log if line.startswith("POST")]


@contextlib.contextmanager
def plivo(
    stories: dict[str, Respond], post: Callable[[str, int], Any] | None = None
) -> Iterator[Plivo]:
    """The stand-in: Make-a-call (``post(to, n)`` may answer instead: (status, doc) or
    b"" to drop the connection once the request is read), call state and hangup."""
    calls = Plivo(stories, post)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _send(self, status: int, doc: Any) -> None:
            if doc == b"":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            body = json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "60")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _auth(self) -> bool:
            auth = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
            if auth != f"{AUTH_ID}:{TOKEN}":
                self._send(401, {"error": "authentication failed"})
                return False
            return True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if not self._auth():
                return
            with calls.lock:
                n = len(calls.posts())
                calls.log.append(f"POST {body['to']}")
            if calls.post is not None:
                answer = calls.post(body["to"], n)
                if answer is not None:
                    self._send(*answer)
                    return
            uuids = []
            with calls.lock:
                for to in body["to"].split("<"):
                    call_uuid = str(uuid.uuid4())
                    calls.legs[call_uuid] = {
                        "to": to,
                        "uuid": call_uuid,
                        "reads": 0,
                        "placed": time.monotonic(),
                    }
                    uuids.append(call_uuid)
            doc = {"api_id": "a", "message": "call fired", "request_uuid": uuids[0]}
            if len(uuids) > 1:
                doc = {"api_id": "a", "message": "calls fired", "request_uuid": uuids}
            self._send(201, doc)

        def _state(self, method: str) -> None:
            if not self._auth():
                return
            parts = urlsplit(self.path)
            call_uuid = parts.path.rstrip("/").rsplit("/", 1)[-1]
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            status = query.get("status")
            with calls.lock:
                calls.any_paths.append(f"{method} {parts.path}")
                leg = calls.legs.get(call_uuid)
                if leg is None:
                    self._send(404, {"error": "not found"})
                    return
                calls.log.append(f"{method} {leg['to']} {status or 'record'}")
                calls.read_times.append(time.monotonic())
                calls.paths.append(f"{method} {parts.path}")
                if method == "GET" and status == "live":
                    leg["reads"] += 1
                story = calls.stories[leg["to"]]
            self._send(*story(method, leg, status))

        def do_GET(self) -> None:
            self._state("GET")

        def do_DELETE(self) -> None:
            self._state("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client killed mid-request (the SIGKILL tests)

    server = Server(("127.0.0.1", 0), Handler)
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


def chain(folder: Path, *to: str, until: str = "answered", extra: str = "") -> Path:
    """A spec of one call escalating through ``to``."""
    path = folder / "chain.yaml"
    lines = [
        "version: 1",
        "calls:",
        "  - name: page",
        f"    to: {json.dumps(list(to))}",
        '    from: "+14155550100"',
        "    answer_url: https://example.com/answer.xml",
        f"    escalate: {{answer_within: 5, until: {until}}}",
    ]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def run(spec: Path, url: str, *extra: object) -> Any:
    """``run spec`` against ``url``, polling fast; its report beside the spec unless named."""
    args = ["run", spec, "--api-url", url, "--rate", "200", "--poll-interval", "0.01"]
    if "--report" not in extra:
        args += ["--report", spec.parent / "report.json"]
    args += ["--read-rate", "500", "--retries", "0", "--no-progress", *extra]
    return invoke([str(a) for a in args], cred_env())


A, B, C = "+14155550101", "+14155550102", "+14155550103"


def roster(folder: Path, rows: list[tuple[str, str]]) -> Path:
    """page.yaml escalating through oncall.csv's rows (name, phone)."""
    (folder / "oncall.csv").write_text(
        "name,phone\n" + "".join(f"{name},{phone}\n" for name, phone in rows)
    )
    path = folder / "page.yaml"
    path.write_text(
        "version: 1\n"
        "calls:\n"
        '  - name: "page-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "    escalate: {answer_within: 5}\n"
    )
    return path


def test_unknown_step_does_not_ring_the_next_at_once(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    fail_first = lambda to, n: (500, {"error": "internal"}) if n == 0 else None  # noqa: E731
    with plivo({A: answers, B: answers, C: answers}, fail_first) as p:
        result = run(spec, p.url, "--report", tmp_path / "r.json")
    assert "the call may have been placed" in result.stdout
    assert p.posts() == [A]  # A may be ringing (or talking): B must not be paged with it


D = "+14155550104"
EDITS = {
    "row inserted before bob": [("alice", A), ("dave", D), ("bob", B), ("carol", C)],
    "bob's row removed": [("alice", A), ("carol", C)],
}


@pytest.mark.parametrize("edit", EDITS)
def test_resume_after_an_answer_pages_no_one_else(tmp_path: Path, edit: str) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B), ("carol", C)])
    journal = tmp_path / "run.journal.jsonl"
    stories = {A: ends_unanswered, B: answers, C: answers, D: answers}
    with plivo(stories) as p:
        first = run(spec, p.url, "--journal", journal)
        assert first.exit_code == ExitCode.OK, first.output
        assert p.posts() == [A, B]
        roster(tmp_path, EDITS[edit])
        again = run(spec, p.url, "--resume", journal)
    assert "page-carol" in again.stdout
    assert p.posts() == [A, B]  # bob answered: the chain is over, nobody else is paged


def answered_no_record(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """Answered (by whom, only its record would say), ended; the record never comes."""
    if status == "live" and leg["reads"] <= 1 and method == "GET":
        return 200, {"call_status": "in-progress", "call_uuid": leg["uuid"]}
    return 404, {"error": "not found"}


def test_no_record_is_not_a_human(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: vm\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n    machine_detection: hangup\n"
    )
    with plivo({A: answered_no_record}) as p:
        result = run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
    (answer,) = json.loads((tmp_path / "r.json").read_text())["calls"][0]["answers"]
    assert answer["answered"] is True
    assert "yes (human)" not in result.stdout
    assert answer.get("answered_by") != "human"  # nothing said so: a voicemail is as likely


class Script:
    """A story the test changes between runs: ``live`` answers in turn, then the last again;
    ``delete`` the hangup API's status."""

    def __init__(self, live: list[tuple[int, str]], delete: int = 204) -> None:
        self.live = live
        self.delete = delete
        self.deletes = 0

    def __call__(self, method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
        if method == "DELETE":
            self.deletes += 1
            return self.delete, None if self.delete == 204 else {"error": "internal"}
        if status != "live":
            return 404, {"error": "not found"}
        code, state = self.live[min(leg["reads"], len(self.live)) - 1]
        if code != 200:
            return code, {"error": "internal"}
        return 200, {"call_status": state, "call_uuid": leg["uuid"]}


def killed_while_following(tmp_path: Path, p: Plivo, spec: Path, journal: Path) -> None:
    """The chain's first run, SIGKILLed while it follows the first step."""
    args = ["run", spec, "--api-url", p.url, "--journal", journal, "--poll-interval", "30"]
    args += ["--report", tmp_path / "first.json"]
    proc = spawn([str(a) for a in [*args, "--no-progress"]], cred_env(), tmp_path)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(" live" in x for x in p.log):
            time.sleep(0.02)
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert p.posts() == [A]
    events = [json.loads(line)["event"] for line in journal.read_text().splitlines()]
    assert events == ["started", "finished"]


def test_resume_does_not_hang_up_on_a_failed_read(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "run.journal.jsonl"
    story = Script([(200, "ringing")])
    with plivo({A: story, B: answers, C: answers}) as p:
        killed_while_following(tmp_path, p, spec, journal)
        story.live = [(200, "ringing"), (500, ""), (200, "in-progress")]  # A picked up
        run(spec, p.url, "--resume", journal, "--wait", "1")
    assert story.deletes == 0  # one failed read is no reason to hang up on A
    assert p.posts() == [A]


def test_resume_rings_no_one_while_the_hangup_failed(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "run.journal.jsonl"
    story = Script([(200, "ringing")], delete=500)
    with plivo({A: story, B: answers, C: answers}) as p:
        killed_while_following(tmp_path, p, spec, journal)
        result = run(spec, p.url, "--resume", journal, "--wait", "1")
    assert story.deletes >= 1
    assert p.posts() == [A]  # A still rings: B must not be paged at the same time
    assert "could not hang up" in result.stdout  # and the report says so (the note is lost)


def test_step_name_clash_never_pages_the_secondary(tmp_path: Path) -> None:
    D = "+14155550109"
    spec = tmp_path / "chain.yaml"
    alone = (
        "version: 1\ncalls:\n"
        '  - name: "page[2]"\n    to: "+14155550109"\n    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
    )
    spec.write_text(alone)
    journal = tmp_path / "j.jsonl"
    with plivo({A: ends_unanswered, B: answers, C: answers, D: answers}) as p:
        first = run(spec, p.url, "--journal", journal)
        assert first.exit_code == ExitCode.OK, first.output
        spec.write_text(  # the escalation is added: A, then B, then C
            alone
            + "  - name: page\n"
            + f"    to: {json.dumps([A, B, C])}\n"
            + '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
            + "    escalate: {answer_within: 5}\n"
        )
        again = run(spec, p.url, "--resume", journal)
    refused = again.exit_code != ExitCode.OK and "duplicate call name" in again.stderr
    assert refused or p.posts() == [D, A, B]  # B was never called: it must be now


def test_broken_answered_line_is_a_located_error(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "j.jsonl"
    with plivo({A: ends_unanswered, B: answers, C: answers}) as p:
        assert run(spec, p.url, "--journal", journal).exit_code == ExitCode.OK
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        number = next(n for n, e in enumerate(events, 1) if e["event"] == "answered")
        events[number - 1]["answers"] = [1]
        journal.write_text("".join(json.dumps(e) + "\n" for e in events))
        posted = p.posts()
        again = run(spec, p.url, "--resume", journal)
        assert p.posts() == posted
    assert "internal error" not in again.stderr
    assert f"j.jsonl:{number}:1: not a callspec journal line" in again.stderr
    assert again.exit_code == ExitCode.INVALID


def garbage_live(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """The first live read is a 200 that is not a call (a proxy's page); then nothing."""
    if method == "GET" and status == "live" and leg["reads"] <= 1:
        return 200, ["not", "a", "call"]
    return 404, {"error": "not found"}


def test_a_200_that_is_not_a_call_is_not_an_answer(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n"
    )
    with plivo({A: garbage_live}) as p:
        run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
        assert any(" live" in line for line in p.log)
    (answer,) = json.loads((tmp_path / "r.json").read_text())["calls"][0]["answers"]
    assert answer["answered"] is not True


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
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n"
    )

    def limited(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
        return 429, {"error": "too many requests"}

    with plivo({A: limited}) as p:
        result = run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
        reads = [line for line in p.log if line.startswith("GET")]
    assert "429" in result.stdout
    assert len(reads) <= 2  # told to come back in 60 s: not again within this 1 s wait


def rings_then_answers(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """Rings for 1.5 s (longer than the test's --wait 1), then answers."""
    if method == "GET" and status == "live" and time.monotonic() < leg["placed"] + 1.5:
        leg["rang"] = leg["reads"]
        return 200, {"call_status": "ringing", "call_uuid": leg["uuid"]}
    return answers(method, {**leg, "reads": leg["reads"] - leg.get("rang", 0)}, status)


def test_plain_calls_are_followed_while_a_chain_runs(tmp_path: Path) -> None:
    D = "+14155550109"
    spec = tmp_path / "chain.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        f'  - name: plain\n    to: "{D}"\n    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "  - name: page\n"
        f"    to: {json.dumps([A, B])}\n"
        '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
        "    escalate: {answer_within: 5}\n"
    )
    with plivo({A: rings_then_answers, B: answers, D: answers}) as p:
        result = run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
        assert p.posts() == [D, A] or p.posts() == [A, D]
    calls = json.loads((tmp_path / "r.json").read_text())["calls"]
    plain = next(c for c in calls if c["name"] == "plain")
    assert plain["answers"][0]["reads"] > 0, result.stdout
    assert plain["answers"][0]["answered"] is True


def test_kill_right_after_the_post_then_resume_rings_no_one_else(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "run.journal.jsonl"
    release = threading.Event()

    def hold_b(to: str, n: int) -> Any:
        if to == B:
            release.wait(10)  # the POST reached Plivo; the answer is not back yet
        return None

    with plivo({A: ends_unanswered, B: answers, C: answers}, hold_b) as p:
        args = ["run", spec, "--api-url", p.url, "--journal", journal, "--no-progress"]
        args += ["--report", tmp_path / "first.json", "--poll-interval", "0.01"]
        proc = spawn([str(a) for a in args], cred_env(), tmp_path)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and p.posts() != [A, B]:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=20)
        finally:
            proc.kill()
            release.set()
        assert p.posts() == [A, B]
        result = run(spec, p.url, "--resume", journal)
        assert "outcome unknown" in result.stdout + result.stderr
    assert p.posts() == [A, B]  # bob's phone may be ringing, or bob talking: not carol's


def test_answer_within_nan_is_refused(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B)
    spec.write_text(spec.read_text().replace("answer_within: 5", "answer_within: .nan"))
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "chain.yaml:7:" in result.stderr and "answer_within" in result.stderr


def test_resume_gives_a_fresh_step_the_rest_of_answer_within(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "run.journal.jsonl"
    hung_up: list[str] = []

    def answers_after_4s(method: str, leg: dict[str, Any], status: str | None) -> Any:
        if method == "DELETE":
            hung_up.append(leg["uuid"])
            return 204, None
        if hung_up:
            return ends_unanswered(method, {**leg, "reads": 9}, status)
        age = time.monotonic() - leg["placed"]
        if status == "live" and age < 4.5:
            return 200, {"call_status": "in-progress" if age > 4 else "ringing"}
        if status is None and age >= 4.5:  # A talked half a second, then hung up
            return 200, {"call_uuid": leg["uuid"], **ANSWER_RECORD}
        return 404, {"error": "not found"}

    with plivo({A: answers_after_4s, B: answers, C: answers}) as p:
        killed_while_following(tmp_path, p, spec, journal)  # within a second of the POST
        run(spec, p.url, "--resume", journal)
    assert hung_up == []  # answer_within is 5 s: A picks up at 4 s
    assert p.posts() == [A]


def test_detail_record_text_is_cleaned_and_capped(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B)

    def odd(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
        if status is not None:
            return 404, {"error": "not found"}
        cause = "No Answer\x1b]0;owned\x07\x1b[2J"
        return 200, {**NOANSWER_RECORD, "hangup_cause_name": cause, "hangup_source": "A" * 100_000}

    with plivo({A: odd, B: odd}) as p:
        result = run(spec, p.url)
        assert p.posts() == [A, B]
    assert "\x1b" not in result.stdout + result.stderr
    assert len(result.stdout) < 20_000 and len(result.stderr) < 20_000


def test_sandbox_wait_without_simulate_says_why(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n"
    )
    args = ["run", spec, "--sandbox", "--wait", "1", "--report", tmp_path / "r.json"]
    result = invoke([str(a) for a in [*args, "--no-progress"]])
    assert "--simulate" in result.output


def test_two_chains_share_one_read_rate(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    entry = (
        "  - name: {name}\n    to: {to}\n"
        '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
        "    escalate: {{answer_within: 5}}\n"
    )
    spec.write_text(
        "version: 1\ncalls:\n"
        + entry.format(name="one", to=json.dumps([A, B]))
        + entry.format(name="two", to=json.dumps([C, D]))
    )
    with plivo({A: answers, B: answers, C: answers, D: answers}) as p:
        args = ["run", spec, "--api-url", p.url, "--rate", "200", "--poll-interval", "0.01"]
        args += ["--read-rate", "4"]
        result = invoke([str(a) for a in [*args, "--report", tmp_path / "r.json"]], cred_env())
        assert result.exit_code == ExitCode.OK, result.output
        assert sorted(p.posts()) == [A, C]
        times = list(p.read_times)
    # 4 reads a second, evenly spaced: n reads span at least (n - 1) / 4 s (0.2 s of slack).
    assert len(times) >= 4
    assert (len(times) - 1) / 4 <= times[-1] - times[0] + 0.2


def stays_queued(method: str, leg: dict[str, Any], status: str | None) -> tuple[int, Any]:
    """Queued (over the account's CPS) until its request is cancelled; not a live call, so
    DELETE .../Call/{uuid}/ finds nothing."""
    if leg.get("cancelled"):
        return 404, {"error": "not found"}
    if method == "DELETE":
        return 404, {"error": "not found"}
    if status == "queued":
        return 200, {"call_uuid": leg["uuid"], "to": leg["to"], "direction": "outbound"}
    return 404, {"error": "not found"}


def test_a_queued_step_is_cancelled_before_the_next_rings(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)
    journal = tmp_path / "run.journal.jsonl"
    with plivo({A: stays_queued, B: answers, C: answers}) as p:
        killed_while_following(tmp_path, p, spec, journal)
        run(spec, p.url, "--resume", journal, "--wait", "1")
        cancelled = any(x.startswith("DELETE") and "/Request/" in x for x in p.paths)
    assert cancelled or p.posts() == [A]


def test_a_numeric_request_uuid_is_no_internal_error(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n"
    )

    def numeric(to: str, n: int) -> Any:
        return 201, {"api_id": "a", "message": "call fired", "request_uuid": 12345}

    with plivo({A: answers}, numeric) as p:
        result = run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
        assert p.posts() == [A]
    assert "internal error" not in result.stderr
    assert (tmp_path / "r.json").exists()  # the call was placed: it must be in the report


def test_request_uuid_cannot_walk_out_of_the_call_path(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: one\n    to: '+14155550101'\n    from: '+14155550100'\n"
        "    answer_url: https://example.com/a.xml\n"
    )

    def walking(to: str, n: int) -> Any:
        return 201, {"api_id": "a", "message": "call fired", "request_uuid": "../Application/APP1"}

    with plivo({A: answers}, walking) as p:
        run(spec, p.url, "--wait", "1", "--report", tmp_path / "r.json")
        paths = list(p.any_paths)
    assert all(path.split()[1].startswith(f"/v1/Account/{AUTH_ID}/Call/") for path in paths), paths


def test_a_fired_step_without_uuid_does_not_ring_the_next_at_once(tmp_path: Path) -> None:
    spec = chain(tmp_path, A, B, C)

    def no_uuid(to: str, n: int) -> Any:
        return (201, {"api_id": "a", "message": "call fired"}) if n == 0 else None

    with plivo({A: answers, B: answers, C: answers}, no_uuid) as p:
        run(spec, p.url)
    assert p.posts() == [A]


def test_sandbox_machine_is_never_a_human(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: page\n"
        f"    to: {json.dumps([A, B])}\n"
        '    from: "+14155550100"\n'
        f"    answer_url: http://127.0.0.1:{free_port()}/gone.xml\n"
        "    machine_detection: hangup\n"
        "    escalate: {answer_within: 5, until: human}\n"
    )
    args = ["run", spec, "--sandbox", "--simulate", "--answer-by", f"{A}=machine"]
    args += ["--answer-by", f"{B}=no-answer", "--report", tmp_path / "r.json", "--no-progress"]
    result = invoke([str(a) for a in args])
    first = json.loads((tmp_path / "r.json").read_text())["calls"][0]
    assert first["outcome"] == "fired", result.output
    assert first["answers"][0].get("answered_by") != "human"


def test_render_curl_comment_cannot_be_broken_by_a_row_name(tmp_path: Path) -> None:
    spec = roster(tmp_path, [("alice", A), ("bob", B)])
    (tmp_path / "oncall.csv").write_text(
        f'name,phone\n"x\ntouch {tmp_path}/PWNED\n#",{A}\nbob,{B}\n'
    )
    result = invoke(["render", str(spec), "--format", "curl"])
    lines = result.output.splitlines()
    assert not any(line.startswith("touch ") for line in lines), result.output
