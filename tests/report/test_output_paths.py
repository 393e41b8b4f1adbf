"""Output paths: one file per output, devices, FIFOs and descriptors written into.

Runs go to the real sandbox on 127.0.0.1; a FIFO's reader is a thread of the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import cred_env, invoke, run_args, sandbox, write_profiles, write_spec

from callspec.errors import ExitCode, UsageError
from callspec.report.outputs import check_writable, write_output
from callspec.sandbox.server import Sandbox

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox, two calls in tmp_path/calls.yaml, and tmp_path as the working folder."""
    monkeypatch.chdir(tmp_path)  # default reports and journals land in tmp_path/.callspec
    write_profiles(tmp_path)
    write_spec(tmp_path, 2)
    with sandbox() as sb:
        yield sb


def _run(box: Sandbox, folder: Path, *extra: str) -> tuple[int, str]:
    result = invoke(run_args(folder, box.url, *extra), cred_env())
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("--report=out/r.json", "--junit=out/r.json", "--report and --junit"),
        ("--report=out/r.json", "--junit=out/../out/r.json", "--report and --junit"),
        ("--junit=out/j.xml", "--journal=link-to-j.xml", "--junit and --journal"),
        (
            "--report=out/r.json",
            "--junit=out/r.journal.jsonl",
            "--junit and --journal (default: beside the report)",
        ),
        ("--report=out/r.json", "--journal=hard-r.json", "--report and --journal"),
        ("--report=out/r.json", "--journal=out/r.json", "--report and --journal"),
    ],
)
def test_one_file_named_by_two_outputs_is_a_usage_error(
    box: Sandbox, tmp_path: Path, first: str, second: str, message: str
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "link-to-j.xml").symlink_to(tmp_path / "out" / "j.xml")  # dangling until written
    (tmp_path / "out" / "r.json").write_text("{}")
    os.link(tmp_path / "out" / "r.json", tmp_path / "hard-r.json")
    code, output = _run(box, tmp_path, first, second)
    assert code == ExitCode.USAGE, output
    assert f"callspec: {message} name the same file" in output
    assert box.calls == []
    assert not (tmp_path / "out" / "j.xml").exists()
    assert (tmp_path / "out" / "r.json").read_text() == "{}"


def test_an_output_over_the_resumed_journal_is_a_usage_error(box: Sandbox, tmp_path: Path) -> None:
    code, _ = _run(box, tmp_path, "--report", "first.json")
    assert code == ExitCode.OK
    journal = tmp_path / "first.journal.jsonl"
    before = journal.read_text()
    for extra in (
        ["--report", str(journal)],  # the journal defaults to the resumed one
        ["--report", str(journal), "--journal", "other.jsonl"],
        ["--junit", "./first.journal.jsonl", "--journal", "other.jsonl"],
    ):
        code, output = _run(box, tmp_path, "--resume", str(journal), *extra)
        assert code == ExitCode.USAGE, output
        assert "name the same file" in output, output
    assert journal.read_text() == before
    assert len(box.calls) == 2


@pytest.mark.parametrize("spelling", ["default", "same", "dotdot", "symlink"])
def test_resume_appends_to_its_journal_however_spelled(
    box: Sandbox, tmp_path: Path, spelling: str
) -> None:
    code, _ = _run(box, tmp_path, "--report", "first.json")
    assert code == ExitCode.OK
    journal = tmp_path / "first.journal.jsonl"
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(journal)
    given = {
        "default": [],
        "same": ["--journal", str(journal)],
        "dotdot": ["--journal", "sub/../first.journal.jsonl"],
        "symlink": ["--journal", "link.jsonl"],
    }[spelling]
    lines = len(journal.read_text().splitlines())
    code, output = _run(box, tmp_path, "--resume", str(journal), "--report", "b.json", *given)
    assert code == ExitCode.OK, output
    assert len(journal.read_text().splitlines()) > lines  # appended: what it skipped
    assert len(box.calls) == 2  # nothing placed twice
    assert (tmp_path / "link.jsonl").is_symlink()


@pytest.mark.parametrize(
    "args",
    [
        ["--report", "calls.yaml"],
        ["--junit", "calls.yaml"],
        ["--report", "profiles.yaml"],
        ["--junit", "vars.yaml", "--vars-file", "vars.yaml"],
    ],
)
def test_an_output_over_an_input_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_profiles(tmp_path)
    write_spec(tmp_path, 1)
    (tmp_path / "vars.yaml").write_text("x: 1\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = invoke(["run", "--dry-run", "calls.yaml", *args], {})
    after = {name: (tmp_path / name).read_bytes() for name in before}
    assert after == before, "an input file was overwritten"
    assert result.exit_code == ExitCode.USAGE


def test_resume_and_journal_naming_one_file_two_ways_is_not_another_run(tmp_path: Path) -> None:
    write_spec(tmp_path, 2)
    journal = tmp_path / "j.jsonl"
    spec = str(tmp_path / "calls.yaml")
    assert invoke(["run", spec, "--sandbox", "--journal", str(journal)], {}).exit_code == 0
    (tmp_path / "link.jsonl").symlink_to(journal)
    link = str(tmp_path / "link.jsonl")
    again = invoke(["run", spec, "--sandbox", "--resume", link, "--journal", str(journal)], {})
    assert "in use by another callspec run" not in again.stderr
    assert again.exit_code == ExitCode.OK, again.stderr


def test_the_journal_option_never_truncates_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    write_spec(tmp_path, 1)
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nimportant last line without newline")
    invoke(["run", str(tmp_path / "calls.yaml"), "--sandbox", "--journal", str(notes)], {})
    assert "important last line without newline" in notes.read_text()


def _private_null(folder: Path) -> Path:
    """A character device of our own, like /dev/null (root only): safe to get wrong."""
    node = folder / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot create a device node here (needs root)")
    return node


@pytest.mark.parametrize("device", ["/dev/null", "private"])
def test_a_device_report_is_written_into_not_replaced(
    box: Sandbox, tmp_path: Path, device: str
) -> None:
    path = Path(device) if device == "/dev/null" else _private_null(tmp_path)
    code, output = _run(box, tmp_path, "--report", str(path), "--junit", str(tmp_path / "j.xml"))
    assert code == ExitCode.OK, output
    assert stat.S_ISCHR(os.stat(path).st_mode)
    assert len(box.calls) == 2
    # The journal has no folder beside a device: it goes where a default report would.
    journals = list((tmp_path / ".callspec" / "runs").glob("*/report.journal.jsonl"))
    assert len(journals) == 1 and f"journal {journals[0].relative_to(tmp_path)}" in output
    assert not list(tmp_path.glob(".null*"))  # no temp file left beside the device


def test_a_report_that_could_not_be_written_is_not_named(box: Sandbox, tmp_path: Path) -> None:
    """``--report /dev/full`` (ENOSPC): stdout names the journal, not the report it lacks."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    journal = tmp_path / "j.jsonl"
    result = invoke(
        run_args(tmp_path, box.url, "--report", "/dev/full", "--journal", str(journal)),
        cred_env(),
    )
    assert result.exit_code == ExitCode.CALL_FAILED, result.output
    assert "callspec: cannot write /dev/full: No space left on device" in result.stderr
    assert result.stdout.splitlines()[-1] == f"journal: {journal}"


@pytest.mark.parametrize("device", ["/dev/null", "fifo"])
def test_a_journal_that_is_no_regular_file_is_a_usage_error(
    box: Sandbox, tmp_path: Path, device: str
) -> None:
    """It is synced, locked and read back by --resume: a device cannot be (fdatasync: EINVAL)."""
    path = Path(device) if device == "/dev/null" else tmp_path / "journal.fifo"
    if device == "fifo":
        os.mkfifo(path)
    code, output = _run(box, tmp_path, "--journal", str(path))
    assert code == ExitCode.USAGE, output
    assert f"callspec: cannot write {path}: the journal must be a regular file" in output
    assert box.calls == []


def test_a_fifo_report_is_written_into_for_its_reader(box: Sandbox, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:  # blocks until the run opens it for writing
            received.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code, output = _run(box, tmp_path, "--report", str(fifo))
    finally:
        reader.join(5)  # the run wrote and closed it: the reader ends at once
        if reader.is_alive():  # the run never wrote it: release the reader
            with contextlib.suppress(OSError):  # ENXIO: it let go in between
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(10)
    assert code == ExitCode.OK, output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and json.loads(received[0])["summary"]["fired"] == 2


def test_probing_a_fifo_without_a_reader_neither_hangs_nor_refuses(tmp_path: Path) -> None:
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    check_writable(fifo)  # would block on open() without O_NONBLOCK, or fail with ENXIO
    fifo.chmod(0o444)
    if os.geteuid() != 0:  # root may write anything
        with pytest.raises(UsageError, match="Permission denied"):
            check_writable(fifo)


@pytest.mark.parametrize("name", ["/dev/fd/{fd}", "/proc/self/fd/{fd}", "link"])
def test_a_descriptors_name_is_written_through_it_not_replaced(tmp_path: Path, name: str) -> None:
    """``--report /dev/stdout > out.txt``: the report lands where stdout is, in order."""
    target = tmp_path / "stdout.txt"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)  # as a shell's `>` does
    try:
        os.write(fd, b"table\n")
        path = tmp_path / name if name == "link" else Path(name.format(fd=fd))
        if name == "link":
            path.symlink_to(f"/proc/self/fd/{fd}")
        inode = os.stat(target).st_ino
        check_writable(path)
        write_output(path, b"{}\n")
        os.write(fd, b"report: stdout\n")  # what the run prints after the report
    finally:
        os.close(fd)
    assert target.read_text() == "table\n{}\nreport: stdout\n"
    assert os.stat(target).st_ino == inode


def test_a_symlinked_report_replaces_its_target_not_the_link(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "latest.json").symlink_to(tmp_path / "runs" / "r.json")
    write_output(tmp_path / "latest.json", b"{}\n")
    assert (tmp_path / "latest.json").is_symlink()
    assert (tmp_path / "runs" / "r.json").read_text() == "{}\n"
