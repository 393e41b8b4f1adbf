"""A connect timeout, produced on 127.0.0.1, reads as words: no Python object in the message.

A listening socket that never accepts, its backlog filled, drops further SYNs:
the next connect waits until the client's connect timeout.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import cred_env, invoke, read_report, run_args, write_profiles, write_spec

from callspec.errors import ExitCode

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """http://127.0.0.1:PORT where connecting never completes (until the sockets close)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued: list[socket.socket] = []
    try:
        for _ in range(32):  # until a connect no longer completes: the queue is full
            probe = socket.socket()
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break
            queued.append(probe)
        else:
            pytest.skip("this system accepts connections past a full backlog")
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in queued:
            sock.close()
        listener.close()


def test_a_connect_timeout_message_has_no_object_repr(unanswered_url: str, tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    args = run_args(tmp_path, unanswered_url, "--timeout", "0.3", "--retries", "0")
    result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED, result.stderr
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["error"].endswith(
        "connection failed before the request was sent: ConnectTimeoutError: "
        "Connection to 127.0.0.1 timed out. (connect timeout=0.3)"
    )
    assert call["attempts"][0]["maybe_sent"] is False
    for text in (result.stdout, result.stderr, (tmp_path / "r.json").read_text()):
        assert not re.search(r"at 0x[0-9a-f]+|<\w+\(|object at", text), text
