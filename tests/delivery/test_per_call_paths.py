"""The per-call shortcuts of the send path send what the plain path would (issue 9).

The run's token is spelled out once; credentials and targets are one object per
account; each call of a session arrives with its own body (the request prepared
once and copied: ``tests/net/test_prepared_requests.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from callspec.delivery.credentials import Credentials
from callspec.delivery.http import send_once
from callspec.delivery.options import RunOptions
from callspec.delivery.request import Request, Timeouts
from callspec.delivery.runner import Runner
from callspec.net.session import Client
from callspec.redact import MASK, Redactor
from callspec.spec.plan import PlanOptions, build_plan
from tests.support import AUTH_ID, TOKEN, sandbox, write_spec


def test_every_call_of_a_session_arrives_with_its_own_body() -> None:
    box = sandbox()
    try:
        session = Client({})
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
    once = set(redactor._spelled)
    assert redactor.text("a s3cr3t%2Ftoken b s3cr3t/token") == f"a {MASK} b {MASK}"
    compiled = redactor._patterns[False, False]
    redactor.add(["s3cr3t/token"])
    assert redactor._spelled == once
    assert redactor._patterns[False, False] is compiled  # not compiled again
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
