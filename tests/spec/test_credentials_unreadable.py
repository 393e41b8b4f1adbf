"""Templates cannot read callspec's own credentials: ``{{ env.PLIVO_AUTH_TOKEN }}`` (in any
spelling or filter) is a located error, so ``check`` never carries the token to a host;
only a profile's ``auth_id``/``auth_token`` read them, for a send."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import AUTH_ID, TOKEN, answering, cred_env, invoke, sandbox

from callspec.errors import ExitCode

XML = (200, {"Content-Type": "text/xml"}, b"<Response><Speak>hi</Speak></Response>")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _spec(answer_url: str, profiles: str = "") -> Path:
    if profiles:
        Path("profiles.yaml").write_text(profiles)
    path = Path("page.yaml")
    path.write_text(
        "version: 1\ncalls:\n  - name: page\n    from: '+14152224444'\n    to: '+14155550101'\n"
        f"    answer_url: {json.dumps(answer_url)}\n"
    )
    return path


@pytest.mark.parametrize(
    "read",
    [
        "env.PLIVO_AUTH_TOKEN",
        "env.PLIVO_AUTH_TOKEN | upper",
        "env.PLIVO_AUTH_TOKEN | reverse",
        "env['PLIVO_AUTH_TOKEN']",
        "env.PLIVO_AUTH_TOKEN | default('x')",
        "env.PLIVO_AUTH_ID",
    ],
)
def test_check_never_sends_the_token_to_a_host(read: str) -> None:
    with answering(lambda handler, n: XML) as (url, log):
        spec = _spec(f"{url}/answer.xml?t={{{{ {read} }}}}")
        result = invoke(["check", spec], cred_env())
        assert log == []  # the host was never asked
    assert result.exit_code == ExitCode.INVALID
    name = read.split("'")[1] if "[" in read else read.split(".")[1].split(" ")[0]
    assert result.stderr.splitlines()[0] == (
        f"page.yaml:6:17: calls[0].answer_url: template error: env.{name} is callspec's own "
        "credential, which no template may read (only a profile's auth_id and auth_token, "
        "for a send): a template could carry it to another host (docs/secrets.md)"
    )
    for spelling in (TOKEN, TOKEN.upper(), TOKEN[::-1]):
        assert spelling not in result.output


def test_listing_the_environment_leaves_the_credentials_out() -> None:
    spec = _spec("https://hooks.example.com/a.xml?e={{ env | join(',') }}")
    result = invoke(["render", spec], cred_env(OTHER="visible"))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "OTHER" in result.stdout and "PLIVO_AUTH" not in result.stdout


def test_what_a_profiles_credentials_read_is_hidden_too() -> None:
    profiles = (
        "version: 1\nprofiles:\n  default:\n"
        "    auth_id: '{{ env.OPS_PLIVO_ID }}'\n    auth_token: '{{ env.OPS_PLIVO_TOKEN }}'\n"
    )
    spec = _spec("https://hooks.example.com/a.xml?t={{ env.OPS_PLIVO_TOKEN }}", profiles)
    result = invoke(["validate", spec], {"OPS_PLIVO_TOKEN": TOKEN})
    assert result.exit_code == ExitCode.INVALID
    assert "env.OPS_PLIVO_TOKEN is callspec's own credential" in result.stderr
    assert TOKEN not in result.output


def test_the_profiles_credentials_still_sign_a_send() -> None:
    profiles = (
        "version: 1\nprofiles:\n  default:\n"
        "    auth_id: '{{ env.OPS_PLIVO_ID }}'\n    auth_token: '{{ env.OPS_PLIVO_TOKEN }}'\n"
    )
    spec = _spec("https://hooks.example.com/a.xml", profiles)
    with sandbox() as box:
        env = {"OPS_PLIVO_ID": AUTH_ID, "OPS_PLIVO_TOKEN": TOKEN}
        result = invoke(["run", spec, "--api-url", box.url, "--report", "r.json"], env)
        assert result.exit_code == ExitCode.OK, result.stderr
        assert len(box.calls) == 1
