"""Proxies from the environment passed in, with curl's and requests' ``no_proxy`` rules.

The rule is checked as a function first (hosts, domains, ports, ``*``, CIDR ranges),
then over the wire: a small HTTP server on 127.0.0.1 plays the proxy (it answers a
request for any absolute URL itself, so a host that resolves nowhere proves the proxy
was used), for ``callspec check`` and for a send.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml
from support import (
    AUTH_ID,
    answering,
    cred_env,
    free_port,
    invoke,
    read_report,
    run_args,
    sandbox,
    write_profiles,
    write_spec,
)

from callspec.errors import ExitCode
from callspec.net.session import bypasses_proxy, proxies_for

XML = b'<Response><Speak voice="WOMAN">Proxied.</Speak></Response>'


def test_the_proxy_is_picked_by_scheme_and_no_proxy_names_hosts_domains_and_ports() -> None:
    env = {
        "https_proxy": "http://p:3128",
        "HTTP_PROXY": "http://q:8080",
        "no_proxy": ".internal,localhost:9000",
    }
    assert proxies_for("https://api.plivo.com/v1/", env) == {"https": "http://p:3128"}
    assert proxies_for("http://api.plivo.com/", env) == {"http": "http://q:8080"}
    assert proxies_for("https://api.internal/", env) == {}
    assert proxies_for("https://internal/", env) == {}
    assert proxies_for("http://localhost:9000/", env) == {}
    assert proxies_for("http://localhost:9001/", env) == {"http": "http://q:8080"}
    assert proxies_for("https://x.example/", {"ALL_PROXY": "socks5://s:1080"}) == {
        "https": "socks5://s:1080"
    }
    assert proxies_for("https://x.example/", {"https_proxy": "http://p", "NO_PROXY": "*"}) == {}
    assert proxies_for("https://x.example/", {}) == {}


def test_no_proxy_cidr_ranges_and_addresses_go_direct() -> None:
    ranges = "10.0.0.0/8, 192.168.1.0/24,172.16.0.7"
    assert bypasses_proxy("http://10.20.30.40:8080/a", ranges)
    assert bypasses_proxy("https://192.168.1.200/a", ranges)
    assert bypasses_proxy("http://172.16.0.7/a", ranges)
    assert not bypasses_proxy("http://192.168.2.1/a", ranges)
    assert not bypasses_proxy("http://11.0.0.1/a", ranges)
    assert not bypasses_proxy("http://hooks.example.com/a", ranges)
    env = {"https_proxy": "http://p:3128", "no_proxy": "10.0.0.0/8"}
    assert proxies_for("https://10.1.2.3/v1/", env) == {}


def _proxy(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
    """The proxy answers for every origin: the API's 201, or Plivo XML."""
    if handler.command == "POST" and "/Call/" in handler.path:
        body = {"message": "call fired", "request_uuid": "9d6b3c4e-0000-4000-8000-000000000001"}
        return 201, {"Content-Type": "application/json"}, json.dumps(body).encode()
    return 200, {"Content-Type": "text/xml"}, XML


def _spec(folder: Path, answer_url: str) -> Path:
    path = folder / "calls.yaml"
    call = {"name": "page", "to": "+14155550100", "answer_url": answer_url}
    body = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": [call]}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_check_requests_go_through_the_environments_proxy(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "http://answers.invalid/answer.xml")
    with answering(_proxy) as (proxy, through):
        result = invoke(["check", str(spec)], {"http_proxy": proxy})
    assert result.exit_code == 0, result.output
    assert [line.split("?")[0] for line in through] == ["http://answers.invalid/answer.xml "]


def test_a_cidr_range_in_no_proxy_sends_check_requests_direct(tmp_path: Path) -> None:
    with answering(_proxy) as (proxy, through), answering(_proxy) as (origin, direct):
        spec = _spec(tmp_path, f"{origin}/answer.xml")
        env = {"http_proxy": proxy, "no_proxy": "10.0.0.0/8,127.0.0.0/8"}
        result = invoke(["check", str(spec)], env)
    assert result.exit_code == 0, result.output
    assert through == []
    assert [line.split("?")[0] for line in direct] == ["/answer.xml "]


def test_a_send_goes_through_the_proxy_unless_a_cidr_range_says_direct(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "https://hooks.example.com/answer.xml")
    box = sandbox()
    try:
        with answering(_proxy) as (proxy, through):
            args = ["run", str(spec), "--api-url", box.url, "--report"]
            env = cred_env(http_proxy=proxy, no_proxy="10.0.0.0/8")
            proxied = invoke([*args, str(tmp_path / "proxied.json")], env)
            assert proxied.exit_code == ExitCode.OK, proxied.output
            assert through == [f"{box.url}/v1/Account/{AUTH_ID}/Call/ {AUTH_ID}"]
            assert box.calls == []
            env = cred_env(http_proxy=proxy, no_proxy="127.0.0.0/8")
            direct = invoke([*args, str(tmp_path / "r.json")], env)
            assert direct.exit_code == ExitCode.OK, direct.output
            assert len(through) == 1
        assert [record["body"]["to"] for record in box.calls] == ["+14155550100"]
        assert read_report(tmp_path / "r.json")["calls"][0]["outcome"] == "fired"
    finally:
        box.stop()


def test_a_dead_https_proxy_is_not_sent_and_retried(tmp_path: Path) -> None:
    """The proxy refuses the connection: the POST surely went nowhere, so it is retried."""
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    proxy = {"HTTPS_PROXY": f"http://127.0.0.1:{free_port()}", "NO_PROXY": None}
    api = f"https://127.0.0.1:{free_port()}"
    args = run_args(tmp_path, api, "--retries", "2", "--report", str(tmp_path / "r.json"))
    result = invoke(args, {**cred_env(), **proxy})
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "failed"
    assert len(call["attempts"]) == 3
    assert not any(a["maybe_sent"] for a in call["attempts"])
