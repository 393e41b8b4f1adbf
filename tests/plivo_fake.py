"""The tests' one scriptable Plivo: Make-a-call, call state, hangup and cancel on 127.0.0.1.

Each destination has a story: a function ``(method, leg, what) -> reply`` that
answers every read, hangup and cancel of a leg placed to it (``what`` is ``live``,
``queued`` or None (the detail record) for a GET, ``call`` (hangup) or ``request``
(cancel of a queued call) for a DELETE).  :class:`Lifecycle` is the usual
one: the live states a call goes through (one step per live read: no clocks,
the same reads give the same story on any machine), then its detail record;
a hangup ends it with Plivo's "Canceled" record.  A test that needs a
misbehaving API writes its own story, or answers POSTs itself (``post``).

Every request is logged as ``POST {to}``, ``GET {to} live|queued|record`` or
``DELETE {to} call|request``, and announced: :meth:`PlivoFake.wait_for` waits
on that, never on a sleep.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support import AUTH_ID, TOKEN

from callspec.delivery.credentials import Credentials
from callspec.delivery.options import RunOptions
from callspec.delivery.runner import run_plan
from callspec.delivery.wait import WaitOptions
from callspec.spec.model import PlanOptions
from callspec.spec.plan import build_plan

#: A reply: (HTTP status, JSON document or None); DROP as the document closes the
#: connection instead of answering (a request that reached the API, its answer lost).
Reply = tuple[int, Any]
DROP = b""
NOT_FOUND: Reply = (404, {"error": "call not found"})

NOANSWER = {
    "call_state": "NOANSWER",
    "call_duration": 0,
    "bill_duration": 0,
    "hangup_cause_name": "No Answer",
    "hangup_cause_code": 3010,
    "hangup_source": "Callee",
    "answer_time": None,
}
ANSWER = {
    "call_state": "ANSWER",
    "call_duration": 31,
    "bill_duration": 60,
    "hangup_cause_name": "End Of XML Instructions",
    "hangup_cause_code": 4010,
    "hangup_source": "Plivo",
    "answer_time": "2026-11-27 02:00:05+00:00",
}
CANCELED = {
    "call_state": "CANCEL",
    "call_duration": 0,
    "bill_duration": 0,
    "hangup_cause_name": "Canceled",
    "hangup_cause_code": 1000,
    "hangup_source": "API Request",
    "answer_time": None,
}


@dataclass
class Leg:
    """One placed destination and what happened to it so far."""

    uuid: str
    to: str
    placed: float = field(default_factory=time.monotonic)
    #: Live reads so far.
    reads: int = 0
    ended: bool = False
    hung_up: bool = False
    cancelled: bool = False


Story = Callable[[str, Leg, "str | None"], Reply]


def live(leg: Leg, state: str) -> Reply:
    """A live call's document, as Plivo's ``?status=live`` answers it."""
    return 200, {
        "api_id": "l",
        "call_status": state,
        "call_uuid": leg.uuid,
        "request_uuid": leg.uuid,
        "direction": "outbound",
        "to": leg.to,
        "from": "+14155550100",
    }


def record(leg: Leg, fields: Mapping[str, Any]) -> Reply:
    """A detail record, as Plivo's ``GET .../Call/{uuid}/`` answers it."""
    return 200, {
        "api_id": "r",
        "call_uuid": leg.uuid,
        "to_number": leg.to.removeprefix("+"),
        "end_time": "2026-11-27 02:00:40+00:00",
        **fields,
    }


class Lifecycle:
    """``states`` one per live read (``queued`` is served at ``?status=queued``), then the
    call ends and ``fields`` is its detail record (None: the record never comes)."""

    def __init__(self, states: list[str], fields: Mapping[str, Any] | None) -> None:
        self.states = states
        self.fields = fields
        #: Each leg's step (the story's own clock: a story swapped in starts afresh).
        self.steps: dict[str, int] = {}

    def queued(self, leg: Leg) -> bool:
        step = self.steps.get(leg.uuid, 0)
        return not leg.ended and step < len(self.states) and self.states[step] == "queued"

    def __call__(self, method: str, leg: Leg, status: str | None) -> Reply:
        if method == "DELETE":
            # A queued call is no live call: only the cancel of its request ends it.
            if leg.ended or self.queued(leg) != (status == "request"):
                return NOT_FOUND
            leg.ended = leg.hung_up = True
            leg.cancelled = status == "request"
            return 204, None
        if status is not None:
            step = self.steps.get(leg.uuid, 0)
            if leg.ended or step >= len(self.states):
                leg.ended = True
                return NOT_FOUND
            state = self.states[step]
            if (status == "queued") != (state == "queued"):
                return NOT_FOUND
            self.steps[leg.uuid] = step + 1
            return live(leg, state) if state != "queued" else (200, {"call_uuid": leg.uuid})
        if not leg.ended:
            return NOT_FOUND
        if leg.hung_up:
            return record(leg, CANCELED)
        return record(leg, self.fields) if self.fields is not None else NOT_FOUND


def answers() -> Lifecycle:
    """In progress at the first live read, then ended answered."""
    return Lifecycle(["in-progress"], ANSWER)


def rings_unanswered() -> Lifecycle:
    """Rings once, then its record says nobody answered."""
    return Lifecycle(["ringing"], NOANSWER)


def rings_forever() -> Lifecycle:
    """Rings until hung up."""
    return Lifecycle(["ringing"] * 100_000, None)


class Script:
    """Live reads answered from ``live`` in turn (then its last again): a state (``ringing``,
    ``in-progress``), an HTTP status that fails the read (404, 500), or ``ended`` (the call
    ends: live reads find nothing, and the record is ``fields``).  Hangups answer
    ``delete``; a hung-up call's record says Canceled."""

    def __init__(
        self,
        live: list[str | int],
        delete: int = 204,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        self.live = live
        self.delete = delete
        self.fields = fields
        self.deletes = 0
        #: Each leg's live reads (the story's own clock: a story swapped in starts afresh).
        self.reads: dict[str, int] = {}

    def __call__(self, method: str, leg: Leg, status: str | None) -> Reply:
        if method == "DELETE":
            self.deletes += 1
            if status == "request" or leg.ended:
                return NOT_FOUND
            if self.delete == 204:
                leg.ended = leg.hung_up = True
                return 204, None
            return self.delete, {"error": "internal"}
        if status is None:
            if leg.hung_up:
                return record(leg, CANCELED)
            return record(leg, self.fields) if leg.ended and self.fields else NOT_FOUND
        if status != "live" or leg.ended:
            return NOT_FOUND
        n = self.reads[leg.uuid] = self.reads.get(leg.uuid, 0) + 1
        said = self.live[min(n, len(self.live)) - 1]
        if said == "ended":
            leg.ended = True
            return NOT_FOUND
        return live(leg, said) if isinstance(said, str) else (said, {"error": "not found"})


class PlivoFake:
    """The fake's state: legs, stories, and every request seen (``log``)."""

    def __init__(
        self, stories: Mapping[str, Story], post: Callable[[str, int], Reply | None] | None
    ) -> None:
        self.stories = dict(stories)
        #: Answers the n-th POST (to ``to``) instead of placing it, unless it returns None.
        self.post = post
        self.legs: dict[str, Leg] = {}
        self.log: list[str] = []
        #: "METHOD /path" of every state read, hangup or cancel, known call or not.
        self.paths: list[str] = []
        self.changed = threading.Condition()
        self.url = ""

    def posts(self) -> list[str]:
        """The destinations POSTed, in order."""
        return [line.split()[1] for line in self.log if line.startswith("POST")]

    def place(self, to: str, call_uuid: str | None = None) -> str:
        """A leg to ``to`` (as an earlier run would have placed it); its UUID."""
        call_uuid = call_uuid or str(uuid.uuid4())
        self.legs[call_uuid] = Leg(call_uuid, to)
        return call_uuid

    def note(self, line: str) -> None:
        with self.changed:
            self.log.append(line)
            self.changed.notify_all()

    def wait_for(self, seen: Callable[[list[str]], bool], timeout: float = 20.0) -> None:
        """Until ``seen(log)`` holds (asserted: a test never goes on hoping it did)."""
        with self.changed:
            assert self.changed.wait_for(lambda: seen(self.log), timeout), self.log


@contextlib.contextmanager
def plivo_fake(
    stories: Mapping[str, Story], post: Callable[[str, int], Reply | None] | None = None
) -> Iterator[PlivoFake]:
    """The fake on 127.0.0.1 for the ``with`` block."""
    fake = PlivoFake(stories, post)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, doc: Any) -> None:
            if doc == DROP:
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

        def _authorized(self) -> bool:
            auth = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
            if auth != f"{AUTH_ID}:{TOKEN}":
                self._send(401, {"error": "authentication failed"})
                return False
            return True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if not self._authorized():
                return
            with fake.changed:
                n = len(fake.posts())
            fake.note(f"POST {body['to']}")
            answer = fake.post(body["to"], n) if fake.post is not None else None
            if answer is not None:
                self._send(*answer)
                return
            with fake.changed:
                uuids = [fake.place(to) for to in body["to"].split("<")]
            message = "calls fired" if len(uuids) > 1 else "call fired"
            placed = uuids if len(uuids) > 1 else uuids[0]
            self._send(201, {"api_id": "a", "message": message, "request_uuid": placed})

        def _state(self, method: str) -> None:
            if not self._authorized():
                return
            parts = urlsplit(self.path)
            call_uuid = parts.path.rstrip("/").rsplit("/", 1)[-1]
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            status = query.get("status")
            with fake.changed:
                fake.paths.append(f"{method} {parts.path}")
                leg = fake.legs.get(call_uuid)
                if leg is None:
                    reply: Reply = NOT_FOUND
                else:
                    if method == "GET" and status == "live":
                        leg.reads += 1
                    if method == "DELETE":
                        status = "request" if "/Request/" in parts.path else "call"
                    reply = fake.stories[leg.to](method, leg, status)
            if leg is not None:
                fake.note(f"{method} {leg.to} {status or 'record'}")
            self._send(*reply)

        def do_GET(self) -> None:
            self._state("GET")

        def do_DELETE(self) -> None:
            self._state("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client gone mid-request

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def killed_while_ringing(
    spec: Path, fake: PlivoFake, journal: Path, first: str, options: PlanOptions | None = None
) -> None:
    """A first run of ``spec`` against ``fake``, stopped (as Ctrl-C does) while it follows
    its first step (to ``first``): its journal holds that step placed and nothing of how
    it ended."""
    stop = threading.Event()
    plan = build_plan([spec], options or PlanOptions(cwd=spec.parent), {})
    run = RunOptions(
        api_url=fake.url,
        credentials=Credentials(AUTH_ID, TOKEN),
        rate=200,
        retries=0,
        journal=journal,
        follow=WaitOptions(120, interval=30, read_rate=500),
    )
    thread = threading.Thread(target=run_plan, args=(plan, run, {}, None, None, stop))
    thread.start()
    try:
        fake.wait_for(lambda log: f"GET {first} live" in log)
    finally:
        stop.set()
        thread.join(20)
    assert fake.posts() == [first]
