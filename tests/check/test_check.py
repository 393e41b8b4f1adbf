"""``callspec check`` and ``run --check`` against small servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from misbehaving import ODD_SECRET
from support import (
    answering,
    cred_env,
    invoke,
    raw_server,
    read_report,
    request_path,
    sandbox,
    write_profiles,
)

from callspec.check.params import PLACEHOLDER_UUID
from callspec.errors import ExitCode

XML = {"Content-Type": "text/xml"}
GOOD = b'<Response>\n  <Speak voice="WOMAN">The deploy failed.</Speak>\n</Response>'
Route = tuple[int, dict[str, str], bytes]


class Seen:
    """What the server received: (method, path, params, headers) per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.lock = threading.Lock()

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, Route | Callable[[], Route]], Seen]]:
    """A server answering each path from ``routes`` (404 otherwise), recording requests."""
    routes: dict[str, Route | Callable[[], Route]] = {}
    seen = Seen()

    def respond(handler: BaseHTTPRequestHandler, n: int) -> Route:
        split = urlsplit(handler.path)
        if handler.command == "GET":
            params = {k: v[0] for k, v in parse_qs(split.query).items()}
        else:
            params = {k: v[0] for k, v in parse_qs(handler.body.decode()).items()}  # type: ignore[attr-defined]
        with seen.lock:
            seen.requests.append((handler.command, split.path, params, dict(handler.headers)))
        route = routes.get(split.path, (404, {}, b"not found"))
        return route() if callable(route) else route

    with answering(respond) as (url, _):
        yield url, routes, seen


def spec(folder: Path, *calls: dict[str, Any]) -> Path:
    full = [{"name": f"c{i}", "to": f"+1415555{i:04d}", **call} for i, call in enumerate(calls)]
    path = folder / "calls.yaml"
    body = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": full}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_good_xml_passes_with_plivos_answer_parameters(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/answer.xml"] = (200, XML, GOOD)
    path = spec(tmp_path, {"answer_url": f"{url}/answer.xml", "answer_method": "GET"})
    result = invoke(["check", path])
    assert result.exit_code == 0, result.output
    assert "valid Plivo XML" in result.stdout
    assert result.stdout.strip().endswith("checked 1 URL: 1 ok, 0 failed")
    [(method, _, params, headers)] = seen.requests
    assert method == "GET"
    assert headers["X-Callspec-Check"] == "1"
    assert params["From"] == "+14152224444" and params["To"] == "+14155550000"
    assert params["Event"] == "StartApp" and params["CallStatus"] == "in-progress"
    assert params["CallUUID"] == params["RequestUUID"] == PLACEHOLDER_UUID
    assert params["Direction"] == "outbound"


def test_post_sends_a_form_body_and_each_url_method_pair_once(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/a"] = (200, XML, GOOD)
    a = f"{url}/a"
    path = spec(
        tmp_path,
        {"answer_url": a, "sip_headers": "team=ops"},
        {"answer_url": a},
        {"answer_url": a, "answer_method": "GET"},
        {"answer_url": a, "fallback_url": a},
    )
    result = invoke(["check", path])
    assert result.exit_code == 0, result.output
    assert sorted(m for m, _, _, _ in seen.requests) == ["GET", "POST"]
    post = next(p for m, _, p, _ in seen.requests if m == "POST")
    assert post["Event"] == "StartApp" and post["X-PH-team"] == "ops"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"<Response>\n  <Spek>hi</Spek>\n</Response>",
            ":2:3: <Spek> is not a Plivo XML element; did you mean <Speak>?",
        ),
        (
            b'<Response>\n  <Speak voise="WOMAN">hi</Speak>\n</Response>',
            ":2:3: <Speak> has no attribute 'voise'; did you mean 'voice'?",
        ),
        (
            b"<Response><Dial><Speak>hi</Speak></Dial></Response>",
            ":1:17: <Speak> cannot be inside <Dial> (<Dial> takes <User>, <Number>)",
        ),
        (b"<html><body>Oops</body>", ":1:24: not well-formed XML"),
        (b"<Response/>", ":1:1: <Response> is empty: Plivo would hang up the call at once"),
        (
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Response>&x;</Response>',
            ":1:1: a DOCTYPE (r) is not allowed",
        ),
    ],
    ids=["unknown-verb", "bad-attribute", "bad-nesting", "not-xml", "empty", "external-entity"],
)
def test_bad_xml_names_url_line_and_fault(
    server: Any, tmp_path: Path, body: bytes, message: str
) -> None:
    url, routes, _ = server
    routes["/answer.xml"] = (200, XML, body)
    path = spec(tmp_path, {"answer_url": f"{url}/answer.xml"})
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert f"calls[0].answer_url: answer_url POST {url}/answer.xml{message}" in result.stderr
    assert "FAIL" in result.stdout and "invalid Plivo XML" in result.stdout


def test_entity_bomb_is_a_located_error(server: Any, tmp_path: Path) -> None:
    from test_plivo_xml import BOMB

    url, routes, _ = server
    routes["/bomb"] = (200, XML, BOMB)
    path = spec(tmp_path, {"answer_url": f"{url}/bomb"})
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert f"answer_url POST {url}/bomb:2:1: a DOCTYPE (lolz) is not allowed" in result.stderr


@pytest.mark.parametrize(
    ("route", "verdict"),
    [
        ((500, {}, b"boom"), "HTTP 500"),
        (
            (200, XML, b"<Response>" + b"<Wait/>" * 200_000 + b"</Response>"),
            "the body is over Plivo's limit for an XML document (102,400 bytes)",
        ),
    ],
    ids=["500", "huge"],
)
def test_status_and_size(server: Any, tmp_path: Path, route: Route, verdict: str) -> None:
    url, routes, _ = server
    routes["/x"] = route
    path = spec(tmp_path, {"answer_url": f"{url}/x"})
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert f"answer_url POST {url}/x: {verdict}" in result.stderr


def test_http_redirects_are_followed_and_a_loop_is_named(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/old"] = (302, {"Location": "/new"}, b"")
    routes["/new"] = (200, XML, GOOD)
    routes["/ping"] = (302, {"Location": f"{url}/pong"}, b"")
    routes["/pong"] = (302, {"Location": "/ping"}, b"")
    path = spec(tmp_path, {"answer_url": f"{url}/old"}, {"answer_url": f"{url}/ping"})
    result = invoke(["check", path, "--format", "json"])
    assert result.exit_code == ExitCode.INVALID
    doc = json.loads(result.stdout)
    old, ping = doc["checks"]
    assert old["ok"] and old["redirects"] == [f"{url}/new"] and old["status"] == 200
    assert ping["error"] == f"HTTP redirect loop: {url}/ping -> {url}/pong -> {url}/ping"
    assert seen.paths().count("/ping") == 1
    assert doc["problems"][0]["path"] == "calls[1].answer_url"


def test_visible_redirect_loop(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/a"] = (200, XML, f"<Response><Redirect>{url}/b</Redirect></Response>".encode())
    routes["/b"] = (200, XML, f"<Response><Redirect>{url}/a</Redirect></Response>".encode())
    routes["/self"] = (200, XML, f"<Response><Redirect>{url}/self</Redirect></Response>".encode())
    path = spec(tmp_path, {"answer_url": f"{url}/a"}, {"answer_url": f"{url}/self"})
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert f"<Redirect> loop: {url}/a -> {url}/b -> {url}/a" in result.stderr
    assert f"<Redirect> points at this document's own URL: a loop ({url}/self)" in result.stderr
    assert sorted(seen.paths()) == ["/a", "/b", "/self"]


def test_redirect_targets_are_checked_too(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/a"] = (
        200,
        XML,
        f'<Response><Redirect method="GET">{url}/b</Redirect></Response>'.encode(),
    )
    routes["/b"] = (200, XML, b"<Response><Hangup reason='rejected' shedule='5'/></Response>")
    path = spec(tmp_path, {"answer_url": f"{url}/a"})
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert (
        f"<Redirect> from {url}/a GET {url}/b:1:11: <Hangup> has no attribute 'shedule'; "
        "did you mean 'schedule'?" in result.stderr
    )
    events = [(m, p, params["Event"]) for m, p, params, _ in seen.requests]
    assert events == [("POST", "/a", "StartApp"), ("GET", "/b", "Redirect")]


def test_a_malformed_location_is_a_located_check_failure(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/a"] = (302, {"Location": "http://[::1/x"}, b"")  # an unclosed IPv6 bracket
    result = invoke(["check", spec(tmp_path, {"answer_url": f"{url}/a"})])
    assert "internal error" not in result.output
    assert result.exit_code == ExitCode.INVALID
    assert "calls.yaml:" in result.stderr and f"{url}/a" in result.stderr


def test_run_check_with_a_malformed_location_exits_3(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/a"] = (302, {"Location": "http://[::1/x"}, b"")
    report = tmp_path / "r.json"
    path = spec(tmp_path, {"answer_url": f"{url}/a"})
    result = invoke(["run", path, "--sandbox", "--check", "--report", report], cred_env())
    assert "internal error" not in result.output
    assert result.exit_code == ExitCode.INVALID
    assert json.loads(report.read_text())["calls"] == []


def test_content_type_must_be_xml(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/html"] = (200, {"Content-Type": "text/html"}, GOOD)
    routes["/none"] = (200, {}, GOOD)
    routes["/charset"] = (200, {"Content-Type": "Application/XML; charset=utf-8"}, GOOD)
    path = spec(
        tmp_path,
        {"answer_url": f"{url}/html"},
        {"answer_url": f"{url}/none"},
        {"answer_url": f"{url}/charset"},
    )
    result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    wrong = "Plivo requires text/xml or application/xml"
    assert f"answer_url POST {url}/html: Content-Type text/html: {wrong}" in result.stderr
    assert f"answer_url POST {url}/none: Content-Type none: {wrong}" in result.stderr
    assert f"{url}/charset" not in result.stderr


def test_slow_server_times_out(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    release = threading.Event()

    def slow() -> Route:
        release.wait(5)
        return (200, XML, GOOD)

    routes["/slow"] = slow
    path = spec(tmp_path, {"answer_url": f"{url}/slow"})
    try:
        result = invoke(["check", path, "--check-timeout", "0.3"])
    finally:
        release.set()
    assert result.exit_code == ExitCode.INVALID
    assert f"answer_url POST {url}/slow: no answer within 0.3 s" in result.stderr


def test_unreachable_host(tmp_path: Path) -> None:
    with socket.socket() as held:  # bound, never listening: refused, and no one else's port
        held.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{held.getsockname()[1]}/answer.xml"
        path = spec(tmp_path, {"answer_url": dead})
        result = invoke(["check", path])
    assert result.exit_code == ExitCode.INVALID
    assert f"answer_url POST {dead}: unreachable: connection refused" in result.stderr


def test_a_failure_is_located_at_the_url_it_checked(server: Any, tmp_path: Path) -> None:
    """At the value of the URL's key, in the call or the spec's defaults: not the call's line."""
    url, routes, _ = server
    routes["/a"] = (500, {}, b"")
    routes["/h"] = (500, {}, b"")
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n"
        "  from: '+14152224444'\n"
        f"  hangup_url: {url}/h\n"
        "calls:\n"
        "  - name: c\n"
        "    to: '+14155550100'\n"
        f"    answer_url: {url}/a\n"
    )
    result = invoke(["check", path, "--check-callbacks"])
    assert result.exit_code == ExitCode.INVALID, result.output
    located = sorted(line.split(" ", 2)[:2] for line in result.stderr.splitlines()[:2])
    assert located == [
        [f"{path}:4:15:", "calls[0].hangup_url:"],
        [f"{path}:8:17:", "calls[0].answer_url:"],
    ]


def test_callbacks_only_when_asked(server: Any, tmp_path: Path) -> None:
    url, routes, seen = server
    routes["/a"] = (200, XML, GOOD)
    routes["/hangup"] = (200, {}, b"")
    routes["/ring"] = (204, {}, b"")
    path = spec(
        tmp_path,
        {"answer_url": f"{url}/a", "hangup_url": f"{url}/hangup", "ring_url": f"{url}/ring"},
    )
    assert invoke(["check", path]).exit_code == 0
    assert seen.paths() == ["/a"]
    result = invoke(["check", path, "--check-callbacks"])
    assert result.exit_code == 0, result.output
    events = {p: params["Event"] for _, p, params, _ in seen.requests}
    assert events == {"/a": "StartApp", "/hangup": "Hangup", "/ring": "Ring"}


def test_secrets_are_masked(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/a"] = (500, {}, b"")
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": "9137-secret"})
    path = spec(tmp_path, {"answer_url": url + "/a?pin={{ pin }}"})
    for fmt in ("text", "json", "github"):
        result = invoke(["check", path, "--format", fmt])
        assert result.exit_code == ExitCode.INVALID
        assert "9137-secret" not in result.output
        assert "pin=***" in result.output


def _echo_redirect(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """Like an http->https redirect: the same path and query string, elsewhere; then a 500."""
    path = request_path(request)
    if path.startswith("/moved"):
        conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
        return
    query = path.split("?", 1)[1] if "?" in path else ""
    conn.sendall(
        f"HTTP/1.1 302 Found\r\nLocation: /moved?{query}\r\nContent-Length: 0\r\n\r\n".encode()
    )


def test_a_secret_in_a_redirected_query_string_is_masked(tmp_path: Path) -> None:
    with raw_server(_echo_redirect) as (url, _):
        write_profiles(tmp_path, secrets=["pin"], vars={"pin": ODD_SECRET})
        path = spec(tmp_path, {"answer_url": f"{url}/a?pin={{{{ pin }}}}"})
        result = invoke(
            ["check", path, "--profiles", tmp_path / "profiles.yaml", "--format", "json"]
        )
    assert result.exit_code == ExitCode.INVALID
    document = json.loads(result.stdout)
    assert document["checks"][0]["redirects"], "the redirect was followed"
    assert "a%7Cb@c%5Ed" not in result.output
    assert "a%7Cb" not in result.output


def test_github_format(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/a"] = (200, XML, b'<Response>\n<Play loop="x">https://x.test/a.mp3</Play></Response>')
    path = spec(tmp_path, {"answer_url": f"{url}/a"})
    result = invoke(["check", path, "--format", "github"])
    assert result.exit_code == ExitCode.INVALID
    assert result.stdout.startswith(
        f"::error file={path},line=7,col=15,title=callspec%3A calls[0].answer_url::"
    )
    assert "<Play> attribute 'loop' is 'x'; it must be an integer" in result.stdout


def test_run_check_places_nothing_when_a_check_fails(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/good"] = (200, XML, GOOD)
    routes["/bad"] = (200, XML, b"<Response><Spek/></Response>")
    path = spec(tmp_path, {"answer_url": f"{url}/good"}, {"answer_url": f"{url}/bad"})
    report, junit, summary = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "summary.md"
    with sandbox() as box:
        result = invoke(
            ["run", path, "--api-url", box.url, "--check", "--report", report, "--junit", junit],
            cred_env(GITHUB_STEP_SUMMARY=str(summary)),
        )
        assert result.exit_code == ExitCode.INVALID, result.output
        assert box.calls == []
    assert "nothing was sent" in result.stderr
    doc = read_report(report)
    assert doc["exit_code"] == 3 and doc["calls"] == []
    assert [c["ok"] for c in doc["checks"]] == [True, False]
    assert doc["checks"][1]["xml_problems"][0]["message"].startswith("<Spek> is not a Plivo")
    assert 'name="callspec check"' in junit.read_text() and "<failure" in junit.read_text()
    page = summary.read_text()
    assert "checked 2 URLs: 1 ok, 1 failed" in page
    assert f"| FAIL | answer_url | POST | {url}/bad | 200 | invalid Plivo XML" in page


def test_run_check_sends_when_every_check_passes(server: Any, tmp_path: Path) -> None:
    url, routes, _ = server
    routes["/good"] = (200, XML, GOOD)
    path = spec(tmp_path, {"answer_url": f"{url}/good"})
    report = tmp_path / "r.json"
    with sandbox() as box:
        result = invoke(
            ["run", path, "--api-url", box.url, "--check", "--report", report], cred_env()
        )
        assert result.exit_code == 0, result.output
        assert len(box.calls) == 1
    assert "checked 1 URL: 1 ok, 0 failed" in result.stdout
    assert read_report(report)["checks"][0]["xml"] == "valid"


def test_run_check_interrupted_sends_nothing_and_exits_130(server: Any, tmp_path: Path) -> None:
    from callspec.check.checker import CheckOptions
    from callspec.delivery.options import RunOptions
    from callspec.execute import Outputs, RunRequest, execute
    from callspec.spec.model import PlanOptions

    url, routes, seen = server
    routes["/good"] = (200, XML, GOOD)
    path = spec(tmp_path, {"answer_url": f"{url}/good"})
    stop = threading.Event()
    stop.set()  # a Ctrl-C before the check starts
    with sandbox() as box:
        request = RunRequest(
            (path,),
            PlanOptions(),
            RunOptions(api_url=box.url),
            Outputs(report=tmp_path / "r.json", progress=False),
            check=CheckOptions(),
        )
        err = io.StringIO()
        result, _ = execute(request, cred_env(), io.StringIO(), err, stop)
        assert box.calls == []
    assert seen.requests == []
    assert result.exit_code() == ExitCode.INTERRUPTED
    assert result.checks[0].error == "not checked: interrupted"
    assert "sending" not in err.getvalue()  # nothing will be sent: not announced either


def test_github_action_check_command(server: Any, tmp_path: Path) -> None:
    from support import run_action_step

    url, routes, seen = server
    routes["/good"] = (200, XML, GOOD)
    routes["/bad"] = (200, XML, b"<Response><Speak voise='MAN'>x</Speak></Response>")
    work = tmp_path / "repo"
    work.mkdir()
    spec(work, {"answer_url": f"{url}/good"}, {"answer_url": f"{url}/bad"})
    code, outputs, stdout, _ = run_action_step(tmp_path, work, command="check", paths="calls.yaml")
    assert code == ExitCode.INVALID
    assert outputs["exit-code"] == "3" and outputs["invalid"] == "1"
    assert (
        "::error file=calls.yaml,line=10,col=15,title=callspec%3A calls[1].answer_url::" in stdout
    )
    assert sorted(seen.paths()) == ["/bad", "/good"]  # each URL once
    routes["/bad"] = routes["/good"]
    code, outputs, _, _ = run_action_step(tmp_path, work, command="check", paths="calls.yaml")
    assert (code, outputs["exit-code"], outputs["invalid"]) == (0, "0", "0")
