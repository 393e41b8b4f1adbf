"""The documentation's pasteable commands, run as a user would paste them.

A page marks what the tests run with an HTML comment (invisible when rendered) on
the line before a fenced block:

- ``<!-- test: run -->`` before a ``sh`` block: run it with ``bash -e`` (a failing
  command fails the page; a block that shows a failure on purpose says
  ``|| echo "exit $?"``), in the page's own folder, empty at the start; blocks run in
  the page's order and a ``cd`` carries over to the next block.
  ``<!-- test: run, with specs -->`` first copies the checkout's ``specs/`` there.
- ``<!-- test: output -->`` before a plain block: every line of it (but ``...``) must
  be a line the last run block printed, on stdout or stderr, once what changes from
  run to run is masked (UUIDs, times, durations, a summary row's milliseconds) and
  runs of spaces are one; ``...`` inside a line matches anything.

What a page writes as placeholders is read as this checkout: ``path/to/callspec`` is
the repository, and each port a block listens on or connects to (``127.0.0.1:8765``,
``http.server 8765``, ``--port 8765``, ``("127.0.0.1", 8765)``) is replaced by a free one, in the
blocks and in the output they must print. The shell has this environment's
``callspec`` and ``python3`` first on its PATH and no Plivo credentials.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_MARKED = re.compile(
    r"^<!-- test: (?P<kind>run|output)(?P<specs>, with specs)? -->\n"
    r"```(?P<lang>\w*)[^\n]*\n(?P<text>.*?)^```",
    re.S | re.M,
)
_PORT = re.compile(
    r'(?:(?<=127\.0\.0\.1:)|(?<=http\.server )|(?<=--port )|(?<="127\.0\.0\.1", ))(\d{4,5})\b'
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
_RUN_DIR = re.compile(r"\b\d{8}T\d{6}\.\d+Z\b")
_DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")
BLOCK_TIMEOUT = 60  # seconds; the pages' blocks take a few
_SUMMARY_ROW = re.compile(r"^\S+ +(?:fired|queued|failed|unknown|skipped|invalid) ")
_TRAILING_MS = re.compile(r" +\d+$")


@dataclass(frozen=True)
class Block:
    """One marked block of a page: what to do with it, and where it is."""

    page: Path
    line: int
    kind: str  # "run" or "output"
    lang: str
    text: str
    with_specs: bool

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Ran:
    """What a run block did."""

    block: Block
    code: int
    stdout: str
    stderr: str

    def lines(self) -> set[str]:
        return {normalize(line) for line in (self.stdout + "\n" + self.stderr).splitlines()}


def blocks(page: Path) -> list[Block]:
    """The page's marked blocks, in order."""
    text = page.read_text(encoding="utf-8")
    return [
        Block(
            page=page,
            line=text.count("\n", 0, m.start()) + 2,
            kind=m["kind"],
            lang=m["lang"],
            text=m["text"],
            with_specs=bool(m["specs"]),
        )
        for m in _MARKED.finditer(text)
    ]


def pages() -> list[Path]:
    """Every documentation page with a block to run: the README and docs/*.md."""
    candidates = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [p for p in candidates if any(b.kind == "run" for b in blocks(p))]


def normalize(line: str) -> str:
    """A line with what changes from run to run masked and runs of spaces made one."""
    line = _UUID.sub("<uuid>", line)
    line = _TIME.sub("<time>", line)
    line = _RUN_DIR.sub("<run>", line)
    line = _DURATION.sub("<duration>", line)
    line = " ".join(line.split())
    if _SUMMARY_ROW.match(line):
        line = _TRAILING_MS.sub(" <ms>", line)
    return line


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Session:
    """A user's terminal for one page: an empty folder, the page's blocks in order."""

    def __init__(self, page: Path, home: Path) -> None:
        self.page = page
        self.home = home
        self.cwd = home
        self.ran: list[Ran] = []
        found = sorted({p for b in blocks(page) for p in _PORT.findall(b.text)})
        self.ports = dict(zip(found, map(str, _free_ports(len(found))), strict=True))

    def localize(self, text: str) -> str:
        """The page's placeholders read as this checkout and this run's ports."""
        text = text.replace("path/to/callspec", str(ROOT))
        return _PORT.sub(lambda m: self.ports.get(m[1], m[1]), text)

    def run(self, block: Block) -> Ran:
        if block.with_specs:
            shutil.copytree(ROOT / "specs", self.cwd / "specs", dirs_exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            state, out, err = (Path(scratch) / name for name in ("cwd", "stdout", "stderr"))
            body = self.localize(block.text)
            script = f"set -e\ncd {_quote(self.cwd)}\n{body}\npwd > {_quote(state)}\n"
            with out.open("w") as stdout, err.open("w") as stderr:
                # Its own session: whatever the block leaves running (a server it did
                # not reach the `kill` of) is ended with it, by its group's id.
                proc = subprocess.Popen(
                    ["bash", "-c", script],
                    env=_environment(self.home),
                    stdout=stdout,
                    stderr=stderr,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    code = proc.wait(timeout=BLOCK_TIMEOUT)
                except subprocess.TimeoutExpired:
                    code = -1  # reported with what it printed
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait()
            if state.exists():
                self.cwd = Path(state.read_text().strip())
            ran = Ran(block, code, out.read_text(), err.read_text())
        self.ran.append(ran)
        return ran

    def expect(self, block: Block) -> list[str]:
        """The lines of an output block the last run did not print (empty: all printed)."""
        assert self.ran, f"{block.where()}: an output block before any run block"
        printed = self.ran[-1].lines()
        missing = []
        for shown in self.localize(block.text).splitlines():
            want = normalize(shown)
            if not want or want == "...":
                continue
            if "..." in want:
                pattern = re.compile(".*".join(map(re.escape, want.split("..."))))
                if not any(pattern.fullmatch(line) for line in printed):
                    missing.append(shown)
            elif want not in printed:
                missing.append(shown)
        return missing

    def play(self) -> None:
        """Every marked block of the page, in order; fails at the first that does not hold."""
        for block in blocks(self.page):
            if block.kind == "run":
                assert block.lang == "sh", f"{block.where()}: only sh blocks run"
                ran = self.run(block)
                assert ran.code == 0, (
                    f"{block.where()}: exit {ran.code}\n--- stdout\n{ran.stdout}"
                    f"--- stderr\n{ran.stderr}"
                )
            else:
                missing = self.expect(block)
                last = self.ran[-1]
                assert not missing, (
                    f"{block.where()}: not printed:\n"
                    + "\n".join(missing)
                    + f"\n--- stdout\n{last.stdout}--- stderr\n{last.stderr}"
                )


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _environment(home: Path) -> dict[str, str]:
    """A clean user's environment: this checkout's callspec first, no credentials."""
    bindir = Path(sys.executable).parent
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(home),
    }
