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
An escalation step's lines also name its chain (``chain``: the chain's key,
see :func:`callspec.spec.escalation.chain_key`), so a resume finds every step
of a chain an earlier run placed, even one whose row was removed since.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import sys
import threading

if sys.platform != "win32":
    import fcntl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callspec.delivery.entries import JournalEntry, Target
from callspec.delivery.settled import reached
from callspec.errors import GuardError, UsageError
from callspec.paths import file_identity
from callspec.redact import Redactor
from callspec.results import Answer, CallResult, now_iso
from callspec.spec.plan import CallPlan

_UNMASKED = frozenset(
    {
        "event",
        "time",
        "run_id",
        "key",
        "abs_key",
        "content_key",
        "body_key",
        "placed_in",
        "spec_path",
        "abs_path",
        "outcome",
        "skip_kind",
        "status",
        "attempts",
        "target",
        "chain",
        "on_call",
        "registration",
    }
)


class JournalWriteError(OSError):
    """A journal line could not be made durable; no call may be sent after it."""

    def __str__(self) -> str:
        return str(self.strerror)


def _on_call(call: CallPlan) -> dict[str, Any]:
    """Who a rotation or calendar had on call for ``call`` (and when it was asked): a resume
    resolves at that instant again (see callspec.oncall.resume)."""
    return {"on_call": dict(call.on_call)} if call.on_call else {}


def lock(path: Path, fd: int) -> None:
    """Hold ``path`` for this process alone; another run using it is refused (exit 4).

    Two runs resuming one journal at once would both send what it lists as
    pending.  The lock is released when ``fd`` is closed (or the process ends).
    """
    if sys.platform == "win32":  # pragma: no cover - no flock there
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:  # the caller closes ``fd``
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
        try:
            lock(path, fd)
            _refuse_foreign(path, fd)
            _drop_cut_tail(fd)
        except BaseException:
            os.close(fd)
            raise
        self._identity = file_identity(fd)
        self._fd: int | None = fd
        self._broken: str | None = None

    def _write(self, event: Mapping[str, Any], sync: bool) -> None:
        """Append one line; raise :class:`JournalWriteError` unless all of it is written.

        A line is written whole or not at all: a write cut short (a full disk
        writes part of a line and returns a short count without raising) is
        finished, and when it cannot be, the file is cut back to where the line
        began, so the next line never lands after half of this one.  When even
        that fails, the journal takes no further lines.
        """
        # Masked as values, before JSON escaping could change a secret's spelling; the
        # identity fields never (a short secret inside a key would break --resume).
        masked = {k: v if k in _UNMASKED else self.redactor.value(v) for k, v in event.items()}
        line = (json.dumps(masked, separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = self._fd
            if fd is None:
                raise JournalWriteError(errno.EBADF, f"journal {self.path} is closed")
            if self._broken is not None:
                raise JournalWriteError(errno.EIO, self._broken)
            self._check_still_there()
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                _write_all(fd, line)
            except OSError as e:
                self._cut_back(fd, start, e)
                raise JournalWriteError(e.errno or errno.EIO, errno_text(e)) from e
        if sync:
            # Outside the lock, so workers' syncs overlap; each returns only once
            # its own line, and every line written before it, is on disk.
            try:
                _sync(fd)
            except OSError as e:
                raise JournalWriteError(e.errno or errno.EIO, errno_text(e)) from e

    def _check_still_there(self) -> None:
        """A journal deleted or replaced under a run records nothing a resume would read."""
        try:
            identity = file_identity(self.path)
        except OSError as e:
            raise JournalWriteError(e.errno or errno.ENOENT, f"ENOENT: {self.path} is gone") from e
        if identity != self._identity:
            raise JournalWriteError(
                errno.ESTALE, f"ESTALE: {self.path} was replaced by another file"
            )

    def _cut_back(self, fd: int, start: int, error: OSError) -> None:
        try:
            os.ftruncate(fd, start)
        except OSError:
            self._broken = f"{errno_text(error)}, and the cut line could not be removed"

    def started(
        self,
        call: CallPlan,
        target: Target | None = None,
        registration: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        """Before the first byte of a call goes out; returns only once the line is durable.
        ``registration``: its message's at the answer service (made before it is registered,
        so a resume knows where to read its acknowledgement); ``body``: as sent, when it is
        more than the plan's (the answer_url made for a message)."""
        self._write(
            {
                "event": "started",
                "time": now_iso(),
                "run_id": self.run_id,
                **_identity(call),
                "name": call.name,
                "target": target.as_json() if target else None,
                "body": dict(call.body if body is None else body),
                **({"registration": registration} if registration else {}),
                **_chain(call),
                **_on_call(call),
            },
            sync=True,
        )

    def finished(
        self,
        result: CallResult,
        call: CallPlan,
        state: str | None = None,
        target: Target | None = None,
        placed_in: str | None = None,
    ) -> None:
        """After a call's outcome is known (also for calls skipped or never sent).

        ``state`` is what a later ``--resume`` must see when it differs from the
        outcome: a call a resumed run skipped because it had fired stays "fired"
        in this journal too, even when it is a new file; ``placed_in`` and
        ``target`` then say which run placed it, and where.
        """
        self._write(
            {
                "event": "finished",
                "time": now_iso(),
                "run_id": self.run_id,
                **_identity(call),
                "name": result.name,
                "outcome": result.outcome,
                "state": state or result.outcome,
                "target": target.as_json() if target else None,
                "placed_in": placed_in,
                "status": result.status,
                "request_uuid": result.request_uuid,
                "api_id": result.api_id,
                "error": result.error,
                "attempts": len(result.attempts),
                # Why it was not sent, when it was not (quiet hours, a stopped chain): in
                # words, and as a fact (``held``: quiet hours) that readers need not parse.
                **({"reason": result.reason} if result.reason else {}),
                **({"skip_kind": result.skip_kind} if result.skip_kind else {}),
                **({"registration": result.registration} if result.registration else {}),
                **_chain(call),
                **_on_call(call),
            },
            sync=False,
        )

    def answered(self, result: CallResult, call: CallPlan) -> None:
        """What became of a followed call (an escalation step): a resume reads it back to know
        whether the chain was answered, and never rings that step again."""
        self._write(
            {
                "event": "answered",
                "time": now_iso(),
                "run_id": self.run_id,
                **_identity(call),
                "name": result.name,
                "answers": [dataclasses.asdict(a) for a in result.answers or ()],
                # A resume ends the whole chain on this (even a roster edited since).
                **_chain(call),
                "reached": reached(result),
            },
            sync=True,
        )

    def carried(
        self, entry: JournalEntry, answers: tuple[Answer, ...] | None, chain: str, ended: bool
    ) -> None:
        """A step an earlier run placed whose call the plan no longer holds (its row was
        removed), read back by this one: its state carried over, then what became of it."""
        identity = {
            "key": entry.key,
            "abs_key": entry.abs_key,
            "content_key": entry.content_key,
            "body_key": entry.body_key,
            "spec_file": entry.spec_file,
            "spec_path": entry.spec_path,
            "abs_path": entry.abs_path,
            "name": entry.name,
            "chain": chain,
        }
        line = {"time": now_iso(), "run_id": self.run_id, **identity}
        self._write(
            {
                "event": "finished",
                **line,
                "outcome": "skipped" if entry.state in ("fired", "queued") else "unknown",
                "state": entry.state,
                "target": entry.target.as_json() if entry.target else None,
                "placed_in": entry.run_id,
                "request_uuid": entry.request_uuid,
                "body": {"to": entry.to},
            },
            sync=False,
        )
        if answers is not None:
            answered = [dataclasses.asdict(a) for a in answers]
            self._write({"event": "answered", **line, "answers": answered, "reached": ended}, True)

    def close(self) -> None:
        """Sync what is left, close and unlock; called once every worker has stopped."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _sync(fd)
            finally:
                os.close(fd)


def _chain(call: CallPlan) -> dict[str, str]:
    """The chain a step belongs to (its key), for a step of an escalation; else nothing."""
    return {"chain": call.escalate.key} if call.escalate is not None else {}


def _identity(call: CallPlan) -> dict[str, str]:
    """Both identities of a call: work-tree-relative (survives a move) and absolute."""
    return {
        "key": call.key,
        "abs_key": call.legacy_key,
        "content_key": call.content_key,
        "body_key": call.body_key,
        "spec_file": call.spec_file,
        "spec_path": call.spec_path,
        "abs_path": call.abs_path,
    }


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written; a write that makes no progress raises."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "the write made no progress")
        view = view[written:]


def errno_text(error: OSError) -> str:
    """``ENOSPC: No space left on device``: the errno's name first, for scripts and people."""
    name = errno.errorcode.get(error.errno or 0, "")
    text = error.strerror or str(error)
    return f"{name}: {text}" if name else text


def _drop_cut_tail(fd: int) -> None:
    """Cut off a last line a crash left without its newline (it was never synced).

    Read backwards in blocks until a newline: a cut line may be longer than
    any block (a bulk call's body of a thousand destinations).
    """
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - (1 << 16))
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            return
        end = start
    os.ftruncate(fd, 0)


def _refuse_foreign(path: Path, fd: int) -> None:
    """A non-empty file that is not a callspec journal is never appended to (nor cut)."""
    head = os.pread(fd, 1 << 16, 0)
    if not head:
        return
    first, newline, _ = head.partition(b"\n")
    try:
        event = json.loads(first)
        ok = isinstance(event, dict) and "event" in event and "key" in event
    except ValueError:  # a first line a crash cut short is still ours
        ok = not newline and first.startswith(b'{"event":')
    if not ok:
        raise UsageError(
            f"{path} is not a callspec journal; refusing to write to it (give --journal "
            "a new file or an existing journal)"
        )


_sync = getattr(os, "fdatasync", os.fsync)
