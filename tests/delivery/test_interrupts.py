"""A run interrupted (Ctrl-C, SIGTERM): it stops feeding calls, finishes the ones in
flight, and still leaves its report and journal; only a second Ctrl-C leaves at once.

Each run is a ``python -m callspec`` process of its own (signals), against a small server
of the test's on 127.0.0.1; the test waits on what the run prints or the server sees.
"""

from __future__ import annotations

import os
import signal
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from support import (
    FIRED,
    answering,
    cred_env,
    read_report,
    run_args,
    spawned,
    wait_until,
    write_profiles,
    write_spec,
)

from callspec.delivery.entries import read_journal
from callspec.errors import ExitCode


def test_one_ctrl_c_after_the_circuit_breaker_still_writes_the_report(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    both_in_flight = threading.Event()
    release = threading.Event()

    def respond(h: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        if n == 0:
            both_in_flight.wait(20)  # the second call is out before the first fails
            return 500, {}, b"boom"  # unknown: --bail 1 trips
        both_in_flight.set()
        release.wait(20)  # the second call stays in flight
        return FIRED

    report = tmp_path / "r.json"
    journal = tmp_path / "j.jsonl"
    with answering(respond) as (url, _):
        args = run_args(tmp_path, url, "--bail", "1", "--concurrency", "2", "--timeout", "30")
        args += ["--report", str(report), "--journal", str(journal), "--no-progress"]
        with spawned(args, cred_env(), tmp_path) as run:
            try:
                wait_until(run.printed(" unknown "), "the first call's line: the breaker tripped")
                run.proc.send_signal(signal.SIGINT)  # ONE Ctrl-C: must be the graceful kind
                wait_until(run.printed("Ctrl-C again"), "the run to say it is stopping")
            finally:
                release.set()
            run.proc.wait(timeout=30)
    assert not any("Traceback" in line for line in run.err), run.err
    # The breaker stopped the run first: the Ctrl-C, while the call in flight finished,
    # changed nothing, and the run ends as the breaker's stop does (exit 1).
    assert run.proc.returncode == ExitCode.CALL_FAILED, run.err
    doc = read_report(report)
    assert doc["stopped"]["kind"] == "bail"
    assert sorted(c["name"] for c in doc["calls"]) == ["call-000", "call-001", "call-002"]


def test_ctrl_c_during_a_retry_wait_exits_130_with_the_call_skipped(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    report = tmp_path / "r.json"
    answer = (503, {"Retry-After": "30"}, b'{"error":"busy"}')
    with answering(lambda h, n: answer) as (url, log):
        args = [*run_args(tmp_path, url, "--report", str(report)), "--no-progress"]
        with spawned(args, cred_env(), tmp_path) as run:
            # Once the POST has arrived, a Ctrl-C finds the call in flight or waiting to
            # retry: either way it is not sent again.
            wait_until(lambda: log, "the POST at the server")
            run.proc.send_signal(signal.SIGINT)
            run.proc.wait(timeout=20)
    assert run.proc.returncode == ExitCode.INTERRUPTED, run.err
    call = read_report(report)["calls"][0]
    assert call["outcome"] == "skipped"
    assert call["reason"] == "interrupted before a retry"
    assert len(log) == 1


def test_sigterm_ends_a_run_whose_fifo_report_has_no_reader(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    journal = tmp_path / "run.journal.jsonl"
    args = ["run", "calls.yaml", "--sandbox", "--no-progress", "--report", str(fifo)]
    with spawned([*args, "--journal", str(journal)], {}, tmp_path) as run:
        # The summary is printed just before the report is opened: from then on the run
        # waits for the FIFO's reader, which never comes.
        wait_until(run.printed("1 call: ", "out"), "the run to reach its report")
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(timeout=10)
    assert run.proc.returncode == ExitCode.INTERRUPTED, run.err
    assert not any("Traceback" in line for line in run.err), run.err


def test_a_stop_signal_delivered_twice_still_writes_the_report(tmp_path: Path) -> None:
    """``timeout`` (and CI runners) signal the process, then its group: one SIGTERM, twice.
    A second signal within a second is that same request (a person's second Ctrl-C, later,
    still quits at once)."""
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    release = threading.Event()

    def respond(h: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        release.wait(20)  # the first call stays in flight while the signals arrive
        return FIRED

    report = tmp_path / "r.json"
    journal = tmp_path / "j.jsonl"
    with answering(respond) as (url, log):
        args = run_args(tmp_path, url, "--concurrency", "1", "--timeout", "30")
        args += ["--report", str(report), "--journal", str(journal), "--no-progress"]
        with spawned(args, cred_env(), tmp_path) as run:
            try:
                wait_until(lambda: log, "the first POST at the server")
                run.proc.send_signal(signal.SIGTERM)
                # Handled, then delivered again at once (as to the process group): two
                # signals sent together would reach the handler as one.
                wait_until(run.printed("Ctrl-C again"), "the run to say it is stopping")
                run.proc.send_signal(signal.SIGTERM)
            finally:
                release.set()
            run.proc.wait(timeout=30)
    assert run.proc.returncode == ExitCode.INTERRUPTED, run.err
    outcomes = {c["name"]: c["outcome"] for c in read_report(report)["calls"]}
    assert outcomes == {"call-000": "fired", "call-001": "skipped", "call-002": "skipped"}
    states = {e.name: e.state for e in read_journal(journal).values()}
    assert states == outcomes
    assert len(log) == 1
