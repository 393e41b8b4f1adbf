"""The answer service is untrusted input, like every API answer: a runner facing a service
that fails, trickles, or claims an acknowledgement for a call this run did not place.

A proxy of the test's own stands between the runner (and the sandbox's simulated
calls) and the real service (``callspec.serve``): it forwards every request with its
``Host``, so Plivo's signatures still verify, and the test decides what it does to
the runner's requests.  Nothing is mocked: the sandbox plays every call, the service
records every key.
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support import AUTH_ID, TOKEN, cred_env, invoke, read_report, spawn

from callspec.errors import ExitCode
from callspec.sandbox.outcomes import SimulationConfig, parse_answer_by
from callspec.sandbox.server import Sandbox, SandboxConfig
from callspec.serve.channel import channel_key, sign_answer
from callspec.serve.server import ServeConfig, Service

ANA, BEN = "+14155550101", "+14155550102"
FAST = ["--poll-interval", "0.05", "--read-rate", "500", "--no-progress"]
#: What the proxy does to one request of the runner's: None forwards it as it is.
Meddle = Callable[["_Proxy", str, str, bytes], tuple[int, dict[str, str], bytes] | None]


class _Proxy(BaseHTTPRequestHandler):
    """Forwards to the service; ``meddle`` may answer the runner's requests instead."""

    server: _Front

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_GET

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.paths.append(f"{self.command} {self.path}")
        meddled = None
        if self.path.startswith("/v1/calls/"):
            meddled = self.server.meddle(self, self.command, self.path, body)
        if meddled is None:
            meddled = self._pass(body)
        status, headers, answer = meddled
        if headers.get("X-Trickle"):  # a byte at a time: no answer ever completes in time
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            for byte in answer:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _pass(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        target = http.client.HTTPConnection(self.server.service_host, timeout=10)
        try:
            kept = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
            target.request(self.command, self.path, body=body, headers=kept)
            answer = target.getresponse()
            headers = {k: v for k, v in answer.getheaders() if k.lower() == "x-callspec-signature"}
            headers["Content-Type"] = answer.getheader("Content-Type") or "text/plain"
            return answer.status, headers, answer.read()
        finally:
            target.close()

    def log_message(self, *args: Any) -> None:
        pass


class _Front(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a runner that gave up on a trickling answer hung up: what the test wants

    def __init__(self, service: Service, meddle: Meddle) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.service_host = service.url.removeprefix("http://")
        self.meddle = meddle
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with Service(ServeConfig(store=tmp_path / "acks.db", auth_token=TOKEN, port=0)) as running:
        yield running


@pytest.fixture
def front(service: Service) -> Iterator[Callable[[Meddle], _Front]]:
    fronts: list[_Front] = []

    def _front(meddle: Meddle) -> _Front:
        server = _Front(service, meddle)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        fronts.append(server)
        return server

    yield _front
    for server in fronts:
        server.shutdown()
        server.server_close()


@pytest.fixture
def box() -> Iterator[Sandbox]:
    simulate = SimulationConfig(
        duration_s=0.2,
        answer_by=tuple(parse_answer_by(a) for a in (f"{ANA}=human", f"{BEN}=ack")),
        connect_timeout_s=5.0,
        read_timeout_s=10.0,
    )
    sandbox = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, simulate=simulate))
    yield sandbox.start()
    sandbox.stop()


def _page(folder: Path) -> Path:
    spec = folder / "page.yaml"
    spec.write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: page\n"
        f'    to: ["{ANA}", "{BEN}"]\n'
        '    from: "+14155550100"\n'
        '    message: "db-1 is down. Press 1 to take it."\n'
        "    ack: {within: 10}\n"
        "    escalate: {until: acknowledged, answer_within: 30}\n"
    )
    return spec


def _run(spec: Path, box: Sandbox, front: _Front, *extra: str) -> tuple[Any, dict[str, Any]]:
    report = spec.parent / "report.json"
    args = ["run", spec, "--api-url", box.url, "--service", front.url, "--report", report]
    result = invoke([str(a) for a in [*args, *FAST, *extra]], cred_env())
    return result, read_report(report)


def _rung(box: Sandbox) -> list[str]:
    return [record["body"]["to"] for record in box.calls if record.get("placed")]


def test_a_service_that_answers_500_places_no_call(tmp_path: Path, box: Sandbox, front: Any):
    def refuse(proxy: _Proxy, method: str, path: str, body: bytes) -> Any:
        return 500, {}, b'{"error": "internal error"}'

    proxy = front(refuse)
    result, report = _run(_page(tmp_path), box, proxy, "--retries", "1")
    assert result.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == []  # a message the service did not take: nobody is called for it
    first = report["calls"][0]
    assert first["outcome"] == "failed"
    assert first["error"].startswith(
        "the answer service did not take the message, so the call was not placed: "
    )
    assert [p.split()[0] for p in proxy.paths] == ["PUT"] * 4  # each step twice: idempotent
    # The chain goes on to the next step (surely nobody was rung), which fails alike.
    assert report["calls"][1]["outcome"] == "failed"


def test_a_service_that_trickles_leaves_the_ack_unknown(tmp_path: Path, box: Sandbox, front: Any):
    def trickle(proxy: _Proxy, method: str, path: str, body: bytes) -> Any:
        if method != "GET":
            return None  # registrations go through
        return 200, {"X-Trickle": "1"}, b'{"id": "' + b"x" * 200 + b'"}'

    result, report = _run(_page(tmp_path), box, front(trickle), "--timeout", "0.5")
    assert result.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == [ANA]  # the chain stopped at the step it cannot tell
    first, second = report["calls"]
    assert first["answers"][0]["acknowledged"] is None
    assert "whether it was acknowledged is unknown" in first["answers"][0]["note"]
    assert (second["outcome"], second["reason"].split(":")[0]) == (
        "skipped",
        "escalation stopped",
    )
    [chain] = report["chains"]
    assert (chain["verdict"], chain["by"]) == ("stopped", "page[1]")


def test_an_ack_claimed_for_another_call_is_not_believed(
    tmp_path: Path, box: Sandbox, front: Any
) -> None:
    key = channel_key(TOKEN)

    def forge(proxy: _Proxy, method: str, path: str, body: bytes) -> Any:
        if method != "GET":
            return None
        status, _headers, answer = proxy._pass(body)
        status_doc = json.loads(answer)
        other = "11111111-2222-3333-4444-555555555555"
        forged = {**status_doc["calls"][0], "call_uuid": other} if status_doc["calls"] else {}
        stamp = forged.get("answered_at")
        if forged and stamp:
            forged.update(acknowledged=True, acknowledged_at=stamp)
            status_doc["calls"].append(forged)
        data = json.dumps(status_doc).encode()
        nonce = proxy.headers["X-Callspec-Nonce"]
        return status, {"X-Callspec-Signature": sign_answer(key, nonce, status, data)}, data

    result, report = _run(_page(tmp_path), box, front(forge))
    assert result.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == [ANA]  # ana pressed nothing; the forged ack stops, never pages on
    answer = report["calls"][0]["answers"][0]
    assert answer["acknowledged"] is None
    assert (
        "names a call this run did not place (11111111-2222-3333-4444-555555555555)"
        in (answer["note"])
    )
    assert report["summary"]["acknowledged"] == 0


def test_killed_between_register_and_send_then_resumed(
    tmp_path: Path, box: Sandbox, service: Service, front: Any
) -> None:
    runner: dict[str, Any] = {}
    ready = threading.Event()

    def kill_after_register(proxy: _Proxy, method: str, path: str, body: bytes) -> Any:
        if method != "PUT":
            return None
        answered = proxy._pass(body)  # the service holds the message now
        ready.wait(10)
        runner["registered"] = path.rsplit("/", 1)[1]
        runner["process"].send_signal(signal.SIGKILL)  # before the call is sent
        runner["process"].wait(10)
        return answered

    proxy = front(kill_after_register)
    spec = _page(tmp_path)
    journal = tmp_path / "page.journal.jsonl"
    args = ["run", str(spec), "--api-url", box.url, "--service", proxy.url]
    args += ["--journal", str(journal), "--report", str(tmp_path / "first.json"), *FAST]
    runner["process"] = spawn(args, cred_env(), tmp_path)
    ready.set()
    runner["process"].communicate(timeout=30)  # (its pipes closed too)
    assert runner["process"].returncode == -signal.SIGKILL
    assert _rung(box) == []  # killed before the send
    [started] = [json.loads(line) for line in journal.read_text().splitlines()]
    assert (started["event"], started["registration"]) == ("started", runner["registered"])
    assert started["body"]["answer_url"].endswith(f"/plivo/answer/{runner['registered']}")

    # Resumed: the call may have been placed (its outcome never came), so it is not sent
    # again, and the chain goes no further.
    report = tmp_path / "resumed.json"
    resumed = invoke(
        ["run", str(spec), "--api-url", box.url, "--service", service.url, "--resume",
         str(journal), "--report", str(report), *FAST],
        cred_env(),
    )  # fmt: skip
    assert resumed.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == []
    first, second = read_report(report)["calls"]
    assert first["outcome"] == "unknown" and "--retry-unknown" in first["reason"]
    assert second["outcome"] == "skipped"


def test_an_answered_call_whose_ack_cannot_be_read_says_so(
    tmp_path: Path, box: Sandbox, front: Any
) -> None:
    def fail_reads(proxy: _Proxy, method: str, path: str, body: bytes) -> Any:
        return None if method != "GET" else (500, {}, b'{"error": "internal error"}')

    result, report = _run(_page(tmp_path), box, front(fail_reads), "--retries", "0")
    assert result.exit_code == ExitCode.CALL_FAILED
    assert _rung(box) == [ANA]
    (chain,) = report["chains"]
    assert chain["steps"][0]["fate"] == "ack-unknown"
    sentence = (
        ": stopped at 'page[1]': 'page[1]': answered; acknowledgement unknown (not read from "
        "the answer service), 'page[2]': not called"
    )
    assert sentence in result.stdout
