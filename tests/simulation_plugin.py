"""What the simulation tests share: a team's handler on 127.0.0.1 (the ``handler``
fixture), sandboxes that play calls against it (``start``), placing and reading calls.

A plugin (``pytest_plugins`` in tests/conftest.py) rather than a conftest, so its
helpers import by a name of their own (``from simulation_plugin import place``):
``from conftest import`` finds whichever conftest was imported last.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox, SandboxConfig

AUTH_ID = "MATESTSIMULATE000001"
TOKEN = "sim-token-0123456789abcdefghijklmnop"
GOOD_XML = b'<?xml version="1.0"?><Response><Speak>Disk full on db-1</Speak></Response>'
# Short call, generous timeouts: the handler is local and only a loaded machine is slow.
FAST = SimulationConfig(duration_s=0.05, connect_timeout_s=5.0, read_timeout_s=10.0)


class Handler:
    """A team's handler: answers each path with a scripted (status, body); keeps every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.lock = threading.Lock()
        self.url = ""

    def received(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def paths(self) -> list[str]:
        with self.lock:
            return [r["path"] for r in self.requests]


@pytest.fixture
def handler() -> Iterator[Handler]:
    state = Handler()

    class Serve(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path)
            query = raw if self.command == "POST" else parts.query
            params = dict(parse_qsl(query, keep_blank_values=True))
            with state.lock:
                state.requests.append(
                    {
                        "path": parts.path,
                        "method": self.command,
                        "params": params,
                        "headers": dict(self.headers),
                        "url": f"{state.url}{self.path}",
                    }
                )
            status, body = state.routes.get(parts.path, (200, b"OK"))
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def scripted(*answers: str, **settings: Any) -> SimulationConfig:
    """:data:`FAST` with each callee scripted (``--answer-by`` spellings, e.g.
    ``+14155550100=ack``); ``settings`` override the rest (``duration_s=0.2``)."""
    fast = {
        "duration_s": FAST.duration_s,
        "connect_timeout_s": FAST.connect_timeout_s,
        "read_timeout_s": FAST.read_timeout_s,
    }
    by = tuple(parse_answer_by(a) for a in answers)
    return SimulationConfig(**{**fast, "answer_by": by, **settings})


Start = Callable[..., Sandbox]


@pytest.fixture
def start() -> Iterator[Start]:
    boxes: list[Sandbox] = []

    def _start(simulate: SimulationConfig = FAST, **settings: Any) -> Sandbox:
        config = SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate, **settings)
        box = Sandbox(config).start()
        boxes.append(box)
        return box

    yield _start
    for box in boxes:
        box.stop()


def place(box: Sandbox, *, status: int = 201, **body: Any) -> list[str]:
    """POST a call; the request_uuid(s) the sandbox answered with ``status`` (201 call
    fired, 200 call queued over the CPS)."""
    answer = requests.post(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/", json=body, auth=(AUTH_ID, TOKEN), timeout=5
    )
    assert answer.status_code == status, answer.text
    uuid = answer.json()["request_uuid"]
    return uuid if isinstance(uuid, list) else [uuid]


def call_body(handler: Handler, to: str = "+14155550100", **extra: Any) -> dict[str, Any]:
    return {
        "from": "+14152224444",
        "to": to,
        "answer_url": f"{handler.url}/answer",
        "ring_url": f"{handler.url}/ring",
        "hangup_url": f"{handler.url}/hangup",
        **extra,
    }


def state(box: Sandbox, uuid: str, status: str | None = None) -> requests.Response:
    query = f"?status={status}" if status else ""
    return requests.get(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/{uuid}/{query}", auth=(AUTH_ID, TOKEN), timeout=5
    )
