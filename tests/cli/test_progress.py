"""The run's progress: a bar on a terminal (count, rate, time left), plain lines or
nothing elsewhere, and --quiet (only problems and the one-line summary)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from support import (
    ROOT,
    cred_env,
    free_port,
    invoke,
    run_args,
    sandbox,
    write_profiles,
    write_spec,
)

from callspec.cli.interrupts import REPEAT_WINDOW
from callspec.sandbox.faults import Fault


def _read_pty(fd: int, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> bytes:
    """Everything written to the terminal until the process ends (bounded)."""
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other end closed (Linux: EIO)
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def test_bar_on_a_terminal_shows_count_rate_and_time_left(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 12)
    with sandbox() as box:
        master, slave = pty.openpty()
        args = run_args(tmp_path, box.url, "--report", str(tmp_path / "r.json"))
        args[args.index("200") - 1 : args.index("200") + 1] = ["--rate", "40"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "callspec", *args],
            cwd=tmp_path,
            env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        try:
            screen = _read_pty(master, proc).decode()
            stdout, _ = proc.communicate(timeout=30)
        finally:
            os.close(master)
    assert proc.returncode == 0, screen
    assert len(box.calls) == 12
    assert "callspec: sending 12 call(s)" in screen  # a note above the bar
    assert "calls  [" in screen and "\r" in screen
    assert "0/12" in screen and "12/12" in screen  # the count, from the start to the end
    assert " calls/s, " in screen and " s left" in screen  # rate and time left on the way
    assert "[1/12]" not in screen  # no plain lines under the bar
    assert b"12 calls: 12 fired" in stdout


def test_no_bar_off_a_terminal(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 8)
    with sandbox() as box:
        result = invoke(run_args(tmp_path, box.url, "--report", tmp_path / "r.json"), cred_env())
    assert result.exit_code == 0, result.stderr
    assert "\r" not in result.stderr and "calls/s" not in result.stderr
    assert "calls  [" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in lines] == [f"[{i}/8]" for i in range(1, 9)]


def test_click_bar_counts_and_estimates() -> None:
    """The bar the CLI hands the library, driven as the runner drives it."""
    import io

    from callspec.cli.progress import TerminalBar, bar_factory

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert bar_factory(io.StringIO(), None) is None  # off a terminal: nothing is made
    assert bar_factory(Tty(), False) is None  # --no-progress
    make = bar_factory(Tty(), None)
    assert make is not None and make(3) is None  # a handful of calls: plain lines
    forced = bar_factory(io.StringIO(), True)  # --progress: a bar wherever stderr goes
    assert forced is not None
    log = io.StringIO()
    drawn = TerminalBar(3, log)
    drawn.advance(3, 3)
    assert "calls  [" in log.getvalue() and "3/3" in log.getvalue()
    screen = Tty()
    bar = TerminalBar(50, screen)
    bar.advance(1, 1)
    assert "1/50" in screen.getvalue() and "calls/s" not in screen.getvalue()
    assert bar.first is not None
    bar.first -= 4.5  # as if 9 more calls took 4.5 s: 2 calls/s, 40 left, 20 s
    bar.advance(10, 10)
    assert "10/50" in screen.getvalue()
    assert "2.0 calls/s, 20 s left" in screen.getvalue()
    bar.note("callspec: a note")
    assert "\x1b[2Kcallspec: a note\n" in screen.getvalue()
    assert screen.getvalue().rstrip().endswith("10/50  2.0 calls/s, 20 s left")  # redrawn
    bar.first -= 100  # 10 calls in 104.5 s: 0.1 calls/s, 39 left
    bar.advance(11, 11)
    assert "11/50  0.1 calls/s, 6 min 48 s left" in screen.getvalue()
    bar.advance(50, 50)
    bar.close()
    assert screen.getvalue().endswith("\n") and "50/50" in screen.getvalue()


def test_quiet_run_prints_only_problems_and_the_summary(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 6)
    with sandbox(faults=(Fault(400, 1.0),)) as box:
        args = run_args(tmp_path, box.url, "--report", tmp_path / "r.json", "--quiet")
        result = invoke([*args, "--only", "call-001", "--only", "call-004"], cred_env())
    assert result.exit_code == 1
    assert result.stderr == ""  # no notes, no line per call
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0] == f"{tmp_path / 'calls.yaml'}:call-001: failed: bad request"
    assert lines[1] == f"{tmp_path / 'calls.yaml'}:call-004: failed: bad request"
    assert lines[2].startswith("2 calls: 0 fired, 0 queued, 2 failed, 0 unknown, 0 skipped")
    assert (tmp_path / "r.json").is_file()  # the report is still written


def test_quiet_run_of_good_calls_is_one_line(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    with sandbox() as box:
        result = invoke(
            run_args(tmp_path, box.url, "--report", tmp_path / "r.json", "-q"), cred_env()
        )
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("3 calls: 3 fired, 0 queued, 0 failed")
    assert result.stdout.count("\n") == 1


def test_quiet_invalid_run_and_validate(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 2, time_limit=-5)
    report = ["--report", str(tmp_path / "r.json")]
    for command in (["run", "--dry-run", *report], ["validate"]):
        result = invoke([*command, tmp_path / "calls.yaml", "--quiet"])
        assert result.exit_code == 3
        assert result.stdout == ""  # no "report: ..." line
        lines = result.stderr.splitlines()
        assert [line.split(": ")[1] for line in lines[:-1]] == [
            "calls[0].time_limit",
            "calls[1].time_limit",
        ]
        assert lines[-1] == "callspec: 2 problems; nothing was sent"
    write_spec(tmp_path, 2)
    result = invoke(["validate", tmp_path / "calls.yaml", "-q"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "OK: 2 calls in 1 file valid\n",
        "",
    )


def test_a_run_refused_by_a_guard_leaves_no_bar_and_the_cursor_shown(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 8)
    with sandbox() as box:
        args = run_args(tmp_path, box.url, "--report", tmp_path / "r.json", "--progress")
        result = invoke([*args, "--max-calls", "2"], cred_env())
    assert result.exit_code == 4 and not box.calls
    bar_drawn, _, after = result.stderr.rpartition("\r\x1b[2K\x1b[?25h")
    assert "0/8" in bar_drawn  # drawn when the run began, then erased
    assert after.startswith("callspec: ") and "max" in after and "0/8" not in after


def test_quiet_check_prints_only_problems_and_the_totals(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: the answer_url check fails
    (tmp_path / "s.yaml").write_text(
        "version: 1\ncalls:\n  - name: one\n"
        f'    to: "+14155550100"\n    from: "+14152224444"\n'
        f"    answer_url: http://127.0.0.1:{port}/answer.xml\n"
    )
    loud = invoke(["check", tmp_path / "s.yaml", "--check-timeout", "2"])
    quiet = invoke(["check", tmp_path / "s.yaml", "-q", "--check-timeout", "2"])
    assert loud.exit_code == quiet.exit_code == 3
    assert quiet.stderr == loud.stderr and "unreachable" in quiet.stderr
    assert quiet.stdout == loud.stdout.splitlines()[-1] + "\n"  # the totals line only
    assert loud.stdout.count("\n") > 1


def test_bar_line_fits_every_width_and_follows_a_resize() -> None:
    import io

    from callspec.cli.progress import TerminalBar

    bar = TerminalBar(120, io.StringIO())
    bar.first = time.monotonic() - 10
    bar.advance(60, 40)  # 20 skipped by --resume: the rate is of the 40 sent
    assert "3.9 calls/s, 15 s left" in bar.line(200)
    for columns in range(1, 90):
        line = bar.line(columns)
        assert len(line) <= columns - 1, (columns, line)
        # Drawn whenever the count fits ("calls  []  60/120": 17 columns + 1 free); else nothing.
        assert line.startswith("calls  [") if columns >= 18 else line == "", (columns, line)
    assert "calls/s" not in bar.line(30) and "60/120" in bar.line(30)  # the rate gives way
    assert bar.line(200).count("#") == 12  # half of the widest bar


def test_a_ctrl_c_before_sending_starts_announces_no_sending(tmp_path: Path) -> None:
    import io
    import threading

    from callspec.delivery.options import RunOptions
    from callspec.execute import Outputs, RunRequest, execute
    from callspec.spec.model import PlanOptions

    write_profiles(tmp_path)
    write_spec(tmp_path, 3)
    stop = threading.Event()
    stop.set()  # the first Ctrl-C came while the plan was built
    err = io.StringIO()
    with sandbox() as box:
        request = RunRequest(
            (tmp_path / "calls.yaml",),
            PlanOptions(profiles=tmp_path / "profiles.yaml"),
            RunOptions(api_url=box.url),
            Outputs(report=tmp_path / "r.json", progress=False),
        )
        result, _ = execute(request, cred_env(), io.StringIO(), err, stop)
    assert box.calls == [] and result.exit_code() == 130
    assert "callspec: sending" not in err.getvalue(), err.getvalue()


# --- the bar in a real terminal ---------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_bar_fits_a_narrow_terminal(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 8)
    columns = 30
    with sandbox() as box:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        args = run_args(tmp_path, box.url, "--report", str(tmp_path / "r.json"))
        args[args.index("200")] = "40"
        env = {**os.environ, **cred_env(), "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "callspec", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        try:
            screen = _read_pty(master, proc).decode()
            proc.communicate(timeout=30)
        finally:
            os.close(master)
    assert proc.returncode == 0, screen
    drawn = [_ANSI.sub("", part).rstrip() for part in screen.split("\r")]
    bars = [part for part in drawn if "calls  [" in part]
    assert bars, screen
    too_wide = [part for part in bars if len(part) > columns]
    assert too_wide == [], too_wide


def test_bar_rate_ignores_calls_skipped_by_resume(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 9)
    with sandbox() as box:
        first = invoke(
            run_args(
                tmp_path,
                box.url,
                "--report",
                str(tmp_path / "r1.json"),
                *(x for i in range(6) for x in ("--only", f"call-{i:03d}")),
            ),
            cred_env(),
        )
        assert first.exit_code == 0, first.output
        args = run_args(
            tmp_path,
            box.url,
            *("--report", str(tmp_path / "r2.json")),
            *("--resume", str(tmp_path / "r1.journal.jsonl"), "--progress"),
        )
        args[args.index("200")] = "4"
        second = invoke(args, cred_env())
    assert second.exit_code == 0, second.output
    assert len(box.calls) == 9  # nothing twice: 6 then the 3 others
    rates = [float(r) for r in re.findall(r"([0-9.]+) calls/s", second.stderr)]
    assert rates, second.stderr
    assert max(rates) <= 8, rates  # at --rate 4 the bar may not claim more than twice that


def test_a_second_ctrl_c_gives_the_cursor_back(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    write_spec(tmp_path, 8)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:  # a Plivo that never answers: the calls stay in flight
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    master, slave = pty.openpty()
    args = run_args(tmp_path, url, "--report", str(tmp_path / "r.json"), "--timeout", "30")
    proc = subprocess.Popen(
        [sys.executable, "-m", "callspec", *args],
        cwd=tmp_path,
        env={**os.environ, **cred_env(), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not accepted:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                screen += os.read(master, 65536)
        assert accepted, screen
        proc.send_signal(signal.SIGINT)
        while time.monotonic() < deadline and b"stopping" not in screen:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                screen += os.read(master, 65536)
        time.sleep(REPEAT_WINDOW)  # a person's second Ctrl-C, not the first one repeated
        proc.send_signal(signal.SIGINT)
        screen += _read_pty(master, proc, 20)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        listener.close()
        for conn in accepted:
            conn.close()
    assert proc.returncode == 130, screen
    text = screen.decode(errors="replace")
    assert "\x1b[?25l" in text  # the bar hid the cursor
    assert text.rfind("\x1b[?25h") > text.rfind("\x1b[?25l"), repr(text[-300:])


# --- quiet ------------------------------------------------------------------------------------


def test_quiet_run_with_simulate_prints_only_the_summary(tmp_path: Path) -> None:
    port = free_port()  # the handlers are unreachable: every simulated call ends early
    calls = "".join(f'  - name: c{i}\n    to: "+1415555010{i}"\n' for i in range(3))
    (tmp_path / "s.yaml").write_text(
        "version: 1\ndefaults:\n"
        f'  from: "+14152224444"\n  answer_url: http://127.0.0.1:{port}/a\n'
        f"calls:\n{calls}"
    )
    result = invoke(
        [
            *("run", tmp_path / "s.yaml", "--sandbox", "--simulate", "--simulate-duration", "0"),
            *("--rate", "200", "--quiet", "--report", tmp_path / "r.json"),
        ]
    )
    assert "3 calls:" in result.stdout, result.output
    assert " simulate " not in result.stderr, result.stderr


def test_quiet_run_with_a_failing_check_prints_no_report_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: the answer_url check fails, nothing is sent
    (tmp_path / "s.yaml").write_text(
        "version: 1\ncalls:\n  - name: one\n"
        f'    to: "+14155550100"\n    from: "+14152224444"\n'
        f"    answer_url: http://127.0.0.1:{port}/answer.xml\n"
    )
    result = invoke(
        [
            *("run", tmp_path / "s.yaml", "--sandbox", "--check", "--quiet"),
            *("--report", tmp_path / "r.json"),
        ]
    )
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.stderr  # the problem is printed
    assert "report:" not in result.stdout, result.stdout
