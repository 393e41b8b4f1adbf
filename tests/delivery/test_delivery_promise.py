"""The delivery promise at its edges: a full disk, TLS after the POST, moved checkouts,
other targets, a dead API, secrets in servers' answers, numeric options.

Every test talks to the real sandbox or a small server of its own on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from support import (
    AUTH_ID,
    JOURNAL_LIMIT,
    ROOT,
    TOKEN,
    answering,
    call_name,
    cred_env,
    free_port,
    invoke,
    journal_filler,
    placed_counts,
    read_report,
    run_args,
    sandbox,
    tls_server,
    write_profiles,
    write_spec,
)

from callspec.delivery.entries import read_journal
from callspec.errors import ExitCode
from callspec.sandbox.faults import Fault


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def resumed_exit(journal: Path) -> ExitCode:
    """The exit of a resume that sends every call the journal shows unsent: 1 when the
    journal shows a call started and never finished (placed or not, it is not sent again
    and stays unknown), else 0."""
    entries = read_journal(journal).values()
    in_doubt = any(e.state in ("started", "unknown") for e in entries if e.run_id != "filler")
    return ExitCode.CALL_FAILED if in_doubt else ExitCode.OK


def every_output(tmp_path: Path, stdout: str, stderr: str) -> str:
    """Everything a run left for a person or a machine to read."""
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    return "\n".join([stdout, stderr, *files])


# --- 1. a journal write that does not complete -------------------------------------------


def test_a_journal_line_that_cannot_be_written_whole_stops_sending_before_its_call(
    tmp_path: Path,
) -> None:
    # RLIMIT_FSIZE makes the kernel behave as a full disk does: the write that
    # crosses the limit is cut short (a short count, no error), the next raises.
    write_profiles(tmp_path)
    write_spec(tmp_path, 12)
    journal = tmp_path / "journal.jsonl"
    journal_filler(journal, room=1500)
    report = tmp_path / "report.json"
    with sandbox() as sb:
        args = run_args(
            tmp_path, sb.url, "--journal", str(journal), "--report", str(report), "--no-progress"
        )
        args[args.index("--rate") + 1] = "50"
        args += ["--concurrency", "1"]

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (JOURNAL_LIMIT, JOURNAL_LIMIT))

        done = subprocess.run(
            [sys.executable, "-m", "callspec", *args],
            env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limit,
        )
        assert done.returncode == ExitCode.CALL_FAILED, done.stderr
        assert "Traceback" not in done.stderr
        assert "could not be written (EFBIG" in done.stderr
        assert f"--resume {journal}" in done.stderr
        doc = read_report(report)
        assert doc["stopped"]["kind"] == "journal"
        assert doc["interrupted"] is False
        skipped = [c for c in doc["calls"] if c["outcome"] == "skipped"]
        assert skipped and all(
            c["reason"] == "not sent: journal write failed (EFBIG)" for c in skipped
        )
        first = placed_counts(sb.calls)
        # Never sent unless its started line was durable; none twice.
        assert set(first.values()) == {1}
        assert len(first) < 12
        raw = journal.read_bytes()
        assert raw.endswith(b"\n")  # no cut line left for the next line to land after
        assert len(raw) <= JOURNAL_LIMIT
        entries = read_journal(journal)
        for name in first:  # every placed call is in the journal: never sent again
            assert any(e.name == name and e.state != "failed" for e in entries.values())
        # Room again: the resume sends what was not sent, and nothing twice.
        expected = resumed_exit(journal)
        resumed = invoke(
            [*run_args(tmp_path, sb.url, "--resume", str(journal)), "--report", str(report)],
            cred_env(),
        )
        assert resumed.exit_code == expected, resumed.stderr
        assert placed_counts(sb.calls) == {f"call-{i:03d}": 1 for i in range(12)}


@pytest.mark.parametrize("room", [2300, 5100, 8300])
def test_a_full_disk_with_four_workers_and_uneven_lines(tmp_path: Path, room: int) -> None:
    """Lines of decreasing length: after one fails, a shorter one may still fit."""
    write_profiles(tmp_path)
    calls = [
        {
            "name": f"call-{i:03d}",
            "to": f"+1415555{i:04d}",
            "answer_url": f"https://hooks.example.com/a.xml?p={'p' * max(0, 600 - 45 * i)}"
            f"&call=call-{i:03d}",
        }
        for i in range(14)
    ]
    (tmp_path / "calls.yaml").write_text(
        yaml.safe_dump({"version": 1, "defaults": {"from": "+14152224444"}, "calls": calls})
    )
    journal = tmp_path / "j.jsonl"
    journal_filler(journal, room)
    report = tmp_path / "r.json"
    with sandbox(latency_ms=(30.0, 30.0)) as sb:
        args = run_args(tmp_path, sb.url, "--journal", str(journal), "--report", str(report))
        args[args.index("--rate") + 1] = "1000"

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (JOURNAL_LIMIT, JOURNAL_LIMIT))

        done = subprocess.run(
            [sys.executable, "-m", "callspec", *args, "--no-progress"],
            env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limit,
        )
        placed = placed_counts(sb.calls)
        assert done.returncode == ExitCode.CALL_FAILED, done.stderr
        assert "Traceback" not in done.stderr
        started = {
            json.loads(line)["name"]
            for line in journal.read_text().splitlines()
            if json.loads(line)["event"] == "started"
        }
        assert set(placed.values()) <= {1}
        assert set(placed) <= started
        doc = read_report(report)
        assert sorted(c["name"] for c in doc["calls"]) == sorted(c["name"] for c in calls)
        expected = resumed_exit(journal)
        resumed = invoke(
            [*run_args(tmp_path, sb.url, "--resume", str(journal)), "--report", str(report)],
            cred_env(),
        )
        assert resumed.exit_code == expected, resumed.stderr
        assert set(placed_counts(sb.calls).values()) == {1}
        assert len(placed_counts(sb.calls)) == 14


# --- 2. TLS errors after the request was written ------------------------------------------


@contextmanager
def tls_requests(garble: bool) -> Iterator[tuple[str, list[bytes], str]]:
    """A TLS server that reads each whole request, then (``garble``) answers with a
    garbled TLS record instead of HTTP; yields (url, requests read, CA file)."""
    seen: list[bytes] = []

    def handle(tls: ssl.SSLSocket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += tls.recv(65536)
        seen.append(body)
        if garble:
            raw = socket.socket(fileno=os.dup(tls.fileno()))
            raw.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))
            raw.close()

    with tls_server(handle) as (url, ca_path):
        yield url, seen, ca_path


def test_a_tls_error_after_the_post_was_written_is_unknown_and_not_retried(
    tmp_path: Path,
) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with tls_requests(garble=True) as (url, seen, ca_path):
        result = invoke(
            [*run_args(tmp_path, url, "--report", str(tmp_path / "r.json"))],
            cred_env(REQUESTS_CA_BUNDLE=ca_path),
        )
    assert result.exit_code == ExitCode.CALL_FAILED, result.stderr
    assert len(seen) == 1  # the whole POST reached the server
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "unknown"
    assert len(call["attempts"]) == 1  # never resent
    assert call["attempts"][0]["maybe_sent"] is True
    assert call["error"].startswith("TLS error after the request was sent")


@pytest.mark.parametrize("mode", ["close", "reset"])
def test_tls_server_closing_after_the_handshake_is_unknown_never_resent(
    tmp_path: Path, mode: str
) -> None:
    """The server completes the handshake, then closes (``close``) or resets after reading
    a few bytes (``reset``)."""

    def handle(tls: ssl.SSLSocket) -> None:
        if mode == "reset":
            tls.recv(10)
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with tls_server(handle) as (url, ca_path):
        result = invoke(
            run_args(tmp_path, url, "--report", str(tmp_path / "r.json")),
            cred_env(REQUESTS_CA_BUNDLE=ca_path),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "unknown"
    assert len(call["attempts"]) == 1


def test_a_tls_handshake_refused_surely_sent_nothing(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with tls_requests(garble=False) as (url, seen, _):
        result = invoke(  # the server's CA is not trusted: the handshake fails
            [*run_args(tmp_path, url, "--report", str(tmp_path / "r.json"))], cred_env()
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    assert seen == []
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "failed"
    assert call["attempts"][0]["maybe_sent"] is False
    assert call["error"].startswith("TLS error before the request was sent")


# --- 3. resume from another place ------------------------------------------------------------


def _project(folder: Path, n: int) -> Path:
    """A git work tree with a profiles file and a spec of ``n`` calls."""
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    write_profiles(folder)
    write_spec(folder, n)
    return folder


def test_a_moved_checkout_resumes_what_it_placed(tmp_path: Path) -> None:
    first = _project(tmp_path / "ci-1" / "project", 4)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        assert invoke(run_args(first, sb.url, "--journal", str(journal)), cred_env()).exit_code == 0
        moved = tmp_path / "ci-2" / "checkout"
        moved.parent.mkdir()
        shutil.move(first, moved)
        result = invoke(run_args(moved, sb.url, "--resume", str(journal)), cred_env())
        assert result.exit_code == ExitCode.OK, result.stderr
        assert len(sb.calls) == 4  # nothing placed twice
        assert "4 of its calls are in this run" in result.stderr


def test_resuming_says_how_many_calls_match_in_words_that_agree(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", 1)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        args = run_args(project, sb.url, "--journal", str(journal))
        assert invoke(args, cred_env()).exit_code == 0
        result = invoke(run_args(project, sb.url, "--resume", str(journal)), cred_env())
    assert result.exit_code == ExitCode.OK, result.stderr
    assert f"resuming from {journal}: 1 of its calls is in this run" in result.stderr


def test_a_journal_that_matches_no_call_is_refused(tmp_path: Path) -> None:
    other = _project(tmp_path / "other", 3)
    mine = _project(tmp_path / "mine", 0)
    spec = yaml.safe_load((other / "calls.yaml").read_text())
    for call in spec["calls"]:  # other calls: names and phones (the same body under
        call["name"] = "renamed-" + call["name"]  # another name is the same call, renamed)
        call["to"] = call["to"].replace("+1415555", "+1415666")
    (mine / "calls.yaml").write_text(yaml.safe_dump(spec))
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        invoke(run_args(other, sb.url, "--journal", str(journal)), cred_env())
        result = invoke(run_args(mine, sb.url, "--resume", str(journal)), cred_env())
        assert result.exit_code == ExitCode.REFUSED
        assert "none of its 3 calls is in this run" in result.stderr
        assert len(sb.calls) == 3
        result = invoke(
            run_args(mine, sb.url, "--resume", str(journal), "--resume-anyway"), cred_env()
        )
        assert result.exit_code == ExitCode.OK, result.stderr
        assert len(sb.calls) == 6


def _legacy_journal(folder: Path, journal: Path) -> None:
    """A journal as callspec 0.1 wrote it: absolute paths in keys, no target."""
    from callspec.spec.plan import PlanOptions, build_plan

    plan = build_plan([folder / "calls.yaml"], PlanOptions(), cred_env())
    lines = []
    for call in plan.calls:
        common = {
            "run_id": "old",
            "key": call.legacy_key,
            "spec_file": call.spec_file,
            "spec_path": call.abs_path,
            "name": call.name,
            "time": "2026-01-01T00:00:00.000Z",
        }
        lines.append({"event": "started", **common, "body": dict(call.body)})
        lines.append({"event": "finished", **common, "outcome": "fired", "state": "fired"})
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_an_old_journal_needs_resume_anyway_then_matches_by_absolute_path(
    tmp_path: Path,
) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    journal = tmp_path / "old.jsonl"
    with sandbox() as sb:
        _legacy_journal(tmp_path, journal)
        result = invoke(run_args(tmp_path, sb.url, "--resume", str(journal)), cred_env())
        assert result.exit_code == ExitCode.REFUSED
        assert "does not record where its calls were sent" in result.stderr
        result = invoke(
            run_args(tmp_path, sb.url, "--resume", str(journal), "--resume-anyway"), cred_env()
        )
        assert result.exit_code == ExitCode.OK, result.stderr
        assert sb.calls == []  # all three fired per the old journal


# --- 4. resume against another target --------------------------------------------------------


def test_a_journal_is_bound_to_its_api_url(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as staging, sandbox() as production:
        invoke(run_args(tmp_path, staging.url, "--journal", str(journal)), cred_env())
        result = invoke(run_args(tmp_path, production.url, "--resume", str(journal)), cred_env())
        assert result.exit_code == ExitCode.REFUSED
        assert f"written against live at {staging.url}, auth ID {AUTH_ID}" in result.stderr
        assert f"to live at {production.url}" in result.stderr
        assert production.calls == []
        assert len(staging.calls) == 3


def test_a_trailing_slash_is_the_same_api_url(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    journal = tmp_path / "j.jsonl"
    with sandbox() as sb:
        invoke(run_args(tmp_path, sb.url, "--journal", str(journal)), cred_env())
        again = invoke(run_args(tmp_path, sb.url + "/", "--resume", str(journal)), cred_env())
        assert len(sb.calls) == 2
    assert again.exit_code == ExitCode.OK, again.stderr


def test_a_journal_is_bound_to_its_auth_id(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        invoke(run_args(tmp_path, sb.url, "--journal", str(journal)), cred_env())
        env = cred_env(PLIVO_AUTH_ID="MAOTHERACCOUNT000000")
        result = invoke(run_args(tmp_path, sb.url, "--resume", str(journal)), env)
        assert result.exit_code == ExitCode.REFUSED
        assert "auth ID MAOTHERACCOUNT000000" in result.stderr


def test_sandbox_journals_bind_mode_and_auth_id_not_the_port(tmp_path: Path) -> None:
    write_spec(tmp_path, 2)
    journal = tmp_path / "journal.jsonl"
    spec = str(tmp_path / "calls.yaml")
    first = invoke(["run", spec, "--sandbox", "--journal", str(journal)], {})
    assert first.exit_code == ExitCode.OK, first.stderr
    again = invoke(["run", spec, "--sandbox", "--resume", str(journal)], {})
    assert again.exit_code == ExitCode.OK, again.stderr
    assert "2 skipped" in again.stdout
    with sandbox() as sb:  # a sandbox journal says nothing of a live API
        live = invoke(run_args(tmp_path, sb.url, "--resume", str(journal)), cred_env())
        assert live.exit_code == ExitCode.REFUSED
        assert "written against sandbox" in live.stderr
        assert sb.calls == []


# --- 5, 6, 7. secrets in other spellings -----------------------------------------------------


def test_a_token_across_the_cut_of_an_error_body_is_masked_whole(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    body = ("e" * 195 + TOKEN + "f" * 300).encode()
    with answering(lambda h, n: (400, {"Content-Type": "text/plain"}, body)) as (url, _):
        result = invoke(
            run_args(
                tmp_path,
                url,
                "--report",
                str(tmp_path / "r.json"),
                "--junit",
                str(tmp_path / "j.xml"),
            ),
            cred_env(),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    text = every_output(tmp_path, result.stdout, result.stderr)
    assert TOKEN[:6] not in text
    error = read_report(tmp_path / "r.json")["calls"][0]["error"]
    assert error.startswith("e" * 195 + "***")
    assert "characters)" in error  # shortened after masking, and says so


def test_an_echoed_basic_auth_header_is_masked(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    header = base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()

    def echo(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        auth = handler.headers["Authorization"]
        if n == 0:
            return (
                401,
                {"Content-Type": "application/json"},
                json.dumps({"error": f"bad: {auth}"}).encode(),
            )
        return 403, {"Content-Type": "text/html"}, f"<p>rejected {auth}</p>".encode()

    with answering(echo) as (url, _):
        result = invoke(
            run_args(tmp_path, url, "--concurrency", "1", "--report", str(tmp_path / "r.json")),
            cred_env(),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    text = every_output(tmp_path, result.stdout, result.stderr)
    assert header not in text and TOKEN not in text
    errors = [c["error"] for c in read_report(tmp_path / "r.json")["calls"]]
    assert errors == ["bad: Basic ***", "<p>rejected Basic ***</p>"]


def test_a_token_echoed_in_a_redirect_location_is_masked(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    answer = (302, {"Location": f"https://elsewhere.example/?t={TOKEN}&u={AUTH_ID}"}, b"")
    with answering(lambda h, n: answer) as (url, _):
        result = invoke(
            run_args(
                tmp_path,
                url,
                *("--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")),
            ),
            cred_env(),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    assert TOKEN not in every_output(tmp_path, result.stdout, result.stderr)


@pytest.mark.parametrize("command", ["run", "render"])
def test_a_token_typed_into_api_url_is_never_printed(tmp_path: Path, command: str) -> None:
    write_spec(tmp_path, 1)
    url = f"https://{AUTH_ID}:{TOKEN}@api.plivo.com"
    result = invoke([command, str(tmp_path / "calls.yaml"), "--api-url", url], {})
    assert result.exit_code == ExitCode.USAGE
    assert TOKEN not in result.stdout + result.stderr
    assert "'https://***@api.plivo.com'" in result.stderr


def test_a_token_typed_into_a_profiles_api_url_is_never_printed(tmp_path: Path) -> None:
    secret = "prodtoken-SECRET-123"
    (tmp_path / "profiles.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "profiles": {
                    "default": {
                        "auth_id": "MAPRODPRODPRODPRODPR",
                        "auth_token": "{{ env.PROD_TOKEN }}",
                        "api_url": f"https://MAPRODPRODPRODPRODPR:{secret}@api.plivo.com",
                    }
                },
            }
        )
    )
    write_spec(tmp_path, 1)
    spec = str(tmp_path / "calls.yaml")
    validate = invoke(["validate", spec], {"PROD_TOKEN": secret})
    outputs = ("--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml"))
    run = invoke(["run", spec, "--dry-run", *outputs], {"PROD_TOKEN": secret})
    assert validate.exit_code == run.exit_code == ExitCode.INVALID
    texts = [
        validate.stderr,
        run.stdout,
        run.stderr,
        (tmp_path / "r.json").read_text(),
        (tmp_path / "j.xml").read_text(),
    ]
    assert not any(secret in t for t in texts)


def test_click_usage_errors_pass_the_redactor(tmp_path: Path) -> None:
    write_spec(tmp_path, 1)
    # click quotes the bad value itself; the env's token must not come through.
    result = invoke(["run", str(tmp_path / "calls.yaml"), "--concurrency", TOKEN], cred_env())
    assert result.exit_code == ExitCode.USAGE
    assert TOKEN not in result.stderr
    assert "'***' is not a valid integer" in result.stderr


# --- 8. the API dies mid-run ----------------------------------------------------------------


def test_the_circuit_breaker_stops_feeding_a_hung_api(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 10)
    journal = tmp_path / "journal.jsonl"
    report = tmp_path / "r.json"
    with sandbox(hang=1.0) as sb:
        port = port_of(sb.url)
        args = run_args(tmp_path, sb.url, "--timeout", "0.3", "--concurrency", "1", "--bail", "3")
        result = invoke([*args, "--journal", str(journal), "--report", str(report)], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    doc = read_report(report)
    assert doc["summary"]["unknown"] == 3 and doc["summary"]["skipped"] == 7
    assert doc["stopped"]["kind"] == "bail"
    assert all(
        c["reason"].startswith("not sent: stopped after 3 calls in a row")
        for c in doc["calls"]
        if c["outcome"] == "skipped"
    )
    assert "sending stopped, 7 call(s) not sent" in result.stderr
    assert f"--resume {journal}" in result.stderr
    assert "stopped: circuit breaker" in result.stdout
    # The API is back (same URL): the 7 go out, the 3 unknown stay unsent.
    with sandbox(port=port) as sb:
        resumed = invoke(run_args(tmp_path, sb.url, "--resume", str(journal)), cred_env())
        assert resumed.exit_code == ExitCode.CALL_FAILED  # 3 still unknown
        assert sorted(placed_counts(sb.calls)) == [f"call-{i:03d}" for i in range(3, 10)]


def test_circuit_breaker_with_concurrency_reports_and_journals_every_call_once(
    tmp_path: Path,
) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 12)
    journal = tmp_path / "j.jsonl"
    report = tmp_path / "r.json"
    with sandbox(hang=1.0) as sb:
        args = run_args(tmp_path, sb.url, "--timeout", "0.4", "--concurrency", "4", "--bail", "2")
        result = invoke([*args, "--journal", str(journal), "--report", str(report)], cred_env())
        placed = placed_counts(sb.calls)
    assert result.exit_code == ExitCode.CALL_FAILED
    doc = read_report(report)
    names = [c["name"] for c in doc["calls"]]
    assert sorted(names) == [f"call-{i:03d}" for i in range(12)]
    assert doc["stopped"]["kind"] == "bail"
    finished: dict[str, int] = {}
    started: set[str] = set()
    for raw in journal.read_text().splitlines():
        event = json.loads(raw)
        if event["event"] == "finished":
            finished[event["name"]] = finished.get(event["name"], 0) + 1
        else:
            started.add(event["name"])
    assert finished == {n: 1 for n in names}
    assert set(placed) <= started  # nothing placed without its durable started line
    unknown = {c["name"] for c in doc["calls"] if c["outcome"] == "unknown"}
    assert unknown == set(placed)


@pytest.mark.parametrize(("bail", "failed", "skipped"), [("2", 2, 4), ("0", 6, 0)])
def test_the_circuit_breaker_on_a_dead_api(
    tmp_path: Path, bail: str, failed: int, skipped: int
) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)
    url = f"http://127.0.0.1:{free_port()}"
    args = run_args(tmp_path, url, "--retries", "0", "--concurrency", "1", "--bail", bail)
    result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    summary = read_report(tmp_path / "r.json")["summary"]
    assert (summary["failed"], summary["skipped"]) == (failed, skipped)


def test_an_answer_from_the_api_resets_the_circuit_breaker(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)

    def alternate(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        if n % 2:
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid to"}'
        return 500, {"Content-Type": "text/plain"}, b"oops"

    with answering(alternate) as (url, log):
        args = run_args(tmp_path, url, "--concurrency", "1", "--bail", "2")
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED
    assert len(log) == 6  # 500, 400, 500, ...: never two in a row without an answer
    assert read_report(tmp_path / "r.json")["stopped"] is None


def test_retry_waiting_is_bounded_for_the_whole_run(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    with sandbox(faults=(Fault(429, 1.0),), retry_after=1.0) as sb:
        args = run_args(tmp_path, sb.url, "--retries", "5", "--max-retry-wait", "1.5")
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
        assert placed_counts(sb.calls) == {}
    assert result.exit_code == ExitCode.CALL_FAILED
    calls = read_report(tmp_path / "r.json")["calls"]
    assert [c["outcome"] for c in calls] == ["failed", "failed"]
    # 1 s per wait, 1.5 s for the run: one wait in all, so three attempts at most.
    assert sum(len(c["attempts"]) for c in calls) <= 3
    assert all("--max-retry-wait 1.5 s" in c["error"] for c in calls)
    assert all(not a["maybe_sent"] for c in calls for a in c["attempts"])


# --- 11. numeric options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        ["--rate", "nan"],
        ["--rate", "inf"],
        ["--rate", "0.0001"],
        ["--rate", "2000000"],
        ["--timeout", "inf"],
        ["--timeout", "nan"],
        ["--timeout", "0"],
        ["--timeout", "3601"],
        ["--max-retry-wait", "nan"],
        ["--bail", "-1"],
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    write_spec(tmp_path, 1)
    result = invoke(["run", str(tmp_path / "calls.yaml"), "--dry-run", *option], {})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert option[0] in result.stderr


def test_resume_anyway_needs_resume(tmp_path: Path) -> None:
    write_spec(tmp_path, 1)
    result = invoke(["run", str(tmp_path / "calls.yaml"), "--dry-run", "--resume-anyway"], {})
    assert result.exit_code == ExitCode.USAGE
    assert "--resume-anyway goes with --resume" in result.stderr


# --- 14. max_calls counts what a resumed run sends ---------------------------------------------


def test_max_calls_counts_only_calls_a_resumed_run_sends(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    journal = tmp_path / "journal.jsonl"
    with sandbox() as sb:
        assert (
            invoke(run_args(tmp_path, sb.url, "--journal", str(journal)), cred_env()).exit_code == 0
        )
        write_spec(tmp_path, 5)  # two calls added
        refused = invoke(run_args(tmp_path, sb.url, "--max-calls", "2"), cred_env())
        assert refused.exit_code == ExitCode.REFUSED
        assert "refusing to place 5 calls" in refused.stderr
        resumed = invoke(
            run_args(tmp_path, sb.url, "--max-calls", "2", "--resume", str(journal)), cred_env()
        )
        assert resumed.exit_code == ExitCode.OK, resumed.stderr
        assert placed_counts(sb.calls) == {f"call-{i:03d}": 1 for i in range(5)}
        assert {call_name(r) for r in sb.calls[3:]} == {"call-003", "call-004"}


@pytest.mark.parametrize("latency", ["nan", "inf", "5-inf", "700000"])
def test_sandbox_latency_must_be_finite_and_bounded(latency: str) -> None:
    result = invoke(["sandbox", "--port", "0", "--latency", latency], {})
    assert result.exit_code == ExitCode.USAGE
    assert "--latency" in result.stderr
