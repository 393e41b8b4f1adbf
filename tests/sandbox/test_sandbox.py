"""The sandbox over real sockets on 127.0.0.1: Plivo's answers, faults, record, log, the SDK."""

from __future__ import annotations

import base64
import io
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from support import SEED_CURL_BODY, early_in_a_second, wait_until

from callspec.sandbox.server import Fault, Sandbox, SandboxConfig

pytestmark = pytest.mark.timeout(20)

AUTH_ID = "MATESTSANDBOX0000001"
TOKEN = "test-token-0123456789abcdefghijklmnopqrs"
CALL_PATH = f"/v1/Account/{AUTH_ID}/Call/"
VALID = {"from": "+14152224444", "to": "+14152223333", "answer_url": "https://example.com/a.xml"}
RECORD_KEYS = {"time", "auth_id", "body", "request_uuid", "api_id", "status", "message"}
RECORD_KEYS |= {"fault", "placed"}

Start = Callable[..., Sandbox]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a sandbox with the test credentials and any other settings; stopped afterwards."""
    started: list[Sandbox] = []

    def _start(**settings: Any) -> Sandbox:
        box = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, **settings)).start()
        started.append(box)
        return box

    yield _start
    for box in started:
        box.stop()


@pytest.fixture
def box(start: Start) -> Sandbox:
    return start()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.auth = (AUTH_ID, TOKEN)
        yield s


def post(s: requests.Session, box: Sandbox, body: Any = None, **kw: Any) -> requests.Response:
    kw.setdefault("timeout", 5)
    return s.post(box.url + CALL_PATH, json=VALID if body is None else body, **kw)


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def assert_error_shape(response: requests.Response, status: int) -> str:
    assert response.status_code == status
    payload = response.json()
    assert set(payload) == {"api_id", "error"}
    assert is_uuid(payload["api_id"])
    assert isinstance(payload["error"], str)
    assert payload["error"]
    return str(payload["error"])


def test_valid_call_fires_and_is_recorded(box: Sandbox, session: requests.Session) -> None:
    r = post(session, box)
    assert r.status_code == 201
    payload = r.json()
    assert list(payload) == ["message", "request_uuid", "api_id"]
    assert payload["message"] == "call fired"
    assert is_uuid(payload["request_uuid"])
    assert is_uuid(payload["api_id"])
    [call] = box.calls
    assert set(call) == RECORD_KEYS
    assert call["body"] == VALID
    assert call["auth_id"] == AUTH_ID
    assert (call["request_uuid"], call["api_id"]) == (payload["request_uuid"], payload["api_id"])
    assert (call["status"], call["message"], call["fault"], call["placed"]) == (
        201,
        "call fired",
        None,
        True,
    )


def test_seed_body_with_curls_form_content_type(box: Sandbox, session: requests.Session) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = session.post(box.url + CALL_PATH, data=SEED_CURL_BODY, headers=headers, timeout=5)
    assert r.status_code == 201, r.text
    assert r.json()["message"] == "call fired"
    recorded = box.calls[0]["body"]
    assert recorded == json.loads(SEED_CURL_BODY)
    assert (recorded["time_limit"], recorded["send_on_preanswer"]) == ("300", "true")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_command_unchanged_but_host_and_credentials(box: Sandbox) -> None:
    command = ["curl", "-sS", "-X", "POST", "-u", f"{AUTH_ID}:{TOKEN}", "-d", SEED_CURL_BODY]
    done = subprocess.run(
        [*command, box.url + CALL_PATH], capture_output=True, text=True, timeout=10, check=True
    )
    assert json.loads(done.stdout)["message"] == "call fired"


def test_form_encoded_arguments(box: Sandbox, session: requests.Session) -> None:
    r = session.post(box.url + CALL_PATH, data={**VALID, "time_limit": "300"}, timeout=5)
    assert r.status_code == 201, r.text
    assert box.calls[0]["body"] == {**VALID, "time_limit": "300"}


def test_path_without_trailing_slash(box: Sandbox, session: requests.Session) -> None:
    r = session.post(box.url + CALL_PATH.rstrip("/"), json=VALID, timeout=5)
    assert r.status_code == 201


def test_bulk_fires_one_uuid_per_destination(box: Sandbox, session: requests.Session) -> None:
    to = "+14152223333<+14152223334<sip:john1234@phone.plivo.com"
    r = post(session, box, {**VALID, "to": to})
    assert r.status_code == 201
    payload = r.json()
    assert payload["message"] == "calls fired"
    uuids = payload["request_uuid"]
    assert isinstance(uuids, list)
    assert len(uuids) == 3
    assert len(set(uuids)) == 3
    assert all(is_uuid(u) for u in uuids)
    assert box.calls[0]["request_uuid"] == uuids


def test_over_cps_is_queued(start: Start, session: requests.Session) -> None:
    box = start(cps=2)
    early_in_a_second()  # the five land in one second: two fired, three over the CPS
    answers = [post(session, box) for _ in range(5)]
    statuses = [r.status_code for r in answers]
    messages = [r.json()["message"] for r in answers]
    assert statuses == [201, 201, 200, 200, 200]
    for status, message in zip(statuses, messages, strict=True):
        assert message == ("call queued" if status == 200 else "call fired")
    assert all(is_uuid(r.json()["request_uuid"]) for r in answers)
    assert [c["message"] for c in box.calls] == messages
    assert all(c["placed"] for c in box.calls)


def test_callback_url_makes_it_async(box: Sandbox, session: requests.Session) -> None:
    r = post(session, box, {**VALID, "callback_url": "https://example.com/cb"})
    assert r.status_code == 201
    payload = r.json()
    assert set(payload) == {"message", "api_id"}
    assert payload["message"] == "async api spawned"
    [call] = box.calls
    assert (call["message"], call["placed"]) == ("async api spawned", True)


@pytest.mark.parametrize(
    "auth, path_auth_id",
    [
        ((AUTH_ID, "wrong-token"), AUTH_ID),
        (None, AUTH_ID),
        (("MAOTHERACCOUNT000001", TOKEN), AUTH_ID),
        ((AUTH_ID, TOKEN), "MAOTHERACCOUNT000001"),
    ],
    ids=["wrong-token", "no-auth", "wrong-user", "user-is-not-path-auth-id"],
)
def test_authentication_failures(
    box: Sandbox, auth: tuple[str, str] | None, path_auth_id: str
) -> None:
    url = f"{box.url}/v1/Account/{path_auth_id}/Call/"
    r = requests.post(url, json=VALID, auth=auth, timeout=5)
    error = assert_error_shape(r, 401)
    assert "authentication failed" in error
    assert TOKEN not in r.text
    assert box.calls == []


def test_out_of_range_argument_is_400(box: Sandbox, session: requests.Session) -> None:
    r = post(session, box, {**VALID, "machine_detection_time": 1500})
    error = assert_error_shape(r, 400)
    assert "machine_detection_time" in error
    assert "1500" in error
    assert box.calls == []


def test_unparseable_body_is_400(box: Sandbox, session: requests.Session) -> None:
    r = session.post(box.url + CALL_PATH, data=b"[1, 2, 3]", timeout=5)
    assert_error_shape(r, 400)
    assert box.calls == []


def test_other_path_is_404(box: Sandbox, session: requests.Session) -> None:
    r = session.post(f"{box.url}/v1/Account/{AUTH_ID}/Message/", json=VALID, timeout=5)
    assert_error_shape(r, 404)


def test_put_on_the_call_path_is_405(box: Sandbox, session: requests.Session) -> None:
    r = session.put(box.url + CALL_PATH, json=VALID, timeout=5)
    assert_error_shape(r, 405)
    assert r.headers["Allow"] == "GET, POST"
    assert box.calls == []


def test_listing_calls_needs_simulate(box: Sandbox, session: requests.Session) -> None:
    # GET on the call path is Plivo's list of calls: only a simulating sandbox has any.
    r = session.get(box.url + CALL_PATH, timeout=5)
    assert_error_shape(r, 404)
    assert r.json()["error"] == "not found (the sandbox lists calls with --simulate)"


def test_keep_alive_serves_many_requests_on_one_connection(
    box: Sandbox, session: requests.Session
) -> None:
    for _ in range(20):
        assert post(session, box).status_code == 201
    assert len({c["request_uuid"] for c in box.calls}) == 20


@pytest.mark.parametrize("status", [429, 503])
def test_injected_refusal_is_not_placed(
    start: Start, session: requests.Session, status: int
) -> None:
    box = start(faults=(Fault(status, 1.0),), retry_after=2)
    r = post(session, box)
    assert_error_shape(r, status)
    assert r.headers["Retry-After"] == "2"
    [call] = box.calls
    assert (call["status"], call["fault"], call["placed"]) == (status, f"status:{status}", False)
    assert call["request_uuid"] is None


@pytest.mark.parametrize("status", [500, 502, 504])
def test_injected_server_error_is_recorded_as_placed(
    start: Start, session: requests.Session, status: int
) -> None:
    box = start(faults=(Fault(status, 1.0),), retry_after=2)
    r = post(session, box)
    assert_error_shape(r, status)
    assert "Retry-After" not in r.headers
    [call] = box.calls
    assert (call["status"], call["fault"], call["placed"]) == (status, f"status:{status}", True)
    assert is_uuid(call["request_uuid"])


def test_drop_closes_without_answer_and_records_placed(
    start: Start, session: requests.Session
) -> None:
    box = start(drop=1.0)
    with pytest.raises(requests.ConnectionError):
        post(session, box)
    [call] = box.calls
    assert (call["status"], call["message"], call["fault"], call["placed"]) == (
        None,
        None,
        "drop",
        True,
    )


def test_hang_times_the_client_out_and_stop_is_prompt(
    start: Start, session: requests.Session
) -> None:
    box = start(hang=1.0)
    with pytest.raises(requests.ReadTimeout):
        post(session, box, timeout=0.5)
    # A second client that keeps its hung connection open while the sandbox stops.
    request = (
        f"POST {CALL_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: "
        f"Basic {_basic(AUTH_ID, TOKEN)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(json.dumps(VALID))}\r\n\r\n{json.dumps(VALID)}"
    )
    with socket.create_connection(_address(box), timeout=5) as held:
        held.sendall(request.encode())
        wait_until(lambda: len(box.calls) >= 2, "the second hung request at the sandbox")
        began = time.monotonic()
        box.stop()
        assert time.monotonic() - began < 3
        assert held.recv(1024) == b""  # closed, never answered
    assert [(c["fault"], c["placed"], c["status"]) for c in box.calls] == [("hang", True, None)] * 2


def test_latency_delays_the_answer(start: Start, session: requests.Session) -> None:
    box = start(latency_ms=(150, 150))
    began = time.monotonic()
    r = post(session, box)
    assert time.monotonic() - began >= 0.15
    assert r.status_code == 201
    assert box.calls[0]["fault"] is None


def test_same_seed_same_faults(start: Start, session: requests.Session) -> None:
    faults = (Fault(500, 0.3), Fault(429, 0.3))
    sequences = []
    for _ in range(2):
        box = start(faults=faults, seed=7)
        sequences.append([post(session, box).status_code for _ in range(20)])
    assert sequences[0] == sequences[1]
    # The draws of seed 7: 30 % 500, 30 % 429, the rest placed.
    first_ten = [500, 500, 429, 429, 429, 500, 201, 500, 201, 429]
    assert sequences[0] == [*first_ten, 500, 500, 500, 201, 429, 429, 500, 500, 429, 429]


def test_record_file(start: Start, session: requests.Session, tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    box = start(record=path, faults=(Fault(429, 0.5),), seed=1)
    statuses = [post(session, box).status_code for _ in range(6)]
    post(session, box, {**VALID, "machine_detection_time": 1500})  # a 400: not recorded
    box.stop()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == box.calls
    assert [line["status"] for line in lines] == statuses
    for line in lines:
        assert set(line) == RECORD_KEYS
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
        assert line["placed"] is (line["status"] == 201)
        assert line["body"] == VALID


def test_token_never_in_log_or_record(
    start: Start, session: requests.Session, tmp_path: Path
) -> None:
    log = io.StringIO()
    path = tmp_path / "calls.jsonl"
    box = start(log=log, record=path, faults=(Fault(503, 0.5),), seed=3)
    for _ in range(4):
        post(session, box)
    post(session, box, {**VALID, "time_limit": "soon"})
    requests.post(box.url + CALL_PATH, json=VALID, auth=(AUTH_ID, "other-token-42"), timeout=5)
    session.get(box.url + "/nowhere", timeout=5)
    box.stop()
    text = log.getvalue()
    assert len(text.splitlines()) == 7
    assert " 401 " in text
    assert " 404 " in text
    for secret in (TOKEN, "other-token-42", _basic(AUTH_ID, TOKEN)):
        assert secret not in text
        assert secret not in path.read_text(encoding="utf-8")
    assert TOKEN not in repr(box.config)


def test_serve_forever_returns_when_stopped_from_another_thread() -> None:
    box = Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN))
    server = threading.Thread(target=box.serve_forever, daemon=True)
    server.start()
    try:
        r = requests.post(box.url + CALL_PATH, json=VALID, auth=(AUTH_ID, TOKEN), timeout=5)
        assert r.status_code == 201
    finally:
        box.stop()
    server.join(timeout=5)
    assert not server.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.post(box.url + CALL_PATH, json=VALID, auth=(AUTH_ID, TOKEN), timeout=5)


@pytest.mark.parametrize(
    "settings",
    [
        {"faults": (Fault(500, 0.6), Fault(429, 0.6))},
        {"drop": 0.5, "hang": 0.6},
        {"latency_ms": (200, 100)},
        {"cps": 0},
    ],
)
def test_impossible_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Sandbox(SandboxConfig(**settings))


def test_fault_status_must_be_an_error() -> None:
    with pytest.raises(ValueError):
        Fault(200, 0.5)


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _address(box: Sandbox) -> tuple[str, int]:
    host, _, port = box.url.removeprefix("http://").rpartition(":")
    return host, int(port)


# The official SDK, pointed at the sandbox through its base URL constants.


@pytest.fixture
def plivo_client(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    plivo = pytest.importorskip("plivo")
    import plivo.rest.client as rest

    base = f"{box.url}/v1/Account"
    for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI"):
        monkeypatch.setattr(rest, name, base)
    for name in ("API_VOICE_BASE_URI_FALLBACK_1", "API_VOICE_BASE_URI_FALLBACK_2"):
        monkeypatch.setattr(rest, name, base)

    def client(token: str = TOKEN) -> Any:
        return plivo.RestClient(AUTH_ID, token)

    return client


def test_sdk_call_fired(box: Sandbox, plivo_client: Callable[..., Any]) -> None:
    response = plivo_client().calls.create(
        from_="+14152224444", to_="+14152223333", answer_url="https://example.com/a.xml"
    )
    assert response.message == "call fired"
    assert response.request_uuid == box.calls[0]["request_uuid"]


def test_sdk_wrong_token(plivo_client: Callable[..., Any]) -> None:
    from plivo.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError, match="authentication failed"):
        plivo_client("not-the-token").calls.create(
            from_="+14152224444", to_="+14152223333", answer_url="https://example.com/a.xml"
        )


def test_sdk_out_of_range_argument(plivo_client: Callable[..., Any]) -> None:
    from plivo.exceptions import PlivoRestError, ValidationError

    with pytest.raises(ValidationError, match="machine_detection_time") as raised:
        plivo_client().calls.create(
            from_="+14152224444",
            to_="+14152223333",
            answer_url="https://example.com/a.xml",
            machine_detection_time=1500,
        )
    assert isinstance(raised.value, PlivoRestError)
