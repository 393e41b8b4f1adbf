"""The service's routes over a real socket (in this process, to pin its clock and URL settings):
the public URL behind a proxy, replays, erased messages, and its own failures."""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from service_process import TOKEN, answered

from callspec.net.signature import signature_headers
from callspec.serve.channel import channel_key, sign_request
from callspec.serve.client import ServiceClient, ServiceError
from callspec.serve.prompt import Prompt, new_id
from callspec.serve.server import ServeConfig, Service
from callspec.serve.store import MESSAGE_RETENTION_S

pytestmark = pytest.mark.timeout(60)

PAGE = Prompt("Deploy failed. Press 1.")
PUBLIC = "https://acks.example.com/callspec"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Running:
    def __init__(self, service: Service, log: io.StringIO, clock: Clock) -> None:
        self.service, self.log, self.clock = service, log, clock
        self.url = service.url

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    services: list[Service] = []

    def start(**settings: Any) -> Running:
        log, clock = io.StringIO(), Clock()
        config = ServeConfig(
            store=tmp_path / f"acks-{len(services)}.db",
            auth_token=TOKEN,
            port=0,
            log=log,
            clock=clock,
            **settings,
        )
        service = Service(config).start()
        services.append(service)
        return Running(service, log, clock)

    yield start
    for service in services:
        service.stop()


def register_raw(running: Running, id: str) -> None:
    """Register without the client (whose answer-URL check a public URL would fail)."""
    body = json.dumps(PAGE.to_json()).encode()
    path = f"/v1/calls/{id}"
    headers = sign_request(channel_key(TOKEN), "PUT", path, body, running.clock())
    answer = requests.put(running.url + path, data=body, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text


def test_behind_a_proxy_the_public_url_is_what_is_verified(run: Any) -> None:
    running = run(public_url=PUBLIC)
    id = new_id()
    register_raw(running, id)
    public = f"{PUBLIC}/plivo/answer/{id}"
    params = answered("call-1")
    signed = signature_headers(public, "POST", params, TOKEN)
    # The proxy may pass the base's path on, or strip it: both are the same public URL.
    for path in (f"/callspec/plivo/answer/{id}", f"/plivo/answer/{id}"):
        answer = requests.post(running.url + path, data=params, headers=signed, timeout=30)
        assert answer.status_code == 200
        assert f'action="{PUBLIC}/plivo/digits/{id}"'.encode() in answer.content
    inside = running.url + f"/plivo/answer/{id}"
    mine = signature_headers(inside, "POST", params, TOKEN)
    assert requests.post(inside, data=params, headers=mine, timeout=30).status_code == 403


def test_a_trusted_proxy_says_the_scheme_and_host(run: Any) -> None:
    for trusted, expected in (("127.0.0.1", 200), (None, 403)):
        running = run(trusted_proxy=trusted)
        id = new_id()
        register_raw(running, id)
        public = f"https://acks.example.com/plivo/answer/{id}"
        params = answered("call-1")
        headers = {
            **signature_headers(public, "POST", params, TOKEN),
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "acks.example.com",
        }
        answer = requests.post(
            f"{running.url}/plivo/answer/{id}", data=params, headers=headers, timeout=30
        )
        assert answer.status_code == expected


def test_the_client_refuses_a_service_that_sees_another_url(run: Any) -> None:
    running = run(public_url=PUBLIC)
    client = ServiceClient(running.url, TOKEN, clock=running.clock)
    with pytest.raises(ServiceError, match="start it with --public-url set to the URL"):
        client.register(new_id(), PAGE)


def test_a_replayed_runner_request_is_refused(run: Any) -> None:
    running = run()
    id = new_id()
    path, body = f"/v1/calls/{id}", json.dumps(PAGE.to_json()).encode()
    headers = sign_request(channel_key(TOKEN), "PUT", path, body, running.clock())
    first = requests.put(running.url + path, data=body, headers=headers, timeout=30)
    again = requests.put(running.url + path, data=body, headers=headers, timeout=30)
    assert (first.status_code, again.status_code) == (201, 403)
    refusal = [e["refused"] for e in running.entries() if e.get("status") == 403]
    assert refusal == ["replayed: the nonce was already used"]
    running.clock.now += 301  # past the window: the same headers are merely too old
    late = requests.put(running.url + path, data=body, headers=headers, timeout=30)
    assert late.status_code == 403
    assert running.entries()[-1]["refused"].startswith("the timestamp is more than 300 s")


def test_an_erased_message_is_gone(run: Any) -> None:
    running = run()
    client = ServiceClient(running.url, TOKEN, clock=running.clock)
    id = new_id()
    client.register(id, PAGE)
    running.clock.now += MESSAGE_RETENTION_S + 120  # the next write prunes
    assert client.status(id).calls == ()
    url = client.answer_url(id)
    answer = requests.post(
        url,
        data=answered("c"),
        headers=signature_headers(url, "POST", answered("c"), TOKEN),
        timeout=30,
    )
    assert answer.status_code == 410
    assert answer.json() == {"error": "this registration's message has been erased"}


def test_its_own_failure_is_a_generic_500_logged_masked(run: Any) -> None:
    running = run()
    running.service.store.close()  # every use of the store now raises
    answer = requests.get(f"{running.url}/healthz", timeout=30)
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error"}
    (error,) = [e for e in running.entries() if e["event"] == "error"]
    assert error["error"] == "ProgrammingError: Cannot operate on a closed database."


def test_a_token_percent_encoded_in_a_refused_request_is_masked_in_the_log(run: Any) -> None:
    running = run()
    id = new_id()
    register_raw(running, id)
    # Letters no encoder escapes, escaped anyway: every decoder reads the token.  (Sent
    # with http.client: requests would unescape them before sending.)
    spelled = "".join(f"%{ord(c):02x}" if c.isalpha() else c for c in TOKEN)
    path = f"/plivo/answer/{id}?{spelled}"
    body = urllib.parse.urlencode(answered("c"))
    wrong = signature_headers(running.url + path, "POST", answered("c"), "another-token")
    headers = {**wrong, "Content-Type": "application/x-www-form-urlencoded"}
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(running.url).netloc, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        assert connection.getresponse().status == 403
    finally:
        connection.close()
    (refusal,) = [e for e in running.entries() if e.get("status") == 403]
    assert refusal["refused"].endswith(f"/plivo/answer/{id}?***")
    assert TOKEN not in urllib.parse.unquote(running.log.getvalue())
