"""A profile's ``api_url`` or ``service`` that is no base URL: the message says what is
wrong with it (a template, a user and password, a query), and a secret the profiles file
declares is masked where the message quotes the value, as for a spec's values, though
the file that declares it is not valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import cred_env, invoke

from callspec.errors import ExitCode

PIN = "secretpin1234"
SPEC = (
    "version: 1\n"
    "calls:\n"
    "  - name: page\n"
    "    from: '+14152224444'\n"
    "    to: '+14155550102'\n"
    "    message: 'hi {{ pin }}'\n"
    "    ack: {digit: '1', within: 45}\n"
)


def _write(folder: Path, key: str, url: str) -> Path:
    (folder / "profiles.yaml").write_text(
        "version: 1\n"
        "profiles:\n"
        "  default:\n"
        f"    {key}: '{url}'\n"
        "    secrets: [{env: PIN, var: pin}]\n"
    )
    spec = folder / "m.yaml"
    spec.write_text(SPEC)
    return spec


@pytest.mark.parametrize("key", ["service", "api_url"])
def test_a_declared_secret_in_a_refused_url_is_masked_by_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, key, f"http://127.0.0.1:1/?t={PIN}")
    result = invoke(["validate", spec], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.INVALID
    assert PIN not in result.stdout + result.stderr
    assert (
        f"profiles.default.{key}: 'http://127.0.0.1:1/?t=***' must be an http(s) base URL "
        "without a query or fragment" in result.stdout + result.stderr
    )


def test_a_declared_secret_in_a_refused_url_stays_out_of_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, "service", f"http://127.0.0.1:1/?t={PIN}")
    result = invoke(["run", spec, "--sandbox", "--report", "r.json"], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.INVALID
    report = Path("r.json").read_text()
    assert PIN not in report + result.stdout + result.stderr
    assert "?t=***" in report


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            "http://u:pw@acks.example.com",
            "'http://***@acks.example.com' must be an http(s) base URL without a user or password",
        ),
        (
            "http://h/{{ pin }}",
            "'http://h/{{ pin }}' must be an http(s) base URL as written: "
            "a template is not rendered here",
        ),
    ],
)
def test_a_refused_service_says_what_is_wrong_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, "service", url)
    result = invoke(["validate", spec], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.INVALID
    assert words in result.stdout + result.stderr
    spec = _write(tmp_path, "service", "http://127.0.0.1:1")  # the flag's own refusal
    flag = invoke(["run", spec, "--sandbox", "--service", url], cred_env(PIN=PIN))
    assert flag.exit_code == ExitCode.USAGE
    assert f"Invalid value for --service: {words}" in flag.stderr


def test_a_refused_service_flag_does_not_repeat_its_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, "service", "http://127.0.0.1:1")
    url = f"http://127.0.0.1:1/?t={PIN}"
    result = invoke(["run", spec, "--sandbox", "--service", url], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.USAGE
    assert PIN not in result.stdout + result.stderr
    assert (
        "Invalid value for --service: 'http://127.0.0.1:1/?***' must be an http(s) base "
        "URL without a query or fragment" in result.stderr
    )


@pytest.mark.parametrize("key", ["service", "api_url"])
def test_a_port_over_65535_is_refused_in_the_profile_and_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "http://127.0.0.1:99999/"
    words = f"'{url}' must be an http(s) base URL: its port 99999 is over 65535"
    spec = _write(tmp_path, key, url)
    result = invoke(["validate", spec], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.INVALID
    assert f"profiles.default.{key}: {words}" in result.stdout + result.stderr
    spec = _write(tmp_path, key, "http://127.0.0.1:65535/")
    flag = key.replace("_", "-")
    dry = invoke(["run", spec, "--dry-run", f"--{flag}", url], cred_env(PIN=PIN))
    assert dry.exit_code == ExitCode.USAGE
    assert f"Invalid value for --{flag}: {words}" in dry.stderr


@pytest.mark.parametrize("key", ["service", "api_url"])
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://[{pin}]/", "the host '[***]' is no IPv6 address in brackets"),
        ("https://x.example.com:{pin}/", "its port '***' is not a number of up to 5 digits"),
    ],
)
def test_a_declared_secret_is_masked_in_the_words_on_a_refused_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, url: str, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, key, url.format(pin=PIN))
    result = invoke(["validate", spec], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.INVALID
    assert PIN not in result.stdout + result.stderr
    assert words in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("flag", "command"),
    [
        ("--api-url", ["run", "--dry-run"]),
        ("--service", ["run", "--dry-run"]),
        ("--api-url", ["render"]),
    ],
)
def test_a_declared_secret_in_a_refused_flag_url_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, "service", "http://127.0.0.1:1")
    result = invoke([command[0], spec, *command[1:], flag, f"https://[{PIN}]/"], cred_env(PIN=PIN))
    assert result.exit_code == ExitCode.USAGE
    assert PIN not in result.stdout + result.stderr
    assert (
        f"Invalid value for {flag}: 'https://[***]/' must be an http(s) base URL: the host "
        "'[***]' is no IPv6 address in brackets" in result.stderr
    )
