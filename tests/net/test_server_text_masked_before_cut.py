"""What a server says reaches outputs only masked whole, then cut, then escaped.

The network layer hands back full, raw text (an answer's body and headers, an
exception's words); each consumer applies :func:`callspec.text.outside` with the run's
redactor.  Servers on 127.0.0.1 put the auth token and a declared secret where a
200-character cut falls, and a newline that would forge a workflow command, through
``callspec check``, ``run --wait`` and a send.  Every output (stdout, stderr, the
report, JUnit, the journal, the HTML page) is searched for the first characters of each.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from support import TOKEN, answering, cred_env, invoke, raw_server

from callspec.errors import ExitCode

SECRET = "S3cr3t-Declared-Value-012345"  # 28 characters
UUID = "0c0ffee0-1234-4cde-8000-00000000beef"


def _write(folder: Path, calls: list[dict[str, object]]) -> list[str]:
    """A spec whose profile declares ``pin`` secret (its value is SECRET); the CLI's args."""
    folder.mkdir(exist_ok=True)
    profiles = folder / "profiles.yaml"
    profile = {"secrets": ["pin"], "vars": {"pin": SECRET}}
    profiles.write_text(yaml.safe_dump({"version": 1, "profiles": {"default": profile}}))
    full = [{"name": f"c{i}", "to": f"+1415555{i:04d}", **c} for i, c in enumerate(calls)]
    spec = folder / "calls.yaml"
    body = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": full}
    spec.write_text(yaml.safe_dump(body, sort_keys=False))
    return [str(spec), "--profiles", str(profiles)]


def _outputs(folder: Path, *streams: str) -> str:
    files = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    return "\n".join([*streams, *files])


def _assert_hidden(text: str) -> None:
    for secret in (SECRET, TOKEN):
        assert secret[:6] not in text, secret
        assert secret[-6:] not in text, secret


def _check_answers(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
    conn.sendall(_answer(request.split(b" ", 2)[1].decode()))
    return False


def _answer(path: str) -> bytes:
    if path.startswith("/status"):
        # Not HTTP: the exception quotes the line.  The declared secret falls across the
        # 200th character of the words (where the check used to cut before masking), the
        # token across the 200th of the error once the secret is masked.
        line = "HTTP/1.1 " + "x" * 131 + SECRET + "y" * 15 + TOKEN + "z" * 40
        return line.encode() + b"\r\n\r\n"
    kind = "text/html; q=" + "c" * 160 + TOKEN + "; p=" + SECRET
    return f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: 0\r\n\r\n".encode()


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_check_masks_a_servers_words_before_cutting_them(tmp_path: Path, fmt: str) -> None:
    with raw_server(_check_answers) as (url, _):
        args = _write(tmp_path, [{"answer_url": f"{url}/status"}, {"answer_url": f"{url}/type"}])
        result = invoke(["check", *args, "--format", fmt], cred_env())
    assert result.exit_code == ExitCode.INVALID, result.output
    text = _outputs(tmp_path / "none", result.stdout, result.stderr)
    _assert_hidden(text)
    assert "BadStatusLine: HTTP/1.1 xxx" in text and "Content-Type text/html; q=ccc" in text
    assert "***" in text


def test_wait_reads_mask_a_servers_error_before_cutting_it(tmp_path: Path) -> None:
    said = "e" * 120 + SECRET + "f" * 52 + TOKEN + "\n::error file=README.md,line=1::forged"

    def api(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        if handler.command == "POST":
            body = {"message": "call fired", "request_uuid": UUID, "api_id": "a-1"}
            return 201, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return 401, {"Content-Type": "text/plain"}, said.encode()

    with answering(api) as (url, _):
        args = _write(tmp_path / "spec", [{"answer_url": "https://hooks.example.com/a"}])
        out = tmp_path / "out"
        run = ["run", *args, "--api-url", url, "--wait", "5", "--report", str(out / "r.json")]
        pages = ["--junit", str(out / "j.xml"), "--html", str(out / "p.html")]
        result = invoke([*run, *pages], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    assert "HTTP 401: eee" in (out / "p.html").read_text()  # the page shows the read's error
    text = _outputs(out, result.stdout, result.stderr)
    _assert_hidden(text)
    assert "\n::error" not in text


def test_a_sends_error_text_is_masked_cut_and_escaped(tmp_path: Path) -> None:
    forged = "\n::error file=README.md,line=1::forged\n"
    said = "bad request" + forged + "e" * 150 + SECRET + TOKEN + "f" * 100

    def api(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        to = json.loads(handler.body)["to"]  # type: ignore[attr-defined]
        if to.endswith("0000"):
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": said}).encode()
        where = f"https://elsewhere.example/{TOKEN}/{SECRET}"
        return 302, {"Location": where}, b""

    with answering(api) as (url, _):
        args = _write(tmp_path / "spec", [{"answer_url": "https://h.example.com/a"}] * 2)
        out = tmp_path / "out"
        run = ["run", *args, "--api-url", url, "--concurrency", "1"]
        outputs = ["--report", str(out / "r.json"), "--junit", str(out / "j.xml")]
        result = invoke([*run, *outputs], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    text = _outputs(out, result.stdout, result.stderr)
    assert "bad request\\n::error file=README.md" in text
    assert "unexpected redirect to https://elsewhere.example/***/***" in text
    _assert_hidden(text)
    assert "\n::error" not in text
