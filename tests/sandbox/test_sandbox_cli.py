"""`callspec sandbox` as a user runs it: a process on 127.0.0.1, the seed's curl, Ctrl-C."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from support import SEED_CURL_BODY, SEED_PAGE, spawn


def seed_curl_body() -> str:
    """The seed's curl body; when the seed page is there, it must match."""
    if SEED_PAGE.is_file():
        match = re.search(r"-d '(\{.*?\})'\s*\n", SEED_PAGE.read_text(), re.S)
        assert match and match.group(1) == SEED_CURL_BODY
    return SEED_CURL_BODY


def test_sandbox_command_accepts_the_seeds_curl_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    record = tmp_path / "calls.jsonl"
    proc = spawn(
        [
            "sandbox",
            "--port",
            "0",
            "--auth-id",
            "MASEEDTEST0000000000",
            "--auth-token",
            "pw",
            "--record",
            str(record),
        ],
        {},
        tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        # The seed's command, unchanged but for host and credentials (curl's default
        # Content-Type for -d is application/x-www-form-urlencoded).
        done = subprocess.run(
            [
                curl,
                "-s",
                "-X",
                "POST",
                "-u",
                "MASEEDTEST0000000000:pw",
                "-d",
                seed_curl_body(),
                f"{url.group(0)}/v1/Account/MASEEDTEST0000000000/Call/",
                "-w",
                "\n%{http_code}",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        body, status = done.stdout.rsplit("\n", 1)
        assert status == "201"
        answer = json.loads(body)
        assert answer["message"] == "call fired" and answer["request_uuid"] and answer["api_id"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "201" in err  # one log line per request
    recorded = [json.loads(x) for x in record.read_text().splitlines()]
    assert len(recorded) == 1 and recorded[0]["body"]["time_limit"] == "300"
    assert recorded[0]["placed"] is True


def test_sandbox_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = spawn(["sandbox", "--port", str(port)], {}, tmp_path)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
