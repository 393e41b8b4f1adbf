"""A request prepared once per client and endpoint, and copied per request, is the
request requests would prepare (issue 9's send-path shortcut, callspec.net.exchange)."""

from __future__ import annotations

import requests

from callspec.delivery.request import Request
from callspec.net import exchange
from callspec.net.session import Client

URL = "http://127.0.0.1:9/v1/Account/MA/Call/"


def _fast(client: Client, request: Request, auth: tuple[str, str]) -> requests.PreparedRequest:
    body = request.body_bytes()
    return exchange._prepare(client, "POST", request.url, auth, request.headers, body)[0]


def _plain(client: Client, request: Request, auth: tuple[str, str]) -> requests.PreparedRequest:
    plain = requests.Request(
        "POST", request.url, data=request.body_bytes(), headers=request.headers, auth=auth
    )
    return client.session.prepare_request(plain)


def test_a_copied_request_is_the_request_requests_would_prepare() -> None:
    client = Client({})
    auth = ("MA", "tok\u00e9n")
    bodies = [{"to": "+14155550001", "from": "+1"}, {"to": "+1", "caller_name": "\u00e9\u6f22"}]
    for body in bodies * 2:  # the second round comes from the template
        request = Request(URL, "MA", body)
        fast, plain = _fast(client, request, auth), _plain(client, request, auth)
        assert (fast.method, fast.url, fast.body) == (plain.method, plain.url, plain.body)
        assert list(fast.headers.items()) == list(plain.headers.items())
        assert fast.headers["Content-Length"] == str(len(request.body_bytes()))
    other = ("MB", "other")
    request = Request(URL.replace("MA", "MB"), "MB", bodies[0])
    fast = _fast(client, request, other)
    assert fast.headers["Authorization"] == _plain(client, request, other).headers["Authorization"]
    assert fast.url is not None and fast.url.endswith("/MB/Call/")


def test_cookies_a_server_set_go_out_as_requests_would_send_them() -> None:
    client = Client({})
    request = Request(URL, "MA", {"to": "+1"})
    _fast(client, request, ("MA", "tok"))  # the template exists, without a cookie
    client.session.cookies.set("AWSALB", "sticky", domain="127.0.0.1", path="/")
    prepared = _fast(client, request, ("MA", "tok"))
    assert prepared.headers.get("Cookie") == "AWSALB=sticky"


def test_a_body_less_request_to_many_urls_keeps_few_templates() -> None:
    client = Client({})
    for i in range(100):  # --wait reads: one URL per call
        exchange._prepare(client, "GET", f"{URL}{i:04d}/", ("MA", "tok"), {}, None)
    assert len(client.prepared) <= exchange.MAX_TEMPLATES
