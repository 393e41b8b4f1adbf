"""Hostile review of the delivery-promise changes (branch review-7).

Each test reproduced a finding of that review (all fixed); they assert what
*should* happen and fail today.  When a fix lands they XPASS, which fails the
suite: drop the marker then.  Unmarked tests are attacks that held up, kept as
regressions.

Every server binds 127.0.0.1; every loop and wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import (
    AUTH_ID,
    JOURNAL_LIMIT,
    ROOT,
    TOKEN,
    answering,
    cred_env,
    free_port,
    invoke,
    journal_filler,
    placed_counts,
    read_report,
    run_args,
    sandbox,
    spawn,
    tls_server,
    write_profiles,
    write_spec,
)

from callspec.delivery.entries import read_journal
from callspec.delivery.journal import Journal
from callspec.errors import ExitCode
from callspec.redact import Redactor

# --- helpers ---------------------------------------------------------------------------------


FIRED = (201, {"Content-Type": "application/json"}, b'{"message":"call fired","request_uuid":"u"}')


def git_project(folder: Path, spec: dict[str, Any], profiles: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / "profiles.yaml").write_text(
        yaml.safe_dump(profiles or {"version": 1, "profiles": {"default": {}}})
    )
    (folder / "specs").mkdir()
    (folder / "specs" / "oncall.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def one_call(name: str, to: str, frm: str, hook: str) -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"from": frm},
        "calls": [{"name": name, "to": to, "answer_url": f"https://hooks.example.com/{hook}.xml"}],
    }


# --- F1: a single Ctrl-C after the circuit breaker (or a journal failure) kills the run ------


def test_one_ctrl_c_after_the_circuit_breaker_still_writes_the_report(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    release = threading.Event()

    def respond(h: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        if n == 0:
            time.sleep(0.3)  # let call-001 go out first
            return 500, {}, b"boom"  # unknown: --bail 1 trips
        release.wait(20)  # the second call stays in flight
        return FIRED

    report = tmp_path / "r.json"
    journal = tmp_path / "j.jsonl"
    with answering(respond) as (url, log):
        args = run_args(tmp_path, url, "--bail", "1", "--concurrency", "2", "--timeout", "30")
        proc = spawn(
            [*args, "--report", str(report), "--journal", str(journal), "--no-progress"],
            cred_env(),
            tmp_path,
        )
        try:
            deadline = time.monotonic() + 15
            while len(log) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the breaker has tripped; call-001 is in flight
            proc.send_signal(signal.SIGINT)  # ONE Ctrl-C: must be the graceful kind
            time.sleep(0.5)
            release.set()
            _out, err = proc.communicate(timeout=30)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "Traceback" not in err
    assert report.exists(), f"no report after one Ctrl-C (rc {proc.returncode}): {err}"
    names = [c["name"] for c in read_report(report)["calls"]]
    assert sorted(names) == ["call-000", "call-001", "call-002"]


# --- F2: another project's journal suppresses a page (relative identity + changed-call match) --


def test_another_projects_journal_does_not_suppress_this_projects_page(tmp_path: Path) -> None:
    a = git_project(
        tmp_path / "team-a", one_call("page-primary", "+14155550100", "+14152224444", "a")
    )
    b = git_project(
        tmp_path / "team-b", one_call("page-primary", "+14155550777", "+14152229999", "b")
    )
    journal = tmp_path / "shared.jsonl"
    with sandbox() as sb:
        first = invoke(
            ["run", str(a / "specs/oncall.yaml"), "--api-url", sb.url, "--journal", str(journal)],
            cred_env(),
        )
        assert first.exit_code == ExitCode.OK, first.stderr
        result = invoke(
            ["run", str(b / "specs/oncall.yaml"), "--api-url", sb.url, "--resume", str(journal)],
            cred_env(),
        )
        # Team B's page was never placed anywhere: either refuse the journal (exit 4) or send it.
        sent_b = any("+14155550777" in str(r["body"]["to"]) for r in sb.calls if r.get("placed"))
        assert result.exit_code == ExitCode.REFUSED or sent_b, (result.exit_code, result.stderr)


# --- F3: equal keys across two work trees: credentials and targets are looked up by key -------


def test_two_work_trees_with_the_same_call_are_refused_never_crossed(tmp_path: Path) -> None:
    # The two calls have one identity (path in the work tree, name, body): a journal could
    # not tell them apart, so the run is refused before anything is sent (and the runner
    # looks credentials up by position, so no plan can cross two accounts).
    spec = one_call("deploy-alert", "+14155550100", "+14152224444", "deploy")
    with (
        answering(lambda h, n: FIRED) as (url_a, log_a),
        answering(lambda h, n: FIRED) as (
            url_b,
            log_b,
        ),
    ):
        for name, auth, url in (
            ("a", "MAACCOUNTAAAAAAAAAAA", url_a),
            ("b", "MAACCOUNTBBBBBBBBBBB", url_b),
        ):
            profiles = {
                "version": 1,
                "profiles": {
                    "default": {"auth_id": auth, "auth_token": f"tok-{name}", "api_url": url}
                },
            }
            git_project(tmp_path / f"repo-{name}", spec, profiles)
        result = invoke(
            [
                "run",
                str(tmp_path / "repo-a/specs/oncall.yaml"),
                str(tmp_path / "repo-b/specs/oncall.yaml"),
                "--report",
                str(tmp_path / "r.json"),
            ],
            {},
        )
    assert result.exit_code == ExitCode.INVALID, result.stderr
    assert "the same call as 'deploy-alert'" in result.stderr
    assert "run them separately" in result.stderr
    assert log_a == [] and log_b == []


# --- F4: partial identity change: one spec matches, so the other's fired calls go out again --


def test_a_spec_whose_identity_changed_is_not_resent_beside_one_that_matched(
    tmp_path: Path,
) -> None:
    first = tmp_path / "ws-1" / "project"
    git_project(first, one_call("page-own", "+14155550100", "+14152224444", "own"))
    vendored = first / "vendor-specs"  # a nested repo (its own .git) in run 1
    vendored.mkdir()
    subprocess.run(["git", "init", "-q", str(vendored)], check=True)
    (vendored / "pager.yaml").write_text(
        yaml.safe_dump(one_call("page-shared", "+14155550200", "+14152224444", "shared"))
    )
    journal = tmp_path / "journal.jsonl"
    specs = ["specs/oncall.yaml", "vendor-specs/pager.yaml"]
    with sandbox() as sb:
        r1 = invoke(
            [
                "run",
                *[str(first / s) for s in specs],
                "--api-url",
                sb.url,
                "--journal",
                str(journal),
                "--report",
                str(tmp_path / "r1.json"),
            ],
            cred_env(),
        )
        assert r1.exit_code == ExitCode.OK, r1.stderr
        # CI workspace 2: same checkout elsewhere, the nested repo fetched as a tarball (no .git).
        second = tmp_path / "ws-2" / "project"
        second.parent.mkdir()
        subprocess.run(["cp", "-a", str(first), str(second.parent)], check=True)
        subprocess.run(["rm", "-rf", str(second / "vendor-specs" / ".git")], check=True)
        r2 = invoke(
            [
                "run",
                *[str(second / s) for s in specs],
                "--api-url",
                sb.url,
                "--resume",
                str(journal),
                "--report",
                str(tmp_path / "r2.json"),
            ],
            cred_env(),
        )
        assert r2.exit_code in (ExitCode.OK, ExitCode.REFUSED), r2.stderr
        counts = placed_counts_by_to(sb.calls)
    assert counts.get("+14155550200", 0) <= 1 or r2.exit_code == ExitCode.REFUSED, counts


def placed_counts_by_to(records: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        if r.get("placed"):
            counts[r["body"]["to"]] = counts.get(r["body"]["to"], 0) + 1
    return counts


# --- F5: --journal equal to --report: the journal is overwritten by the report ---------------


def test_journal_and_report_on_one_path_is_a_usage_error(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    same = tmp_path / "run.json"
    with sandbox() as sb:
        result = invoke(
            run_args(tmp_path, sb.url, "--report", str(same), "--journal", str(same)), cred_env()
        )
        sent = len(sb.calls)
    # Either refused before sending, or the journal survives the run.
    if result.exit_code == ExitCode.USAGE:
        assert sent == 0
    else:
        assert read_journal(same)  # a readable journal, not a report


# --- F6: --journal on an existing non-journal file cuts its last line -------------------------


def test_journal_option_never_truncates_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    write_spec(tmp_path, 1)
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nimportant last line without newline")
    invoke(["run", str(tmp_path / "calls.yaml"), "--sandbox", "--journal", str(notes)], {})
    assert "important last line without newline" in notes.read_text()


# --- F7: a journal deleted or replaced mid-run goes unnoticed ---------------------------------


def test_a_journal_deleted_mid_run_is_noticed(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)
    journal = tmp_path / "j.jsonl"
    with sandbox() as sb:
        args = run_args(tmp_path, sb.url, "--journal", str(journal), "--no-progress")
        args[args.index("--rate") + 1] = "4"
        proc = spawn([*args, "--concurrency", "1"], cred_env(), tmp_path)
        try:
            deadline = time.monotonic() + 10
            while len(sb.calls) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            journal.unlink()
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode != ExitCode.OK or journal.exists(), out + err


# --- F8: the same journal for --resume and --journal, spelled two ways ------------------------


def test_resume_and_journal_naming_one_file_two_ways_is_not_another_run(tmp_path: Path) -> None:
    write_spec(tmp_path, 2)
    journal = tmp_path / "j.jsonl"
    spec = str(tmp_path / "calls.yaml")
    assert invoke(["run", spec, "--sandbox", "--journal", str(journal)], {}).exit_code == 0
    (tmp_path / "link.jsonl").symlink_to(journal)
    again = invoke(
        [
            "run",
            spec,
            "--sandbox",
            "--resume",
            str(tmp_path / "link.jsonl"),
            "--journal",
            str(journal),
        ],
        {},
    )
    assert "in use by another callspec run" not in again.stderr
    assert again.exit_code == ExitCode.OK, again.stderr


# --- F9: a --var typo prints a declared secret ------------------------------------------------


def test_a_var_typo_does_not_print_the_value(tmp_path: Path) -> None:
    pin = "zq-SECRET-PIN-77"
    (tmp_path / "profiles.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "profiles": {
                    "default": {
                        "secrets": ["pager_pin"],
                        "vars": {"pager_pin": "{{ env.PAGER_PIN }}"},
                    }
                },
            }
        )
    )
    write_spec(tmp_path, 1, send_digits="{{ pager_pin }}")
    result = invoke(
        ["run", str(tmp_path / "calls.yaml"), "--dry-run", "--var", f"pager_pin:{pin}"],
        {"PAGER_PIN": pin},
    )
    assert result.exit_code == ExitCode.USAGE
    assert pin not in result.stdout + result.stderr


# --- F10: Retry-After: inf puts Infinity (not JSON) into the report ---------------------------


def test_an_infinite_retry_after_keeps_the_report_strict_json(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    answer = (429, {"Retry-After": "1e999"}, b'{"error":"slow down"}')
    with answering(lambda h, n: answer) as (url, _):
        args = run_args(tmp_path, url, "--retries", "1", "--max-retry-wait", "1")
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
    assert result.exit_code == ExitCode.CALL_FAILED

    def strict(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    json.loads((tmp_path / "r.json").read_text(), parse_constant=strict)


# --- F11: api_url spelled with a trailing slash is "another target" ---------------------------


def test_a_trailing_slash_is_the_same_target(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    journal = tmp_path / "j.jsonl"
    with sandbox() as sb:
        invoke(run_args(tmp_path, sb.url, "--journal", str(journal)), cred_env())
        again = invoke(run_args(tmp_path, sb.url + "/", "--resume", str(journal)), cred_env())
    assert again.exit_code == ExitCode.OK, again.stderr


# --- F12: a cut line longer than 64 KiB is not dropped ----------------------------------------


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


# --- held up: kept as regressions ------------------------------------------------------------


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
        resumed = invoke(
            [*run_args(tmp_path, sb.url, "--resume", str(journal)), "--report", str(report)],
            cred_env(),
        )
        assert resumed.exit_code in (ExitCode.OK, ExitCode.CALL_FAILED), resumed.stderr
        assert set(placed_counts(sb.calls).values()) == {1}
        assert len(placed_counts(sb.calls)) == 14


def tls_closing_server(mode: str) -> contextlib.AbstractContextManager[tuple[str, str]]:
    """TLS on 127.0.0.1 that completes the handshake, then closes (``close``) or resets
    after reading a few bytes (``reset``); yields (url, CA file)."""

    def handle(tls: ssl.SSLSocket) -> None:
        if mode == "reset":
            tls.recv(10)
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    return tls_server(handle)


@pytest.mark.parametrize("mode", ["close", "reset"])
def test_tls_server_closing_after_the_handshake_is_unknown_never_resent(
    tmp_path: Path, mode: str
) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    with tls_closing_server(mode) as (url, ca_path):
        result = invoke(
            run_args(tmp_path, url, "--report", str(tmp_path / "r.json")),
            cred_env(REQUESTS_CA_BUNDLE=ca_path),
        )
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "unknown"
    assert len(call["attempts"]) == 1


def test_a_dead_https_proxy_is_not_sent_and_retried(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    proxy = {"HTTPS_PROXY": f"http://127.0.0.1:{free_port()}", "NO_PROXY": None}
    result = invoke(
        run_args(
            tmp_path,
            f"https://127.0.0.1:{free_port()}",
            "--retries",
            "2",
            "--report",
            str(tmp_path / "r.json"),
        ),
        {**cred_env(), **proxy},
    )
    assert result.exit_code == ExitCode.CALL_FAILED
    call = read_report(tmp_path / "r.json")["calls"][0]
    assert call["outcome"] == "failed"
    assert len(call["attempts"]) == 3
    assert not any(a["maybe_sent"] for a in call["attempts"])


def test_ctrl_c_during_a_retry_wait_exits_130_with_the_call_skipped(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    report = tmp_path / "r.json"
    answer = (503, {"Retry-After": "30"}, b'{"error":"busy"}')
    with answering(lambda h, n: answer) as (url, log):
        proc = spawn(
            [*run_args(tmp_path, url, "--report", str(report)), "--no-progress"],
            cred_env(),
            tmp_path,
        )
        try:
            deadline = time.monotonic() + 10
            while not log and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == ExitCode.INTERRUPTED
    call = read_report(report)["calls"][0]
    assert call["outcome"] == "skipped"
    assert len(log) == 1


def test_token_echoed_in_a_redirect_location_is_masked(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    answer = (302, {"Location": f"https://elsewhere.example/?t={TOKEN}&u={AUTH_ID}"}, b"")
    with answering(lambda h, n: answer) as (url, _):
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
    texts = [result.stdout, result.stderr] + [
        p.read_text() for p in tmp_path.rglob("*") if p.is_file()
    ]
    assert not any(TOKEN in t for t in texts)


# --- F13: a token in a profile's api_url userinfo is printed by validate/run ------------------


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
    run = invoke(
        [
            "run",
            spec,
            "--dry-run",
            "--report",
            str(tmp_path / "r.json"),
            "--junit",
            str(tmp_path / "j.xml"),
        ],
        {"PROD_TOKEN": secret},
    )
    assert validate.exit_code == run.exit_code == ExitCode.INVALID
    texts = [
        validate.stderr,
        run.stdout,
        run.stderr,
        (tmp_path / "r.json").read_text(),
        (tmp_path / "j.xml").read_text(),
    ]
    assert not any(secret in t for t in texts)
