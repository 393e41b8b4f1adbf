"""The runner's client: what it says when the service refuses, or cannot be believed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from service_process import TOKEN, serving

from callspec.serve.client import ServiceClient, ServiceError
from callspec.serve.prompt import Prompt, new_id

pytestmark = pytest.mark.timeout(60)

PAGE = Prompt("Deploy failed. Press 1.")


@pytest.fixture
def impostor() -> Iterator[str]:
    """A server that answers like the service, without the token: 200 and a status."""

    class Serve(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps({"acknowledged": True, "calls": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_registering_twice_is_harmless_another_prompt_is_refused(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client = ServiceClient(served.url, TOKEN)
        id = new_id()
        first, again = client.register(id, PAGE), client.register(id, PAGE)
        assert first == again and first.answer_url == f"{served.url}/plivo/answer/{id}"
        with pytest.raises(ServiceError) as refused:
            client.register(id, Prompt("Another message."))
        assert refused.value.status == 409
        assert str(refused.value) == (
            "the service refused to register (HTTP 409): another prompt is registered under this ID"
        )
        with pytest.raises(ServiceError, match=r"refused to read \(HTTP 404\): not found"):
            client.status(new_id())


def test_a_service_with_another_token_is_named(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client = ServiceClient(served.url, "not-the-account-token")
        with pytest.raises(ServiceError) as refused:
            client.register(new_id(), PAGE)
        assert refused.value.status == 403
        assert "does not hold this account's auth token" in str(refused.value)


def test_an_unsigned_answer_is_never_believed(impostor: str) -> None:
    client = ServiceClient(impostor, TOKEN)
    with pytest.raises(ServiceError, match="is not signed by a service holding this auth token"):
        client.status(new_id())


def test_an_unreachable_service_is_said_plainly() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ServiceClient(f"http://127.0.0.1:{port}", TOKEN, timeout_s=5)
    id = new_id()
    with pytest.raises(ServiceError) as failed:
        client.status(id)
    assert str(failed.value) == (
        f"GET http://127.0.0.1:{port}/v1/calls/{id}: cannot reach the service (connection refused)"
    )


def test_the_answer_url_is_known_before_anything_is_sent() -> None:
    client = ServiceClient("https://acks.example.com/base/", TOKEN)
    assert client.answer_url("A" * 24) == "https://acks.example.com/base/plivo/answer/" + "A" * 24
    with pytest.raises(ValueError, match="not a registration ID"):
        client.answer_url("../x")
