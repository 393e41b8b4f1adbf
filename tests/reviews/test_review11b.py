"""Review 11b: the newest parts of issue 11 (explain, the progress bar, --quiet, the walk-through).

Each test reproduces a finding and fails today (strict xfail); the lead fixes at the root.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml
from support import ROOT, cred_env, free_port, invoke, run_args, sandbox, write_profiles, write_spec

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _read_pty(fd: int, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> bytes:
    """Everything written to the terminal until the process ends (bounded)."""
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def _secret_profiles(folder: Path) -> None:
    (folder / "profiles.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "profiles": {
                    "oncall": {
                        "secrets": ["pin"],
                        "vars": {"pin": "4321"},
                        "defaults": {
                            "from": "+14152224444",
                            "answer_url": "https://hooks.example.com/a",
                        },
                    },
                    "plain": {
                        "defaults": {
                            "from": "+14152224444",
                            "answer_url": "https://hooks.example.com/a",
                        }
                    },
                },
            }
        )
    )
    specs = folder / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(
        "version: 1\nprofile: oncall\ncalls:\n"
        '  - name: one\n    to: "+14155550100"\n    send_digits: "{{ pin }}"\n'
    )
    (specs / "b.yaml").write_text(
        "version: 1\nprofile: plain\ncalls:\n"
        '  - name: two\n    to: "+14155550101"\n    send_digits: "4321"\n'
    )


def test_explain_masks_every_secret_of_the_run_like_render(tmp_path: Path) -> None:
    _secret_profiles(tmp_path)
    specs = tmp_path / "specs"
    profiles = tmp_path / "profiles.yaml"
    rendered = invoke(["render", specs, "--profiles", profiles])
    assert rendered.exit_code == 0, rendered.output
    assert "4321" not in rendered.output  # render masks it in call two as well
    for fmt in ("text", "json"):
        explained = invoke(["explain", specs, "--profiles", profiles, "--format", fmt])
        assert explained.exit_code == 0, explained.output
        assert "4321" not in explained.output, fmt


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
                tmp_path / "r1.json",
                *(x for i in range(6) for x in ("--only", f"call-{i:03d}")),
            ),
            cred_env(),
        )
        assert first.exit_code == 0, first.output
        args = run_args(
            tmp_path,
            box.url,
            "--report",
            tmp_path / "r2.json",
            "--resume",
            tmp_path / "r1.journal.jsonl",
            "--progress",
        )
        args[args.index("200")] = "4"
        second = invoke(args, cred_env())
    assert second.exit_code == 0, second.output
    assert len(box.calls) == 9  # nothing twice: 6 then the 3 others
    rates = [float(r) for r in re.findall(r"([0-9.]+) calls/s", second.stderr)]
    assert rates, second.stderr
    assert max(rates) <= 8, rates  # at --rate 4 the bar may not claim more than twice that


def test_check_takes_quiet(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: the check fails, a problem --quiet still prints
    (tmp_path / "s.yaml").write_text(
        "version: 1\ncalls:\n  - name: one\n"
        f'    to: "+14155550100"\n    from: "+14152224444"\n'
        f"    answer_url: http://127.0.0.1:{port}/answer.xml\n"
    )
    result = invoke(["check", tmp_path / "s.yaml", "--quiet", "--check-timeout", "2"])
    assert "No such option" not in result.output
    assert result.exit_code != 2, result.output


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
            "run",
            tmp_path / "s.yaml",
            "--sandbox",
            "--simulate",
            "--simulate-duration",
            "0",
            "--rate",
            "200",
            "--quiet",
            "--report",
            tmp_path / "r.json",
        ]
    )
    assert "3 calls:" in result.stdout, result.output
    assert " simulate " not in result.stderr, result.stderr


def test_changed_utf16_spec_is_not_silently_skipped(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"  # as a Windows editor saves it: UTF-16 with its BOM
    spec.write_bytes("version: 1\ncalls:\n  - {name: x, to: nope}\n".encode("utf-16"))
    direct = invoke(["validate", spec])
    assert direct.exit_code == 3, direct.output
    hook = invoke(["validate", "--changed", spec])
    assert hook.exit_code == 3, hook.output


def test_init_does_not_write_through_a_dangling_gitignore_symlink(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "elsewhere" / "ignored"
    outside.parent.mkdir()
    (project / ".gitignore").symlink_to(outside)
    result = invoke(["init", project])
    assert "Traceback" not in result.output
    assert not outside.exists(), outside.read_text()


def test_import_renames_reserved_variable_names(tmp_path: Path) -> None:
    _import_validates(tmp_path, "https://hooks.example.com/{{env}}/answer.xml", "env")


def test_import_says_what_it_does_with_postman_dynamic_variables(tmp_path: Path) -> None:
    _import_validates(tmp_path, "https://hooks.example.com/a?id={{$guid}}&t={{$timestamp}}", None)


def _import_validates(tmp_path: Path, answer_url: str, variable: str | None) -> None:
    """Import a one-request collection; a spec written with exit 0 must validate, or the
    import must have said why on stderr."""
    body = {
        "from": "+14152224444",
        "to": "+14155550100",
        "answer_url": answer_url,
    }
    collection = {
        "info": {
            "name": "c",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "variable": [{"key": variable, "value": "staging"}] if variable else [],
        "item": [
            {
                "name": "page",
                "request": {
                    "method": "POST",
                    "url": "https://api.plivo.com/v1/Account/{{auth_id}}/Call/",
                    "body": {"mode": "raw", "raw": json.dumps(body)},
                },
            }
        ],
    }
    source = tmp_path / "c.json"
    source.write_text(json.dumps(collection))
    out = tmp_path / "seed.yaml"
    imported = invoke(["import", "postman", source, "-o", out])
    if imported.exit_code == 0 and not imported.stderr:
        checked = invoke(["validate", out])
        assert checked.exit_code == 0, checked.output


def test_second_ctrl_c_gives_the_cursor_back(tmp_path: Path) -> None:
    import signal
    import socket
    import threading

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


def test_quiet_run_with_a_failing_check_prints_no_report_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: the answer_url check fails, nothing is sent
    (tmp_path / "s.yaml").write_text(
        "version: 1\ncalls:\n  - name: one\n"
        f'    to: "+14155550100"\n    from: "+14152224444"\n'
        f"    answer_url: http://127.0.0.1:{port}/answer.xml\n"
    )
    result = invoke(
        [
            "run",
            tmp_path / "s.yaml",
            "--sandbox",
            "--check",
            "--quiet",
            "--report",
            tmp_path / "r.json",
        ]
    )
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.stderr  # the problem is printed
    assert "report:" not in result.stdout, result.stdout


def test_explain_to_a_full_disk_is_not_an_internal_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    (tmp_path / "s.yaml").write_text(
        "version: 1\ncalls:\n  - name: one\n"
        '    to: "+14155550100"\n    from: "+14152224444"\n'
        "    answer_url: https://hooks.example.com/a\n"
    )
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "callspec", "explain", str(tmp_path / "s.yaml")],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
