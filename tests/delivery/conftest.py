"""The delivery tests' Plivo stand-in for call state: a small server on 127.0.0.1.

It answers Make-a-call and serves each call's state in Plivo's shapes (live,
queued, detail record) and its hangup API, advancing a scripted lifecycle one
step per live read (no clocks: the same reads give the same story on any
machine).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report

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
    "+14155550007": (
        ["ringing"],
        {
            "call_state": "BUSY",
            "call_duration": 0,
            "bill_duration": 0,
            "hangup_cause_name": "Busy Line",
            "hangup_cause_code": 3010,
            "hangup_source": "Callee",
            "answer_time": None,
        },
    ),
}
STORIES["+14155550008"] = STORIES["+14155550002"]  # a second phone nobody answers
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


def run_followed(spec: Path, url: str, *extra: str) -> tuple[Any, dict[str, Any], str]:
    """``callspec run SPEC`` against the stand-in at ``url``, reading call states fast
    (--poll-interval 0.01, --read-rate 500): the result, the report and the JUnit file."""
    report, junit = spec.parent / "report.json", spec.parent / "junit.xml"
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
