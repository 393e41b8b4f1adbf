"""The JSON report is strict JSON: no NaN or Infinity gets in, and one that would is refused.

The server that sends ``Retry-After: inf`` is a small one on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from support import (
    answering,
    cred_env,
    invoke,
    read_report,
    run_args,
    write_profiles,
    write_spec,
)

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import ReportError, write_report
from callspec.results import RunResult

pytestmark = pytest.mark.timeout(30)


def _result(**options: object) -> RunResult:
    t = "2024-05-01T12:00:00Z"
    return RunResult("r1", "sandbox", "http://127.0.0.1:1", t, t, options, calls=())


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_report_with_a_non_finite_number_is_refused_not_written(
    tmp_path: Path, number: float
) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(ReportError, match=r"not be valid JSON: \$\.options\.rate is"):
        write_report("json", _result(rate=number), Redactor(), target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


class _TooManyRequests(BaseHTTPRequestHandler):
    """429 with ``Retry-After: inf``: a server can put a float in the report."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"api_id": "x", "error": "too many requests"}'
        self.send_response(429)
        self.send_header("Retry-After", "inf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_servers_infinite_retry_after_leaves_the_report_valid_json(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    server = HTTPServer(("127.0.0.1", 0), _TooManyRequests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        args = [*run_args(tmp_path, url, "--retries", "0"), "--report", str(tmp_path / "r.json")]
        result = invoke(args, cred_env())
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == ExitCode.CALL_FAILED, result.stderr
    doc = _strict((tmp_path / "r.json").read_text())
    assert isinstance(doc, dict)
    assert doc["calls"][0]["attempts"][0]["retry_after"] is None
    read_report(tmp_path / "r.json")


def test_an_infinite_retry_after_waited_on_keeps_the_report_strict_json(tmp_path: Path) -> None:
    """``Retry-After: 1e999`` on the way to a retry (``--retries 1``), not only on the last
    answer: the wait it asks for is over the budget, the report still strict JSON."""
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    answer = (429, {"Retry-After": "1e999"}, b'{"error":"slow down"}')
    with answering(lambda h, n: answer) as (url, _):
        args = run_args(tmp_path, url, "--retries", "1", "--max-retry-wait", "1")
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    _strict((tmp_path / "r.json").read_text())


def test_a_profile_rate_that_is_not_finite_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    rate: .nan\n  fast:\n    rate: .inf\n"
    )
    write_spec(tmp_path, 1)
    result = invoke(["validate", str(tmp_path / "calls.yaml")], {"CALLSPEC_PROFILES": None})
    assert result.exit_code == ExitCode.INVALID
    assert "profiles.yaml:4:11: profiles.default.rate: nan is not a finite number" in result.stderr
    assert "profiles.yaml:6:11: profiles.fast.rate: inf is not a finite number" in result.stderr
