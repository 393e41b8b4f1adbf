"""The simulator and ``callspec check`` judge an answer URL alike: what check refuses, a
simulated call does not play as good XML (the content type, Plivo's size limit).

The answer URL is a raw server on 127.0.0.1 serving exactly the bytes under test.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from misbehaving import GOOD
from simulation_plugin import Start, place, state
from support import invoke, raw_server

from callspec.errors import ExitCode
from callspec.sandbox.calls import ANSWER_URL_ERROR, INVALID_ANSWER_XML
from callspec.sandbox.outcomes import SimulationConfig

pytestmark = pytest.mark.timeout(30)

#: Valid Plivo XML of ~200 KB (padding between elements): over Plivo's limit for an XML
#: document (100 KiB), which check and the simulator both hold to.
BIG_GOOD = b"<Response>" + b" " * 200_000 + b"<Speak>hi</Speak></Response>"


def _serve(kind: bytes, body: bytes):  # type: ignore[no-untyped-def]
    def handle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
        conn.sendall(head % (kind, len(body)) + body)

    return handle


def _check_and_simulate(tmp_path: Path, start: Start, url: str) -> tuple[str, dict[str, object]]:
    """check's stderr for ``url`` (it must fail), and the record of a call it answers."""
    spec = tmp_path / "calls.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: c0\n    from: '+14152224444'\n"
        f"    to: '+14155550000'\n    answer_url: {url}\n"
    )
    checked = invoke(["check", spec])
    assert checked.exit_code == ExitCode.INVALID, checked.output
    box = start(SimulationConfig(duration_s=0.0))
    (uuid,) = place(box, **{"from": "+14152224444", "to": "+14155550100"}, answer_url=url)
    assert box.wait_for_calls(20)
    return checked.stderr, state(box, uuid).json()


def test_xml_served_as_text_plain_fails_in_both(tmp_path: Path, start: Start) -> None:
    with raw_server(_serve(b"text/plain", GOOD)) as (url, _):
        stderr, record = _check_and_simulate(tmp_path, start, f"{url}/a")
    assert "Content-Type text/plain: Plivo requires text/xml or application/xml" in stderr
    assert record["hangup_cause_code"] == INVALID_ANSWER_XML.code


def test_xml_over_plivos_size_limit_fails_in_both(tmp_path: Path, start: Start) -> None:
    with raw_server(_serve(b"text/xml", BIG_GOOD)) as (url, _):
        stderr, record = _check_and_simulate(tmp_path, start, f"{url}/a")
    assert "the body is over Plivo's limit for an XML document (102,400 bytes)" in stderr
    # The simulator stops reading at the limit: the answer URL could not be read whole.
    assert record["hangup_cause_code"] == ANSWER_URL_ERROR.code
