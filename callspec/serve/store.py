"""The service's state: one SQLite file (standard library ``sqlite3``), WAL, durable commits.

Three tables:

- ``registrations``: one row per registered call (its :class:`~callspec.serve.prompt.Prompt`),
  deleted ``retention_s`` after it was registered; its message text is erased
  ``message_retention_s`` after (a call cannot outlive four hours, so the text is
  no longer needed, and it may say more than the acknowledgement does);
- ``legs``: one row per call Plivo made for a registration (a ``CallUUID``; a bulk
  ``to`` makes several): when it was answered and ended, when the acknowledging key
  came (within time, or late), wrong keys;
- ``nonces``: the runner channel's nonces, each kept until its timestamp window ends.

Every write is one ``BEGIN IMMEDIATE`` transaction, committed with
``synchronous=FULL`` in WAL mode: once the service has answered Plivo's key
request, the key survives a ``kill -9`` and a power cut.  One connection, one
lock: writes are tiny and the service's bound is Plivo's rate, not SQLite's.
The first key that acknowledges stays: a replayed or repeated request changes
nothing it already recorded.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from callspec.errors import CallspecError, ExitCode
from callspec.paths import file_identity
from callspec.serve.prompt import Prompt

#: A registration (and its acknowledgements) is deleted this long after it was made.
DEFAULT_RETENTION_S = 7 * 24 * 3600
#: Its message text is erased this long after (Plivo ends every call within 4 h).
MESSAGE_RETENTION_S = 24 * 3600
#: Registrations held at most; past it a registration is refused (507) until some expire.
DEFAULT_MAX_REGISTRATIONS = 100_000
#: Calls (CallUUIDs) per registration: a bulk ``to`` has at most this many destinations.
MAX_LEGS = 100
_PRUNE_EVERY_S = 60.0
_SCHEMA_VERSION = 1
#: The first bytes of every SQLite database file.
_HEADER = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    id TEXT PRIMARY KEY, message TEXT, voice TEXT NOT NULL, language TEXT NOT NULL,
    digit TEXT NOT NULL, within_s INTEGER NOT NULL, repeat INTEGER NOT NULL,
    pause_s INTEGER NOT NULL, created REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS registrations_expires ON registrations (expires);
CREATE TABLE IF NOT EXISTS legs (
    registration TEXT NOT NULL, call_uuid TEXT NOT NULL, answered REAL, ended REAL,
    ack_at REAL, late_at REAL, wrong_keys INTEGER NOT NULL DEFAULT 0, last_digits TEXT,
    PRIMARY KEY (registration, call_uuid));
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires REAL NOT NULL);
"""

Registered = Literal["created", "same", "conflict", "full"]
Pressed = Literal["acknowledged", "again", "late", "wrong", "none", "too_many"]


class StoreError(CallspecError):
    """The store file cannot be opened or used as the service's store."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Leg:
    """One call Plivo made for a registration, as the store has it (Unix times)."""

    call_uuid: str
    answered: float | None
    ended: float | None
    ack_at: float | None
    late_at: float | None
    wrong_keys: int
    last_digits: str | None


@dataclass(frozen=True)
class Record:
    """A registration and its calls."""

    id: str
    prompt: Prompt | None  # None once its message was erased
    digit: str
    within_s: int
    created: float
    expires: float
    legs: tuple[Leg, ...]


class Store:
    """The service's SQLite store; every method is safe from any thread."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        retention_s: float = DEFAULT_RETENTION_S,
        max_registrations: int = DEFAULT_MAX_REGISTRATIONS,
    ) -> None:
        self.path = path
        self.retention_s = retention_s
        self.max_registrations = max_registrations
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned = 0.0
        try:
            self._db = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the store {path}: {e}") from e
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"the store {path} cannot use SQLite's WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise StoreError(f"the store {path} is of a newer callspec (schema {version})")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as e:
            self._db.close()
            raise StoreError(f"cannot use {path} as the store: {e}") from e
        except StoreError:
            self._db.close()
            raise
        #: The file opened (device, inode): a file deleted or put in its place while the
        #: service runs is no longer the one the connection writes to.
        self._identity = file_identity(path)
        #: Its write-ahead log, which holds every commit until a checkpoint copies it into
        #: the file: deleted or replaced, those commits are gone though the file is intact.
        self._wal = path.with_name(path.name + "-wal")
        self._wal_identity = file_identity(self._wal)
        self.prune()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One durable transaction under the lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Upkeep.

    def prune(self) -> tuple[int, int]:
        """Delete expired registrations (and their calls) and nonces, erase old messages;
        returns (registrations deleted, messages erased)."""
        now = self._clock()
        with self._write() as db:
            db.execute(
                "DELETE FROM legs WHERE registration IN "
                "(SELECT id FROM registrations WHERE expires <= ?)",
                (now,),
            )
            deleted = db.execute("DELETE FROM registrations WHERE expires <= ?", (now,)).rowcount
            erased = db.execute(
                "UPDATE registrations SET message = NULL "
                "WHERE message IS NOT NULL AND created <= ?",
                (now - MESSAGE_RETENTION_S,),
            ).rowcount
            db.execute("DELETE FROM nonces WHERE expires <= ?", (now,))
        self._pruned = now
        return deleted, erased

    def _maybe_prune(self) -> None:
        if self._clock() - self._pruned >= _PRUNE_EVERY_S:
            self.prune()

    def remember_nonce(self, nonce: str, expires: float) -> bool:
        """Remember a channel nonce until ``expires``; False when it was already seen."""
        self._maybe_prune()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO nonces (nonce, expires) VALUES (?, ?)", (nonce, expires)
            )
            return cursor.rowcount == 1

    def health(self) -> str | None:
        """Why the store cannot keep what it records (``/healthz``), or None when it can.

        A read on the open connection alone cannot tell: a file deleted, replaced or
        overwritten while the service runs still reads, from the open descriptor and
        SQLite's cache, while nothing written would survive a restart.  So the path must
        still name the file opened, and that file must still begin as a SQLite database;
        and its ``-wal`` file (WAL mode: commits live there until a checkpoint) must still
        be the one opened.
        (A whole ``PRAGMA quick_check`` reads every page: too much for a probe.)
        """
        try:
            if file_identity(self.path) != self._identity:
                return "the store file was replaced since the service opened it"
            with open(self.path, "rb") as file:
                if file.read(len(_HEADER)) != _HEADER:
                    return "the store file no longer begins as a SQLite database"
        except FileNotFoundError:
            return "the store file was deleted since the service opened it"
        except OSError as e:
            return f"the store file cannot be read: {e.strerror or e}"
        with self._lock:
            self._db.execute("SELECT 1 FROM registrations LIMIT 1").fetchall()
        # (after the read: a closed connection is the service's own failure, not the log's)
        log = "the store's write-ahead log (its -wal file)"
        try:
            if file_identity(self._wal) != self._wal_identity:
                return f"{log} was replaced since the service opened it"
        except FileNotFoundError:
            return f"{log} was deleted since the service opened it"
        except OSError as e:
            return f"{log} cannot be read: {e.strerror or e}"
        return None

    # The runner's side.

    def register(self, id: str, prompt: Prompt) -> tuple[Registered, float]:
        """Keep ``prompt`` under ``id``: created, the same as already kept, a conflict
        (another prompt has that ID), or refused because the store is full; and when
        the registration expires."""
        self._maybe_prune()
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT message, voice, language, digit, within_s, repeat, pause_s, expires "
                "FROM registrations WHERE id = ?",
                (id,),
            ).fetchone()
            if row is not None:
                same = tuple(row[:7]) == _columns(prompt)
                return ("same" if same else "conflict"), float(row[7])
            count = db.execute("SELECT COUNT(*) FROM registrations").fetchone()[0]
            if count >= self.max_registrations:
                return "full", 0.0
            expires = now + self.retention_s
            db.execute(
                "INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (id, *_columns(prompt), now, expires),
            )
            return "created", expires

    def record(self, id: str) -> Record | None:
        """The registration and its calls; None when unknown or expired."""
        now = self._clock()
        with self._lock:
            row = self._db.execute(
                "SELECT message, voice, language, digit, within_s, repeat, pause_s, created, "
                "expires FROM registrations WHERE id = ? AND expires > ?",
                (id, now),
            ).fetchone()
            if row is None:
                return None
            legs = self._db.execute(
                "SELECT call_uuid, answered, ended, ack_at, late_at, wrong_keys, last_digits "
                "FROM legs WHERE registration = ? ORDER BY answered, call_uuid",
                (id,),
            ).fetchall()
        message, voice, language, digit, within_s, repeat, pause_s, created, expires = row
        prompt = None
        if message is not None:
            prompt = Prompt(message, voice, language, digit, within_s, repeat, pause_s)
        return Record(
            id, prompt, digit, within_s, created, expires, tuple(Leg(*leg) for leg in legs)
        )

    # Plivo's side.

    def answered(self, id: str, call_uuid: str) -> bool:
        """Plivo fetched the answer URL for ``call_uuid``: its answer time, kept from the
        first fetch; False when the registration has too many calls already."""
        now = self._clock()
        with self._write() as db:
            if not _leg_exists(db, id, call_uuid) and _legs(db, id) >= MAX_LEGS:
                return False
            db.execute(
                "INSERT INTO legs (registration, call_uuid, answered) VALUES (?, ?, ?) "
                "ON CONFLICT (registration, call_uuid) DO UPDATE SET "
                "answered = COALESCE(answered, excluded.answered)",
                (id, call_uuid, now),
            )
            return True

    def ended(self, id: str, call_uuid: str) -> None:
        """Plivo's hangup request for ``call_uuid`` (sent to the answer URL without a
        hangup_url): when the call ended, if the call is known."""
        now = self._clock()
        with self._write() as db:
            db.execute(
                "UPDATE legs SET ended = COALESCE(ended, ?) "
                "WHERE registration = ? AND call_uuid = ?",
                (now, id, call_uuid),
            )

    def pressed(self, id: str, call_uuid: str, digits: str, record: Record) -> tuple[Pressed, int]:
        """Plivo's key request for ``call_uuid``: what the key means, and the wrong keys so
        far.  The first acknowledging key within time stays; a call whose answer the
        service never saw counts from this key (a person pressed it on the call)."""
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT answered, ack_at, wrong_keys FROM legs "
                "WHERE registration = ? AND call_uuid = ?",
                (id, call_uuid),
            ).fetchone()
            if row is None:
                if _legs(db, id) >= MAX_LEGS:
                    return "too_many", 0
                db.execute(
                    "INSERT INTO legs (registration, call_uuid, answered) VALUES (?, ?, ?)",
                    (id, call_uuid, now),
                )
                row = (now, None, 0)
            answered, ack_at, wrong = row
            where = (id, call_uuid)
            db.execute(
                "UPDATE legs SET last_digits = ? WHERE registration = ? AND call_uuid = ?",
                (digits, *where),
            )
            if ack_at is not None and digits[:1] == record.digit:
                return "again", wrong
            if not digits:
                return "none", wrong
            if digits[:1] != record.digit:
                db.execute(
                    "UPDATE legs SET wrong_keys = wrong_keys + 1 "
                    "WHERE registration = ? AND call_uuid = ?",
                    where,
                )
                return "wrong", wrong + 1
            if now - answered > record.within_s:
                db.execute(
                    "UPDATE legs SET late_at = COALESCE(late_at, ?) "
                    "WHERE registration = ? AND call_uuid = ?",
                    (now, *where),
                )
                return "late", wrong
            db.execute(
                "UPDATE legs SET ack_at = ? WHERE registration = ? AND call_uuid = ?",
                (now, *where),
            )
            return "acknowledged", wrong


def _columns(prompt: Prompt) -> tuple[object, ...]:
    return (
        prompt.message,
        prompt.voice,
        prompt.language,
        prompt.digit,
        prompt.within_s,
        prompt.repeat,
        prompt.pause_s,
    )


def _leg_exists(db: sqlite3.Connection, id: str, call_uuid: str) -> bool:
    query = "SELECT 1 FROM legs WHERE registration = ? AND call_uuid = ?"
    return db.execute(query, (id, call_uuid)).fetchone() is not None


def _legs(db: sqlite3.Connection, id: str) -> int:
    count: int = db.execute("SELECT COUNT(*) FROM legs WHERE registration = ?", (id,)).fetchone()[0]
    return count
