"""One deadline per exchange (callspec.net.deadline), over TLS too.

check's own tests (tests/check/test_check_deadline.py) trickle over plain HTTP; here
the server trickles inside TLS, where the socket the deadline shuts down is the TLS
socket that replaced the TCP one.  The server trickles until the test ends, so a client
the deadline did not cut would still be reading when the bounded join gives up (the
join is many times the deadline, not a timing assertion).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable

from support import tls_server

from callspec.net.fetch import fetch
from callspec.sandbox.callbacks import fetch as callback_fetch
from callspec.sandbox.outcomes import SimulationConfig

BOUND_S = 2.5
stop = threading.Event()


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
    while not stop.wait(0.05):
        conn.sendall(b" ")


def _trickle_headers(conn: ssl.SSLSocket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    n = 0
    while not stop.wait(0.05) and n < 90:  # http.client allows 100 headers
        conn.sendall(b"X-Slow-%d: 1\r\n" % n)
        n += 1
    stop.wait()


def _bounded(target: Callable[[], object]) -> list[object]:
    """``target``'s result, if it returns within BOUND_S (then the server stops)."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(target()), daemon=True)
    stop.clear()
    thread.start()
    thread.join(BOUND_S)
    got = list(out)  # what came back in time, before the server stops trickling
    stop.set()
    return got


def test_the_deadline_cuts_a_body_trickling_over_tls() -> None:
    with tls_server(_trickle_body) as (url, ca):
        out = _bounded(
            lambda: fetch(
                f"{url}/a",
                "POST",
                {"Event": "StartApp"},
                environ={"REQUESTS_CA_BUNDLE": ca},
                timeout=0.3,
                max_bytes=1 << 20,
                max_redirects=3,
                headers={},
            )
        )
    assert out, "the fetch was still reading"
    assert out[0].error == "the body did not arrive within 0.3 s"  # type: ignore[attr-defined]


def test_the_deadline_cuts_headers_trickling_over_tls_in_a_callback() -> None:
    with tls_server(_trickle_headers) as (url, ca):
        environ = {"REQUESTS_CA_BUNDLE": ca}
        config = SimulationConfig(connect_timeout_s=0.2, read_timeout_s=0.2, environ=environ)
        out = _bounded(
            lambda: callback_fetch(f"{url}/a", "POST", {"Event": "StartApp"}, "token", config)
        )
    assert out, "the callback was still reading"
    assert out[0].error == "no answer within 0.4 s"  # type: ignore[attr-defined]


def test_deadlines_that_ended_are_not_kept() -> None:
    from callspec.net import deadline

    for _ in range(1000):  # a long run's exchanges, each with a deadline far off
        with deadline.Deadline(60):
            pass
    assert len(deadline._heap) <= 1
