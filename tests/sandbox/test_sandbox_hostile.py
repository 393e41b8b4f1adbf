"""The sandbox under hostile requests: every one answered in Plivo's error shape, none dropped.

Requests are written byte for byte on a raw socket to 127.0.0.1, so headers a
client library would never send (two Content-Lengths, "1_0") reach the server.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Iterator

import pytest
import requests

from callspec.sandbox.server import MAX_BODY_BYTES, MAX_JSON_DEPTH, Sandbox, SandboxConfig

pytestmark = pytest.mark.timeout(30)

AUTH_ID = "MATESTSANDBOX0000001"
TOKEN = "test-token-0123456789abcdefghijklmnopqrs"
VALID = {"from": "+14152224444", "to": "+14152223333", "answer_url": "https://example.com/a.xml"}
BASIC = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN)) as sb:
        yield sb


def exchange(
    box: Sandbox,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    authorization: str = BASIC,
) -> tuple[int, dict[str, object]]:
    """POST ``body`` on a fresh connection; the status and JSON of the (first) answer."""
    if headers is None:
        headers = [("Content-Length", str(len(body)))]
    lines = [
        f"POST /v1/Account/{AUTH_ID}/Call/ HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: {authorization}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    host, port = box.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data, "the connection was closed without an answer"
    head_part, _, rest = data.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head_part.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    payload = json.loads(rest[:length])
    assert isinstance(payload, dict)
    return status, payload


def assert_plivo_error(answer: tuple[int, dict[str, object]], status: int) -> str:
    code, payload = answer
    assert code == status, payload
    assert set(payload) == {"api_id", "error"}
    assert str(uuid.UUID(str(payload["api_id"]))) == payload["api_id"]
    assert isinstance(payload["error"], str) and payload["error"]
    return payload["error"]


def still_serves(box: Sandbox) -> None:
    url = f"{box.url}/v1/Account/{AUTH_ID}/Call/"
    r = requests.post(url, json=VALID, auth=(AUTH_ID, TOKEN), timeout=10)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 100_000, b'{"to": ' + b"[" * 100_000],
    ids=["arrays", "objects", "inside-an-argument"],
)
def test_a_deeply_nested_body_is_400_not_a_traceback(
    box: Sandbox, body: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    error = assert_plivo_error(exchange(box, body), 400)
    assert error == f"the body is nested more than {MAX_JSON_DEPTH} levels deep"
    still_serves(box)
    assert "Traceback" not in capsys.readouterr().err
    assert len(box.calls) == 1


def test_nesting_is_counted_outside_strings_and_up_to_the_limit(box: Sandbox) -> None:
    brackets_in_text = json.dumps({**VALID, "caller_name": "[{" * 20}).encode()
    assert exchange(box, brackets_in_text)[0] == 201
    at_limit = json.dumps({**VALID, "sip_headers": None}).replace(
        "null", "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    )
    error = assert_plivo_error(exchange(box, at_limit.encode()), 400)
    assert error.startswith("sip_headers: expected a string")  # parsed, then checked
    over = at_limit.replace("[", "[[", 1).replace("]", "]]", 1)
    error = assert_plivo_error(exchange(box, over.encode()), 400)
    assert error == f"the body is nested more than {MAX_JSON_DEPTH} levels deep"
    form = b"to=" + b"[" * 100 + b"&from=%2B14152224444&answer_url=https://example.com/a"
    assert "nested" not in assert_plivo_error(exchange(box, form), 400)  # form: not JSON


@pytest.mark.parametrize(
    ("to", "kind"),
    [
        (14152223333, "a number"),
        (["+14152223333", "+14152223334"], "an array"),
        ({"number": "+14152223333"}, "an object"),
        (True, "a boolean"),
        (None, "null"),
    ],
)
def test_a_to_that_is_not_a_string_is_400(box: Sandbox, to: object, kind: str) -> None:
    body = json.dumps({**VALID, "to": to}).encode()
    error = assert_plivo_error(exchange(box, body), 400)
    assert error == f"to: must be a string (destinations joined with '<'), not {kind}"
    assert box.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"to": "+14155550100", "from": "+14152224444", "to": "+14155550199"}',
        b"to=%2B14155550100&from=%2B14152224444&to=%2B14155550199&answer_url=https://a.example",
    ],
    ids=["json", "form"],
)
def test_an_argument_given_twice_is_400(box: Sandbox, body: bytes) -> None:
    # Which one would count? The spec side refuses duplicate keys; so does the sandbox.
    error = assert_plivo_error(exchange(box, body), 400)
    assert error == "the body gives 'to' more than once"
    assert box.calls == []


@pytest.mark.parametrize(
    "body",
    [b"null", b"12", b'"text"', b"[1, 2]", b"\xff\xfe{}", b'{"to": "\x00"}', b"9" * 5000],
    ids=["null", "number", "string", "array", "not-utf8", "control-char", "5000-digits"],
)
def test_a_body_that_is_no_object_is_400(box: Sandbox, body: bytes) -> None:
    error = assert_plivo_error(exchange(box, body), 400)
    assert error == "the body must be a JSON object or form-encoded arguments"
    assert box.calls == []


@pytest.mark.parametrize(
    "value",
    ["1_0", "+10", " 1e1", "-1", "0x0a", "\xb2", "ten", ""],
)
def test_a_content_length_that_is_not_a_number_is_400(box: Sandbox, value: str) -> None:
    answer = exchange(box, b"0123456789", [("Content-Length", value)])
    assert assert_plivo_error(answer, 400) == "Content-Length must be one number of bytes"
    still_serves(box)


def test_two_different_content_lengths_are_400(box: Sandbox) -> None:
    body = json.dumps(VALID).encode()
    headers = [("Content-Length", str(len(body))), ("Content-Length", "2")]
    answer = exchange(box, body, headers)
    assert assert_plivo_error(answer, 400) == "Content-Length must be one number of bytes"
    assert box.calls == []


def test_transfer_encoding_is_400(box: Sandbox) -> None:
    body = json.dumps(VALID).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = exchange(box, chunked, [("Transfer-Encoding", "chunked")])
    assert "Content-Length" in assert_plivo_error(answer, 400)
    assert box.calls == []


@pytest.mark.parametrize("length", [str(MAX_BODY_BYTES + 1), "1" + "0" * 30, "9" * 5000])
def test_a_body_over_the_limit_is_413_unread(box: Sandbox, length: str) -> None:
    answer = exchange(box, b"", [("Content-Length", length)])  # no body follows
    assert assert_plivo_error(answer, 413) == f"the body is larger than {MAX_BODY_BYTES} bytes"
    still_serves(box)


def test_a_body_over_the_limit_sent_by_a_client_is_413(box: Sandbox) -> None:
    r = requests.post(
        f"{box.url}/v1/Account/{AUTH_ID}/Call/",
        data=b"x" * (2 * MAX_BODY_BYTES),
        auth=(AUTH_ID, TOKEN),
        timeout=10,
    )
    assert r.status_code == 413
    assert set(r.json()) == {"api_id", "error"}


@pytest.mark.parametrize("credentials", ["\xe9\xe9\xe9\xe9", "bm90IGJhc2U2NA=\xe9"])
def test_non_ascii_basic_auth_is_401(
    box: Sandbox, credentials: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = exchange(box, json.dumps(VALID).encode(), authorization=f"Basic {credentials}")
    assert assert_plivo_error(answer, 401).endswith("the basic auth header is malformed")
    assert "Traceback" not in capsys.readouterr().err
