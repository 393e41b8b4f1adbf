"""The per-call shortcuts of the send path send what the plain path would (issue 9).

A request is prepared once per session and endpoint and copied per call; the
run's token is spelled out once; credentials and targets are one object per
account.  Each is checked against the plain path, over the wire where it sends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests

from callspec.delivery import http
from callspec.delivery.credentials import Credentials
from callspec.delivery.http import Timeouts, new_session, send_once
from callspec.delivery.request import Request
from callspec.delivery.runner import Runner, RunOptions
from callspec.redact import MASK, Redactor
from callspec.spec.plan import PlanOptions, build_plan
from tests.support import AUTH_ID, TOKEN, sandbox, write_spec

URL = "http://127.0.0.1:9/v1/Account/MA/Call/"


def _plain(
    session: requests.Session, request: Request, creds: Credentials
) -> requests.PreparedRequest:
    return session.prepare_request(http._plain_request(request, creds, request.body_bytes()))


def test_a_copied_request_is_the_request_requests_would_prepare() -> None:
    session = new_session({})
    creds = Credentials("MA", "tok\u00e9n")
    bodies = [{"to": "+14155550001", "from": "+1"}, {"to": "+1", "caller_name": "\u00e9\u6f22"}]
    for body in bodies * 2:  # the second round comes from the template
        request = Request(URL, "MA", body)
        fast, plain = http._prepare(session, request, creds), _plain(session, request, creds)
        assert (fast.method, fast.url, fast.body) == (plain.method, plain.url, plain.body)
        assert list(fast.headers.items()) == list(plain.headers.items())
        assert fast.headers["Content-Length"] == str(len(request.body_bytes()))
    other = Credentials("MB", "other")
    request = Request(URL.replace("MA", "MB"), "MB", bodies[0])
    fast = http._prepare(session, request, other)
    assert fast.headers["Authorization"] == _plain(session, request, other).headers["Authorization"]
    assert fast.url.endswith("/MB/Call/")


def test_cookies_a_server_set_go_out_as_requests_would_send_them() -> None:
    session = new_session({})
    creds = Credentials("MA", "tok")
    request = Request(URL, "MA", {"to": "+1"})
    http._prepare(session, request, creds)  # the template exists, without a cookie
    session.cookies.set("AWSALB", "sticky", domain="127.0.0.1", path="/")
    prepared = http._prepare(session, request, creds)
    assert prepared.headers.get("Cookie") == "AWSALB=sticky"


def test_every_call_of_a_session_arrives_with_its_own_body() -> None:
    box = sandbox()
    try:
        session = new_session({})
        creds = Credentials(AUTH_ID, TOKEN)
        sent = [
            {
                "from": "+14152224444",
                "to": f"+1415555{i:04d}",
                "answer_url": f"https://h.example.com/a?call={i}",
            }
            for i in range(5)
        ]
        url = f"{box.url}/v1/Account/{AUTH_ID}/Call/"
        verdicts = [
            send_once(session, Request(url, AUTH_ID, body), creds, Timeouts()).verdict
            for body in sent
        ]
        session.close()
        assert verdicts == ["fired"] * 5
        assert [record["body"] for record in box.calls] == sent
    finally:
        box.stop()


def test_a_secret_added_again_and_again_is_spelled_out_once_and_still_masked() -> None:
    redactor = Redactor()
    redactor.add(["s3cr3t/token"] * 1000)
    once = list(redactor._secrets)
    redactor.add(["s3cr3t/token"])
    assert redactor._secrets == once
    assert redactor.text("a s3cr3t%2Ftoken b s3cr3t/token") == f"a {MASK} b {MASK}"
    redactor.add(["later-one"])
    assert redactor.text("later-one s3cr3t/token") == f"{MASK} {MASK}"


def test_a_run_holds_one_credentials_and_one_target_object_per_account(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, 6)
    plan = build_plan([spec], PlanOptions(), {})
    env = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    options = RunOptions(api_url="http://127.0.0.1:9", journal=tmp_path / "j.jsonl")
    runner = Runner(plan, options, env, Redactor())
    try:
        assert len(runner.creds) == len(runner.targets) == 6
        assert len({id(c) for c in runner.creds}) == 1
        assert len({id(t) for t in runner.targets}) == 1
        assert runner.creds[0] == Credentials(AUTH_ID, TOKEN)
        assert runner.redactor.text(TOKEN) == MASK
    finally:
        runner.close()
    assert json.loads(json.dumps(runner.targets[0].as_json()))["auth_id"] == AUTH_ID
    assert os.path.exists(tmp_path / "j.jsonl")
