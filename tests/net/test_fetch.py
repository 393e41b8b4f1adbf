"""Requesting a URL as Plivo would (callspec.net.fetch), for check and the sandbox alike:
redirects followed and named, loops found, Plivo's signature on every hop, the same words
for a server that never answers."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from support import answering, invoke, raw_server

from callspec.net.fetch import fetch, redirect_target
from callspec.net.signature import V3, V3_NONCE, verify_v3
from callspec.sandbox.callbacks import fetch as callback_fetch
from callspec.sandbox.outcomes import SimulationConfig

XML = b'<Response><Speak voice="WOMAN">The deploy failed.</Speak></Response>'


def test_a_redirect_to_a_location_that_is_not_a_url_is_named() -> None:
    assert redirect_target("http://h/a?q=1", "/b?q=1") == "http://h/b?q=1"
    for broken in ("http://[::1/x", "http://h:port/", "ftp://h/x", "mailto:a@b"):
        assert redirect_target("http://h/a", broken) is None, broken


def _loop(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
    where = "/pong" if urlsplit(handler.path).path == "/ping" else "/ping"
    return 302, {"Location": where}, b""


def test_a_redirect_loop_is_named_for_the_sandboxs_callbacks_too() -> None:
    with answering(_loop) as (url, log):
        got = callback_fetch(
            f"{url}/ping", "POST", {"Event": "StartApp"}, "tok", SimulationConfig()
        )
    assert got.error == f"HTTP redirect loop: {url}/ping -> {url}/pong -> {url}/ping"
    assert len(log) == 2


def test_each_hop_is_signed_for_the_url_it_requests() -> None:
    seen: list[tuple[str, str, str, dict[str, str]]] = []

    def respond(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        url = f"http://{handler.headers['Host']}{handler.path}"
        params = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        seen.append((url, handler.headers[V3_NONCE], handler.headers[V3], params))
        if urlsplit(handler.path).path == "/moved":
            return 301, {"Location": "/answer.xml"}, b""
        return 200, {"Content-Type": "text/xml"}, XML

    with answering(respond) as (url, _):
        got = fetch(
            f"{url}/moved#ct=2000",
            "POST",
            {"Event": "StartApp", "CallUUID": "u-1"},
            environ={},
            timeout=2,
            max_bytes=1 << 20,
            max_redirects=3,
            headers={},
            sign_with="tok",
        )
    assert (got.status, got.body, got.hops, got.final_method) == (
        200,
        XML,
        (f"{url}/answer.xml",),
        "GET",
    )
    (first, nonce1, sig1, _), (second, nonce2, sig2, params2) = seen
    assert first == f"{url}/moved"
    assert verify_v3(first, "POST", {"Event": "StartApp", "CallUUID": "u-1"}, nonce1, sig1, "tok")
    assert verify_v3(second.split("?")[0], "GET", params2, nonce2, sig2, "tok")


def _silent(conn: socket.socket, request: bytes, stop: threading.Event) -> bool:
    """Reads the request, never answers (until the test ends)."""
    stop.wait(10)
    return False


def test_check_and_the_sandboxs_callbacks_say_the_same_words_for_a_timeout(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "calls.yaml"
    with raw_server(_silent) as (url, _):
        spec.write_text(
            "version: 1\ncalls:\n  - name: c\n    from: '+14152224444'\n"
            f"    to: '+14155550101'\n    answer_url: {url}/a.xml\n"
        )
        checked = invoke(["check", spec, "--check-timeout", "0.4"])
        config = SimulationConfig(connect_timeout_s=0.2, read_timeout_s=0.2)  # 0.4 s in all
        called = callback_fetch(f"{url}/a.xml", "POST", {"Event": "StartApp"}, "tok", config)
    assert f"answer_url POST {url}/a.xml: {called.error}\n" in checked.stderr, checked.stderr
