"""A full disk or a closed pipe on stdout is the user's output failing, not a callspec bug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

SPEC = (
    "version: 1\ncalls:\n  - name: one\n"
    '    to: "+14155550100"\n    from: "+14152224444"\n'
    "    answer_url: https://hooks.example.com/a\n"
)


def _run(tmp_path: Path, command: str, stdout: object) -> subprocess.CompletedProcess[str]:
    (tmp_path / "s.yaml").write_text(SPEC)
    return subprocess.run(
        [sys.executable, "-m", "callspec", command, str(tmp_path / "s.yaml")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["explain", "render", "validate"])
def test_a_full_stdout_is_a_plain_output_error(tmp_path: Path, command: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = _run(tmp_path, command, full)
    assert proc.returncode == 1
    assert proc.stderr == "callspec: cannot write the output: No space left on device\n"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader went away before a byte was written
    with os.fdopen(write, "w") as pipe:
        proc = _run(tmp_path, "render", pipe)
    assert proc.returncode == 1
    assert proc.stderr == ""


@pytest.mark.parametrize("command", ["explain", "render", "validate"])
def test_a_name_that_is_not_utf8_prints_on_a_strict_stdout(tmp_path: Path, command: str) -> None:
    """A file name that is not UTF-8 reaches stdout as its escape where the stream is
    strict (PYTHONIOENCODING=utf-8), on every command: not an internal error."""
    (Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.yaml"))).write_text(SPEC)
    proc = subprocess.run(
        [sys.executable, "-m", "callspec", command, str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"internal error" not in proc.stderr
    if command == "explain":
        assert b"caf\\udce9.yaml:3" in proc.stdout
