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
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from callspec.errors import Location, Problem, SpecError
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


class Journal:
    """Appends events, one fsync'ed JSON line each; safe to share between threads."""

    def __init__(self, path: Path, run_id: str, redactor: Redactor) -> None:
        self.path = path
        self.run_id = run_id
        self.redactor = redactor
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = path.open("a", encoding="utf-8")

    def _write(self, event: Mapping[str, Any], sync: bool) -> None:
        # Masked as values, before JSON escaping could change a secret's spelling; the
        # identity fields never (a short secret inside a key would break --resume).
        masked = {k: v if k in _UNMASKED else self.redactor.value(v) for k, v in event.items()}
        line = json.dumps(masked, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            fd = self._file.fileno()
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

    def finished(self, result: CallResult) -> None:
        """After a call's outcome is known (also for calls skipped or never sent)."""
        self._write(
            {
                "event": "finished",
                "time": now_iso(),
                "run_id": self.run_id,
                "key": result.key,
                "spec_file": result.spec_file,
                "name": result.name,
                "outcome": result.outcome,
                "status": result.status,
                "request_uuid": result.request_uuid,
                "api_id": result.api_id,
                "error": result.error,
                "attempts": len(result.attempts),
            },
            sync=False,
        )

    def close(self) -> None:
        """Sync what is left and close; called once every worker has stopped."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                _sync(self._file.fileno())
                self._file.close()


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
                state = event["outcome"]
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
