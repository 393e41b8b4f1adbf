"""The journal: a JSON-lines record of every call, written before it is sent and after.

Every line is flushed to the operating system at once (a killed process loses
nothing).  A "started" line is also synced to disk before its call is sent; a
"finished" line is synced with the next "started" line, or when the journal
closes.  So even a power cut loses nothing that was sent: at worst a call's
"finished" line, and that call then resumes as unknown, never resent.  (One
sync per call instead of two: the journal's cost halves.)
``--resume`` reads a journal back into the last known state of every call
(by its stable key), which decides what a resumed run may send again:
fired and queued calls never, unknown ones (including calls started but
never finished) only when the user says so, failed and skipped ones again.
The journal never holds credentials; bodies are written with secrets masked.
"""

from __future__ import annotations

import json
import os
import sys
import threading

if sys.platform != "win32":
    import fcntl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callspec.errors import GuardError, Location, Problem, SpecError
from callspec.redact import Redactor
from callspec.results import CallResult
from callspec.send import now_iso


@dataclass(frozen=True)
class JournalEntry:
    """The last state of one call in a journal."""

    key: str
    name: str
    spec_file: str
    state: str  # "started", or an outcome
    run_id: str
    request_uuid: str | list[str] | None = None
    #: The spec file's absolute path (journals before 0.1.0 final may lack it).
    spec_path: str = ""


_UNMASKED = frozenset(
    {"event", "time", "run_id", "key", "spec_path", "outcome", "status", "attempts"}
)


def lock(path: Path, fd: int) -> None:
    """Hold ``path`` for this process alone; another run using it is refused (exit 4).

    Two runs resuming one journal at once would both send what it lists as
    pending.  The lock is released when ``fd`` is closed (or the process ends).
    """
    if sys.platform == "win32":  # pragma: no cover - no flock there
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        raise GuardError(f"journal {path} is in use by another callspec run") from e


class Journal:
    """Appends events, one JSON line each, to a file it holds locked; thread-safe."""

    def __init__(self, path: Path, run_id: str, redactor: Redactor) -> None:
        self.path = path
        self.run_id = run_id
        self.redactor = redactor
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        lock(path, fd)
        _drop_cut_tail(fd)
        self._fd: int | None = fd

    def _write(self, event: Mapping[str, Any], sync: bool) -> None:
        # Masked as values, before JSON escaping could change a secret's spelling; the
        # identity fields never (a short secret inside a key would break --resume).
        masked = {k: v if k in _UNMASKED else self.redactor.value(v) for k, v in event.items()}
        line = (json.dumps(masked, separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = self._fd
            if fd is None:
                raise OSError(f"journal {self.path} is closed")
            os.write(fd, line)  # one write per line, straight to the OS: nothing buffered
        if sync:
            # Outside the lock, so workers' syncs overlap; each returns only once
            # its own line, and every line written before it, is on disk.
            _sync(fd)

    def started(
        self, key: str, spec_file: str, spec_path: str, name: str, body: Mapping[str, Any]
    ) -> None:
        """Before the first byte of a call goes out."""
        self._write(
            {
                "event": "started",
                "time": now_iso(),
                "run_id": self.run_id,
                "key": key,
                "spec_file": spec_file,
                "spec_path": spec_path,
                "name": name,
                "body": dict(body),
            },
            sync=True,
        )

    def finished(self, result: CallResult, spec_path: str, state: str | None = None) -> None:
        """After a call's outcome is known (also for calls skipped or never sent).

        ``state`` is what a later ``--resume`` must see when it differs from the
        outcome: a call a resumed run skipped because it had fired stays "fired"
        in this journal too, even when it is a new file.
        """
        self._write(
            {
                "event": "finished",
                "time": now_iso(),
                "run_id": self.run_id,
                "key": result.key,
                "spec_file": result.spec_file,
                "spec_path": spec_path,
                "name": result.name,
                "outcome": result.outcome,
                "state": state or result.outcome,
                "status": result.status,
                "request_uuid": result.request_uuid,
                "api_id": result.api_id,
                "error": result.error,
                "attempts": len(result.attempts),
            },
            sync=False,
        )

    def close(self) -> None:
        """Sync what is left, close and unlock; called once every worker has stopped."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _sync(fd)
            finally:
                os.close(fd)


def _drop_cut_tail(fd: int) -> None:
    """Cut off a last line a crash left without its newline (it was never synced)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    start = max(0, size - (1 << 16))
    tail = os.pread(fd, size - start, start)
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    if cut >= 0:
        os.ftruncate(fd, start + cut + 1)
    elif start == 0:
        os.ftruncate(fd, 0)


_sync = getattr(os, "fdatasync", os.fsync)
# States a later outcome may replace: an attempt under way, or one that surely placed no call.
_OPEN = frozenset({"started", "failed", "skipped", "invalid"})


def read_journal(path: Path) -> dict[str, JournalEntry]:
    """The last state of every call in a journal, by key; a broken line is a SpecError."""
    entries: dict[str, JournalEntry] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Problem(Location(str(path)), "", f"cannot read journal: {e}")]) from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            key = event["key"]
            previous = entries.get(key)
            if event["event"] == "started":
                state = "started"
            elif previous is None or previous.state in _OPEN:
                state = event.get("state") or event["outcome"]
            else:
                # A call a run did not send (a resumed run skipping it, or reporting it
                # unknown again) keeps the state its last attempt left: once fired,
                # always fired, however often the journal is resumed.
                continue
            run_id = event["run_id"]
            if previous is not None and previous.state == "started" and state != "started":
                run_id = previous.run_id  # the run that sent it
            uuid = event.get("request_uuid") or (previous.request_uuid if previous else None)
            entries[key] = JournalEntry(
                key,
                event["name"],
                event["spec_file"],
                state,
                run_id,
                uuid,
                event.get("spec_path", previous.spec_path if previous else ""),
            )
        except (ValueError, KeyError, TypeError) as e:
            if number == len(lines):
                # A crash can cut the last line short.  Safe to ignore: a cut "started"
                # line was never fsync'ed, so its call was never sent; a cut "finished"
                # line leaves that call "started", which resumes as unknown.
                break
            where = Location(str(path), number, 1)
            raise SpecError([Problem(where, "", f"not a callspec journal line ({e})")]) from e
    return entries
