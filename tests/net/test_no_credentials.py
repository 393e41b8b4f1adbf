"""Requests made on a spec's behalf never carry credentials from the environment.

A ``~/.netrc`` naming the host would have requests add its ``Authorization`` to every
request there: a checked answer_url, a team's handler called by the sandbox.  The
network layer's sessions do not read it (nor the process's proxy variables: those come
from the environment passed in).  The servers record the headers they receive.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml
from support import answering, cred_env, invoke

XML = b'<Response><Speak voice="WOMAN">The deploy failed.</Speak></Response>'


def _home_with_netrc(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    return home


def _spec(folder: Path, url: str) -> Path:
    path = folder / "calls.yaml"
    call = {"name": "page", "to": "+14155550100", "answer_url": f"{url}/answer.xml"}
    call["hangup_url"] = f"{url}/hangup"
    body = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": [call]}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _recording(seen: list[dict[str, str]]) -> object:
    def respond(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        seen.append(dict(handler.headers))
        return 200, {"Content-Type": "text/xml"}, XML

    return respond


def test_check_requests_carry_no_authorization_from_netrc(tmp_path: Path) -> None:
    home = _home_with_netrc(tmp_path)
    seen: list[dict[str, str]] = []
    with answering(_recording(seen)) as (url, _):  # type: ignore[arg-type]
        result = invoke(["check", str(_spec(tmp_path, url))], {"HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    assert "Authorization" not in seen[0], seen[0]


def test_simulated_callbacks_carry_no_authorization_from_netrc(tmp_path: Path) -> None:
    home = _home_with_netrc(tmp_path)
    seen: list[dict[str, str]] = []
    with answering(_recording(seen)) as (url, _):  # type: ignore[arg-type]
        spec = _spec(tmp_path, url)
        args = ["run", str(spec), "--sandbox", "--simulate", "--simulate-duration", "0"]
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env(HOME=str(home)))
    assert result.exit_code == 0, result.output
    assert [h.get("X-Plivo-Signature-V3") is not None for h in seen] == [True, True]
    assert [h.get("Authorization") for h in seen] == [None, None]
