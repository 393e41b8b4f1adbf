"""A check ends in time, whatever the server does: ``--check-timeout`` holds for one URL
against a server that trickles its headers or its body, and ``--check-deadline`` holds for
the whole check, every URL together.

Forty answer URLs on a server that reads each request and never answers: without a
deadline for the whole check they took URLs x --check-timeout / the workers (here 40 x
5 s / 4 = 50 s).  With ``--check-deadline 1`` each one fails with the same clear
reason, exit 3, and ``run --check`` places nothing.  The server holds every connection
until the test ends (the pytest timeout would end a check that did not stop).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from misbehaving import trickle_body, trickle_headers
from support import RawHandle, cred_env, invoke, raw_server, read_report, sandbox

from callspec.errors import ExitCode

URLS = 40
LATE = "not done within the check's deadline of 1 s (--check-deadline)"


def _silent(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
    stop.wait()  # reads the request, never answers
    return False


def _spec(folder: Path, url: str) -> Path:
    calls = [
        {"name": f"c{i}", "to": f"+1415555{i:04d}", "answer_url": f"{url}/silent/{i}"}
        for i in range(URLS)
    ]
    path = folder / "calls.yaml"
    body = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": calls}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_forty_silent_urls_fail_at_the_check_deadline(tmp_path: Path) -> None:
    with raw_server(_silent) as (url, _):
        spec = _spec(tmp_path, url)
        result = invoke(["check", str(spec), "--check-timeout", "5", "--check-deadline", "1", "-q"])
    assert result.exit_code == ExitCode.INVALID
    failures = [line for line in result.stderr.splitlines() if "/silent/" in line]
    assert len(failures) == URLS
    assert all(line.endswith(f": {LATE}") for line in failures), failures
    assert result.stdout.strip() == f"checked {URLS} URLs: 0 ok, {URLS} failed"


def test_run_check_places_nothing_when_the_check_deadline_passes(tmp_path: Path) -> None:
    box = sandbox()
    try:
        with raw_server(_silent) as (url, _):
            spec = _spec(tmp_path, url)
            args = ["run", str(spec), "--api-url", box.url, "--check", "--check-deadline", "1"]
            result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
        assert result.exit_code == ExitCode.INVALID, result.output
        assert box.calls == []
        checks = read_report(tmp_path / "r.json")["checks"]
        assert [c["error"] for c in checks] == [LATE] * URLS
    finally:
        box.stop()


#: Far more than the --check-timeout given (0.3 s): a check still running then would run
#: as long as the server trickles, which is until the test ends.
BOUND_S = 20.0


@pytest.mark.parametrize("handle", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_check_timeout_holds_against_a_trickling_server(tmp_path: Path, handle: RawHandle) -> None:
    out: list[Result] = []
    with raw_server(handle) as (url, _):
        spec = tmp_path / "calls.yaml"
        spec.write_text(
            "version: 1\ncalls:\n  - name: c0\n    from: '+14152224444'\n"
            f"    to: '+14155550000'\n    answer_url: {url}/a\n"
        )
        args = ["check", str(spec), "--check-timeout", "0.3"]
        thread = threading.Thread(target=lambda: out.append(invoke(args)), daemon=True)
        thread.start()
        thread.join(BOUND_S)
        done = not thread.is_alive()
    thread.join(10)  # the server has stopped: a command still running ends now
    assert done, "callspec check --check-timeout 0.3 was still running"
    assert out[0].exit_code == ExitCode.INVALID
