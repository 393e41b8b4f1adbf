"""One API exchange (callspec.net.exchange): what goes out, what comes back, and the
reason when no whole answer came, against raw servers on 127.0.0.1.

The send path's shortcuts are pinned to what plain requests does: the watched
connections send the same bytes, and a cookie the API sets is kept (the adapter's
send, with the cookie jar updated only when an answer sets one).
"""

from __future__ import annotations

import socket
import threading

import requests
from support import raw_server

from callspec.net.exchange import exchange
from callspec.net.reasons import Reason
from callspec.net.session import Client

BODY = b'{"to":"+14155550100","from":"+14152224444"}'
OK = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def _created(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
    conn.sendall(OK)
    return True


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
    def sticky(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
        cookie = b"Set-Cookie: AWSALB=sticky; Path=/\r\n"
        conn.sendall(OK.replace(b"\r\n\r\n", b"\r\n" + cookie + b"\r\n", 1))
        return True

    with raw_server(sticky) as (url, seen):
        client = Client({})
        assert _post(client, url) == 201
        assert _post(client, url) == 201
    first, second = seen
    assert b"Cookie:" not in first
    assert b"\r\nCookie: AWSALB=sticky\r\n" in second


def test_an_answer_whose_head_trickles_is_no_answer_and_may_have_been_received() -> None:
    def trickle(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
        conn.sendall(b"HTTP/1.1 201 Created\r\n")
        n = 0
        while not stop.wait(0.05) and n < 90:  # http.client allows 100 headers
            conn.sendall(b"X-Slow-%d: 1\r\n" % n)
            n += 1
        stop.wait()
        return False

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
