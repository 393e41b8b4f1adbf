"""Hostile input and broken surroundings, each pinned: no traceback, the right exit, no leak
(bad tokens and URLs, pipes read as specs, secrets in every spelling, journals cut, deleted
or in use, unwritable outputs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jinja2
import pytest
import yaml
from support import (
    cred_env,
    invoke,
    read_report,
    run_args,
    sandbox,
    spawned,
    wait_for_calls,
    write_profiles,
    write_spec,
)

from callspec.delivery.entries import read_journal
from callspec.delivery.journal import Journal
from callspec.errors import ExitCode
from callspec.redact import Redactor


def test_a_token_basic_auth_cannot_carry_is_refused_before_sending(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with sandbox() as sb:
        result = invoke(
            run_args(tmp_path, sb.url, "--report", str(tmp_path / "r.json")),
            cred_env(PLIVO_AUTH_TOKEN="tok€n"),
        )
        assert sb.calls == []
    assert result.exit_code == ExitCode.REFUSED
    assert "Latin-1" in result.stderr and "tok€n" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url",
    ["127.0.0.1:9", "ftp://x.example.com", "http://h:1:99", "http://[bad", "http://h/\x1b[2J"],
)
def test_a_bad_api_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    result = invoke(["run", str(tmp_path / "calls.yaml"), "--api-url", url], cred_env())
    assert result.exit_code == ExitCode.USAGE
    assert "--api-url" in result.stderr and "http(s) base URL" in result.stderr


def test_a_profiles_api_url_with_control_characters_is_refused_where_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "profiles.yaml").write_text(
        'version: 1\nprofiles:\n  default:\n    api_url: "http://127.0.0.1:9/\\e[2J"\n'
    )
    write_spec(tmp_path, 1)
    result = invoke(["validate", str(tmp_path / "calls.yaml")])
    assert result.exit_code == ExitCode.INVALID
    assert (
        f"{tmp_path}/profiles.yaml:4:14: profiles.default.api_url: 'http://127.0.0.1:9/\\x1b[2J' "
        "must be an http(s) base URL: it holds a control character (U+001B) at character 20"
    ) in result.stderr.splitlines()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_pipes_and_devices_are_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    for name in ("fifo.yaml", "zero.yaml"):
        result = invoke(["validate", str(tmp_path / name)])
        assert result.exit_code == ExitCode.INVALID
        assert "not a regular file" in result.stderr


def test_undefined_alias_and_reserved_variable_names(tmp_path: Path) -> None:
    (tmp_path / "alias.yaml").write_text("version: 1\ncalls:\n  - name: c\n    to: *nope\n")
    result = invoke(["validate", str(tmp_path / "alias.yaml")])
    assert result.exit_code == ExitCode.INVALID
    assert "alias.yaml:4:9: calls[0].to: undefined alias *nope" in result.stderr
    spec = {"version": 1, "vars": {"env": "x"}, "calls": [{"name": "c"}]}
    (tmp_path / "reserved.yaml").write_text(yaml.safe_dump(spec))
    result = invoke(["validate", str(tmp_path / "reserved.yaml")])
    assert result.exit_code == ExitCode.INVALID
    assert "vars.env: 'env' is reserved" in result.stderr


@pytest.mark.parametrize("secret", ["86\\75309", "Tok'en\"12", 'h&k<"s\\ecr é'])
def test_secrets_are_masked_in_every_spelling_of_an_error(tmp_path: Path, secret: str) -> None:
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": secret})
    spec = {
        "version": 1,
        "vars": {"derived": "{{ {}[pin] }}"},
        "calls": [
            {
                "name": "c",
                "from": "+14152224444",
                "to": "+14152223333",
                "answer_url": "https://a.example.com/x",
                "send_digits": "{{ pin }}",
                "caller_name": "a long caller name that is cut in messages {{ pin }}",
            }
        ],
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    result = invoke(["validate", str(tmp_path / "s.yaml")])
    assert result.exit_code == ExitCode.INVALID
    assert "***" in result.stderr
    for spelling in (secret, repr(secret)[1:-1], secret[:4]):
        assert spelling not in result.stderr


def test_a_url_encoded_secret_is_masked_in_render_and_reports(tmp_path: Path) -> None:
    secret = 'h&k<"s\\ecr'
    write_profiles(tmp_path, secrets=["hook"], vars={"hook": secret})
    write_spec(tmp_path, 1, ring_url="https://a.example.com/x?h={{ hook | urlencode }}")
    result = invoke(["render", str(tmp_path / "calls.yaml"), "-f", "json"])
    assert result.exit_code == 0 and "***" in result.stdout
    with sandbox() as sb:
        report = tmp_path / "r.json"
        result = invoke(
            run_args(tmp_path, sb.url, "--report", str(report)),
            cred_env(),
        )
        assert result.exit_code == 0
        assert sb.calls[0]["body"]["ring_url"].endswith("h%26k%3C%22s%5Cecr")  # sent as is
    written = report.read_text() + (tmp_path / "r.journal.jsonl").read_text()
    assert "h%26k%3C%22s%5Cecr" not in written and "***" in written


@pytest.mark.parametrize(
    "chain",
    ["reverse | urlencode", "upper | urlencode", "lower | e | urlencode", "pprint | urlencode"],
)
def test_a_secret_through_chained_filters_is_masked_in_every_output(
    tmp_path: Path, chain: str
) -> None:
    """A declared secret reversed, upper-cased or escaped before it is URL-encoded."""
    secret = "p@ss w0rd!"
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": secret})
    write_spec(tmp_path, 1, ring_url=f"https://a.example.com/x?q={{{{ pin | {chain} }}}}")
    spec = str(tmp_path / "calls.yaml")
    spelled = jinja2.Environment().from_string(f"{{{{ v | {chain} }}}}").render(v=secret)
    outputs = {
        "render": invoke(["render", spec, "-f", "json"]).stdout,
        "explain": invoke(["explain", spec]).stdout,
    }
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    with sandbox() as sb:
        result = invoke(run_args(tmp_path, sb.url, "--report", report, "--html", page), cred_env())
        assert result.exit_code == 0, result.output
        assert sb.calls[0]["body"]["ring_url"].endswith(f"q={spelled}")  # sent as is
    outputs["run"] = result.output
    for path in (report, tmp_path / "r.journal.jsonl", page):
        outputs[path.name] = path.read_text(encoding="utf-8")
    # What the chain wraps around a value no filter changes: pprint's quotes, kept.
    before, after = (
        jinja2.Environment().from_string(f"{{{{ v | {chain} }}}}").render(v="0").split("0")
    )
    inner = spelled[len(before) : len(spelled) - len(after)]
    shown = {name for name, text in outputs.items() if inner in text}
    assert shown == set(), f"{spelled} shown in {shown}"
    assert f"q={before}***{after}" in outputs["r.json"]


@pytest.mark.parametrize("escape", ["e", "forceescape", "tojson"])
def test_a_secret_escaped_by_jinja_is_masked_in_render_the_journal_and_the_page(
    tmp_path: Path, escape: str
) -> None:
    """A declared secret holding quotes, an ampersand and angle brackets, through one of
    Jinja's own escapes (``&#34;``/``&#39;``/``&amp;``; ``\\u0022``/``\\u0026``/``\\u0027``)."""
    secret = "k\"7&q'z<9>"
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": secret})
    write_spec(tmp_path, 1, caller_name=f"{{{{ pin | {escape} }}}}")
    spelled = jinja2.Environment().from_string(f"{{{{ v | {escape} }}}}").render(v=secret)
    assert spelled != secret  # the escape changed it: this is a spelling of its own
    outputs = {"render": invoke(["render", str(tmp_path / "calls.yaml"), "-f", "json"]).stdout}
    assert "***" in outputs["render"]
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    with sandbox() as sb:
        result = invoke(run_args(tmp_path, sb.url, "--report", report, "--html", page), cred_env())
        assert result.exit_code == 0, result.output
        assert sb.calls[0]["body"]["caller_name"] == spelled  # sent as rendered
    outputs["run"] = result.output
    for path in (report, tmp_path / "r.journal.jsonl", page):
        outputs[path.name] = path.read_text(encoding="utf-8")
    # Any 6 characters of the escaped secret, in any output, would disclose part of it.
    windows = {spelled[i : i + 6] for i in range(len(spelled) - 5)}
    shown = {name: w for name, text in outputs.items() for w in windows if w in text}
    assert shown == {}, f"{spelled} shown: {shown}"


def test_spellings_cover_escapes() -> None:
    mask = Redactor(["a'b\"c\\d"])
    for text in ("a'b\"c\\d", "a\\'b\"c\\\\d", "a'b\\\"c\\\\d", "a%27b%22c%5Cd"):
        assert mask.text(f"<{text}>") == "<***>"


def test_missing_credentials_are_reported_once_not_per_call(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 30)
    result = invoke(
        ["run", str(tmp_path / "calls.yaml"), "--api-url", "http://127.0.0.1:9"],
        {"PLIVO_AUTH_ID": None, "PLIVO_AUTH_TOKEN": None},
    )
    assert result.exit_code == ExitCode.REFUSED
    assert result.stderr.count("missing credentials") == 1
    assert "(+27 more)" in result.stderr


def test_resumed_unknown_calls_show_their_reason_in_the_summary(tmp_path: Path) -> None:
    from callspec.sandbox.faults import Fault

    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    journal = tmp_path / "j.jsonl"
    with sandbox(faults=(Fault(500, 1.0),)) as sb:
        invoke(
            run_args(
                tmp_path, sb.url, "--journal", str(journal), "--report", str(tmp_path / "a.json")
            ),
            cred_env(),
        )
        result = invoke(
            run_args(
                tmp_path, sb.url, "--resume", str(journal), "--report", str(tmp_path / "b.json")
            ),
            cred_env(),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    assert "--retry-unknown" in result.stdout and "no error text" not in result.stdout
    assert read_report(tmp_path / "b.json")["summary"]["unknown"] == 1


def test_curl_for_a_call_with_a_secret_splices_it_from_the_shell(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from support import AUTH_ID, TOKEN

    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("needs curl and bash")
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": "{{ env.MY_PIN }}"})
    write_spec(tmp_path, 1, send_digits="{{ pin }}")
    with sandbox() as sb:
        result = invoke(
            ["render", str(tmp_path / "calls.yaml"), "-f", "curl", "--api-url", sb.url],
            {"MY_PIN": "8642", "PLIVO_AUTH_ID": AUTH_ID},
        )
        assert result.exit_code == 0, result.stderr
        assert "8642" not in result.stdout and "${pin}" in result.stdout
        env = {"PATH": os.environ["PATH"], "pin": "8642", "PLIVO_AUTH_TOKEN": TOKEN}
        env["PLIVO_AUTH_ID"] = AUTH_ID  # no auth in the profile: curl reads $PLIVO_AUTH_ID
        done = subprocess.run(
            ["bash", "-c", result.stdout.rstrip() + " -s -o /dev/null -w '%{http_code}'"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert done.stdout == "201", done.stderr
        assert sb.calls[0]["body"]["send_digits"] == "8642"


# --- delivery safety: journals, resumes, progress ----------------------------------------


def test_the_same_spec_named_twice_is_read_once(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    spec = write_spec(tmp_path, 2)
    (tmp_path / "link.yaml").symlink_to(spec)
    with sandbox() as sb:
        args = [
            "run",
            str(spec),
            str(tmp_path / "." / "calls.yaml"),
            str(tmp_path),
            "--api-url",
            sb.url,
            "--rate",
            "200",
            "--report",
            str(tmp_path / "r.json"),
        ]
        result = invoke(args, cred_env())
        assert result.exit_code == ExitCode.OK, result.stderr
        assert len(sb.calls) == 2


def test_a_resume_into_a_new_journal_keeps_fired_calls_fired(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    with sandbox() as sb:
        base = run_args(tmp_path, sb.url)
        invoke([*base, "--journal", str(first), "--report", str(tmp_path / "a.json")], cred_env())
        invoke(
            [
                *base,
                "--resume",
                str(first),
                "--journal",
                str(second),
                "--report",
                str(tmp_path / "b.json"),
            ],
            cred_env(),
        )
        result = invoke(
            [*base, "--resume", str(second), "--report", str(tmp_path / "c.json")], cred_env()
        )
        assert result.exit_code == ExitCode.OK
        assert len(sb.calls) == 3
    assert read_report(tmp_path / "c.json")["summary"]["skipped"] == 3


def test_a_journal_in_use_by_another_run_is_refused(tmp_path: Path) -> None:
    import fcntl

    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    journal = tmp_path / "j.jsonl"
    journal.write_text("")
    with journal.open("a") as held, sandbox() as sb:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a run in another process would
        for option in ("--journal", "--resume"):
            result = invoke(
                run_args(
                    tmp_path, sb.url, option, str(journal), "--report", str(tmp_path / "r.json")
                ),
                cred_env(),
            )
            assert result.exit_code == ExitCode.REFUSED, result.stderr
            assert "in use by another callspec run" in result.stderr
        assert sb.calls == []


def test_a_cut_last_line_is_dropped_so_later_resumes_work(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    journal = tmp_path / "j.jsonl"
    with sandbox() as sb:
        base = run_args(tmp_path, sb.url)
        invoke([*base, "--journal", str(journal), "--report", str(tmp_path / "a.json")], cred_env())
        with journal.open("a") as f:
            f.write('{"event":"started","key":"cut sho')  # a crash mid-line
        for name in ("b", "c"):
            result = invoke(
                [*base, "--resume", str(journal), "--report", str(tmp_path / f"{name}.json")],
                cred_env(),
            )
            assert result.exit_code == ExitCode.OK, result.stderr
        assert len(sb.calls) == 2
    assert "cut sho" not in journal.read_text()


def test_a_cut_line_longer_than_64k_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    good = {
        "event": "finished",
        "time": "t",
        "run_id": "r",
        "key": "k1",
        "spec_file": "a.yaml",
        "name": "a",
        "outcome": "failed",
        "state": "failed",
    }
    to = "<".join(
        f"sip:desk-phone-of-engineer-{i:04d}-on-call@phone.plivo.com" for i in range(1300)
    )
    big = {
        "event": "started",
        "time": "t",
        "run_id": "r",
        "key": "k2",
        "spec_file": "a.yaml",
        "name": "b",
        "body": {"to": to},
    }
    line = json.dumps(big)
    assert len(line) > 1 << 16
    path.write_text(json.dumps(good) + "\n" + line[:-50])  # a crash cut it short
    journal = Journal(path, "run2", Redactor())
    journal._write({**good, "key": "k3", "run_id": "run2"}, sync=False)
    journal.close()
    assert set(read_journal(path)) == {"k1", "k3"}


def test_a_journal_deleted_mid_run_stops_the_sending(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)
    journal = tmp_path / "j.jsonl"
    with sandbox() as sb:
        args = run_args(tmp_path, sb.url, "--journal", str(journal), "--no-progress")
        args[args.index("--rate") + 1] = "4"
        with spawned([*args, "--concurrency", "1"], cred_env(), tmp_path) as run:
            wait_for_calls(sb, 2)
            journal.unlink()
            run.proc.wait(timeout=30)
        placed = len(sb.calls)
    # The next line it would journal finds the file gone: no call goes out unrecorded.
    assert run.proc.returncode == ExitCode.CALL_FAILED, run.err
    assert any(f"ENOENT: {journal} is gone" in line for line in run.err), run.err
    assert placed < 6
    assert not journal.exists()


def test_a_failing_progress_callback_loses_no_call(tmp_path: Path) -> None:
    from callspec.delivery.options import RunOptions
    from callspec.delivery.runner import run_plan
    from callspec.spec.plan import PlanOptions, build_plan

    write_profiles(tmp_path)
    write_spec(tmp_path, 5)
    plan = build_plan([tmp_path / "calls.yaml"], PlanOptions(), {})

    def broken(_: object) -> None:
        raise BrokenPipeError("stderr went away")

    with sandbox() as sb:
        options = RunOptions(api_url=sb.url, rate=200, concurrency=1, journal=tmp_path / "j.jsonl")
        result = run_plan(plan, options, cred_env(), on_result=broken)
        assert len(sb.calls) == 5
    assert [c.outcome for c in result.calls] == ["fired"] * 5
    assert result.exit_code() == ExitCode.OK


def test_a_trickling_answer_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(0.3)
            try:  # read the whole request (headers and body come in two writes)
                while conn.recv(65536):
                    pass
            except TimeoutError:
                pass
            conn.settimeout(None)
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(100):  # a byte every 0.1 s, for at most 10 s
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    started = time.monotonic()
    result = invoke(
        run_args(
            tmp_path,
            f"http://127.0.0.1:{port}",
            "--timeout",
            "0.5",
            "--report",
            str(tmp_path / "r.json"),
        ),
        cred_env(),
    )
    elapsed = time.monotonic() - started
    stop.set()
    server.close()
    thread.join(5)
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "unknown" and "did not complete within" in call["error"]
    assert elapsed < 8  # not the 10 s the server would trickle for


def test_an_unwritable_report_is_refused_before_sending(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    (tmp_path / "notadir").write_text("a file")
    with sandbox() as sb:
        for option in ("--report", "--junit"):
            result = invoke(
                run_args(tmp_path, sb.url, option, str(tmp_path / "notadir" / "out.json")),
                cred_env(),
            )
            assert result.exit_code == ExitCode.USAGE, result.stderr
            assert "cannot write" in result.stderr
        assert sb.calls == []


# --- what the docs promise -----------------------------------------------------------------


def test_urlencoded_secret_with_a_slash_is_masked() -> None:
    from jinja2 import Environment

    secret = "s3cr&t/x"
    encoded = Environment().from_string("{{ s | urlencode }}").render(s=secret)
    assert Redactor([secret]).text(f"t={encoded}") == "t=***"


def test_a_defect_in_one_call_leaves_the_others_checked(tmp_path: Path) -> None:
    (tmp_path / "multi.yaml").write_text(
        "version: 1\ncalls:\n"
        "  - name: a\n    tags: sev1\n"
        "  - name: b\n    from: '+14152224444'\n    to: '+14152223333'\n"
        "    answer_url: https://a.example.com/x\n    time_limit: five minutes\n"
        "  - 5\n"
    )
    result = invoke(["validate", str(tmp_path / "multi.yaml")])
    assert result.exit_code == ExitCode.INVALID
    for expected in (
        "calls[0].tags: expected a list",
        "calls[1].time_limit: expected an integer",
        "calls[2]: expected a mapping",
    ):
        assert expected in result.stderr


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_an_output_path_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with sandbox() as sb:
        for option in ("--report", "--junit"):
            result = invoke(
                run_args(
                    tmp_path, sb.url, "--report", str(tmp_path / "r.json"), option, "/proc/x.json"
                ),
                cred_env(),
            )
            assert result.exit_code == ExitCode.USAGE, result.stderr
        assert sb.calls == []


def test_injected_not_found_has_no_retry_after(tmp_path: Path) -> None:
    import requests
    from support import AUTH_ID, TOKEN

    from callspec.sandbox.faults import Fault

    with sandbox(faults=(Fault(404, 1.0),), retry_after=1.0) as sb:
        answer = requests.post(
            f"{sb.url}/v1/Account/{AUTH_ID}/Call/",
            auth=(AUTH_ID, TOKEN),
            json={
                "from": "+14152224444",
                "to": "+14152223333",
                "answer_url": "https://a.example.com/x",
            },
            timeout=5,
        )
        assert answer.status_code == 404 and "Retry-After" not in answer.headers
        assert sb.calls[0]["placed"] is False


def test_report_options_say_what_was_selected(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    with sandbox() as sb:
        result = invoke(
            run_args(
                tmp_path,
                sb.url,
                "--only",
                "call-001",
                "--var",
                "pin=1234",
                "--report",
                str(tmp_path / "r.json"),
            ),
            cred_env(),
        )
        assert result.exit_code == ExitCode.OK
    options = read_report(tmp_path / "r.json")["options"]
    assert options["only"] == ["call-001"] and options["tags"] == []
    assert options["vars"] == ["pin"] and "1234" not in json.dumps(options)
