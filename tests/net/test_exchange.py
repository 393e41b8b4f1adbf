"""One API exchange (callspec.net.exchange): what goes out, what comes back, and the
reason when no whole answer came, against raw servers on 127.0.0.1.

Two speed-ups of the send path are pinned to what plain requests does: the body goes
out with the head in one write (the bytes are the same), and a cookie the API sets is
kept (only looked for when the answer sets one).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from callspec.net.exchange import exchange
from callspec.net.reasons import Reason
from callspec.net.session import Client

BODY = b'{"to":"+14155550100","from":"+14152224444"}'
OK = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@contextmanager
def raw_server(
    answer: Callable[[socket.socket, bytes, threading.Event], None],
) -> Iterator[tuple[str, list[bytes]]]:
    """http://127.0.0.1:PORT: every request on every connection read whole, recorded,
    then ``answer(conn, request, stop)``; ``stop`` is set when the test ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while not stop.is_set():
                request = _read_request(conn)
                if not request:
                    return
                seen.append(request)
                answer(conn, request, stop)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(5)


def _created(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(OK)


def _post(client: Client, url: str) -> int | None:
    headers = {"Content-Type": "application/json", "User-Agent": "callspec/test"}
    reply = exchange(
        client,
        "POST",
        f"{url}/v1/Call/",
        timeouts=(2, 2),
        auth=("MA", "tok"),
        headers=headers,
        body=BODY,
    )
    assert reply.reason is None, reply.reason
    return reply.status


def test_a_request_goes_out_byte_for_byte_as_requests_sends_it() -> None:
    with raw_server(_created) as (url, seen):
        assert _post(Client({}), url) == 201
        plain = requests.Session()
        plain.trust_env = False
        answer = plain.post(
            f"{url}/v1/Call/",
            data=BODY,
            auth=("MA", "tok"),
            headers={"Content-Type": "application/json", "User-Agent": "callspec/test"},
        )
        assert answer.status_code == 201
    ours, theirs = seen
    assert ours == theirs
    assert ours.endswith(b"\r\n\r\n" + BODY)


def test_a_cookie_the_api_sets_goes_back_with_the_next_request() -> None:
    def sticky(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        cookie = b"Set-Cookie: AWSALB=sticky; Path=/\r\n"
        conn.sendall(OK.replace(b"\r\n\r\n", b"\r\n" + cookie + b"\r\n", 1))

    with raw_server(sticky) as (url, seen):
        client = Client({})
        assert _post(client, url) == 201
        assert _post(client, url) == 201
    first, second = seen
    assert b"Cookie:" not in first
    assert b"\r\nCookie: AWSALB=sticky\r\n" in second


def test_an_answer_whose_head_trickles_is_no_answer_and_may_have_been_received() -> None:
    def trickle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 201 Created\r\n")
        n = 0
        while not stop.wait(0.05) and n < 90:  # http.client allows 100 headers
            conn.sendall(b"X-Slow-%d: 1\r\n" % n)
            n += 1
        stop.wait()

    with raw_server(trickle) as (url, _):
        reply = exchange(Client({}), "POST", f"{url}/v1/Call/", timeouts=(0.2, 0.2), body=BODY)
    assert reply.status is None
    assert reply.reason is not None
    assert (reply.reason.kind, reply.reason.maybe_sent) == ("deadline", True)
    assert reply.reason.words == "the answer did not complete within 0.4 s"


def test_a_refused_connection_surely_sent_nothing() -> None:
    with socket.socket() as held:  # bound, never listening: refused
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        reply = exchange(Client({}), "POST", f"{url}/v1/Call/", timeouts=(2, 2), body=BODY)
    assert reply.reason == Reason("connect", "connection refused", maybe_sent=False)
