"""One deadline per exchange (callspec.check.deadline), over TLS too.

The review's tests trickle over plain HTTP; here the server trickles inside TLS, where
the socket the deadline shuts down is the TLS socket that replaced the TCP one.  The
server gives up by itself after a few seconds, so a client the deadline did not cut
would end with another error than the one asserted.
"""

from __future__ import annotations

import ssl
import time

import pytest
from support import tls_server

from callspec.check.fetch import fetch
from callspec.sandbox.callbacks import fetch as callback_fetch
from callspec.sandbox.outcomes import SimulationConfig


def _read_request(conn: ssl.SSLSocket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _trickle_body(conn: ssl.SSLSocket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 99999\r\n\r\n")
    for _ in range(60):  # at most ~3 s, then the server closes
        conn.sendall(b" ")
        time.sleep(0.05)


def _trickle_headers(conn: ssl.SSLSocket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for n in range(60):
        conn.sendall(b"X-Slow-%d: 1\r\n" % n)
        time.sleep(0.05)


def test_check_deadline_cuts_a_body_trickling_over_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    with tls_server(_trickle_body) as (url, ca):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
        got = fetch(f"{url}/a", "POST", {"Event": "StartApp"}, timeout=0.3)
    assert got.status == 200
    assert got.error == "the body did not arrive within 0.3 s"


def test_callback_deadline_cuts_headers_trickling_over_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = SimulationConfig(connect_timeout_s=0.2, read_timeout_s=0.2)
    with tls_server(_trickle_headers) as (url, ca):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
        got = callback_fetch(f"{url}/a", "POST", {"Event": "StartApp"}, "token", config)
    assert got.error == "the answer took too long"
