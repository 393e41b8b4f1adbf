"""The store: durable settings, retention bounds, and what a key means (a pinned clock)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from callspec.serve.prompt import Prompt
from callspec.serve.store import MAX_LEGS, MESSAGE_RETENTION_S, Store, StoreError

PAGE = Prompt("Press 1.", within_s=45)
ID = "A" * 24


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    kept = Store(tmp_path / "acks.db", clock, retention_s=7 * 24 * 3600, max_registrations=3)
    yield kept
    kept.close()


def test_commits_are_durable(store: Store) -> None:
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    # synchronous is per connection: the store's own, FULL (2), syncs the WAL at each commit.
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_registering_again_is_harmless_and_another_prompt_conflicts(store: Store) -> None:
    assert store.register(ID, PAGE)[0] == "created"
    assert store.register(ID, PAGE)[0] == "same"
    assert store.register(ID, Prompt("Press 2.", digit="2"))[0] == "conflict"


def test_a_full_store_refuses_until_registrations_expire(store: Store, clock: Clock) -> None:
    for n in range(3):
        assert store.register(f"{n}" * 24, PAGE)[0] == "created"
    assert store.register("9" * 24, PAGE) == ("full", 0.0)
    clock.now += 7 * 24 * 3600 + 1
    assert store.register("9" * 24, PAGE)[0] == "created"
    assert store.record("0" * 24) is None


def test_the_message_is_erased_after_a_day_and_the_ack_kept_for_the_retention(
    store: Store, clock: Clock
) -> None:
    store.register(ID, PAGE)
    assert store.answered(ID, "call-1")
    record = store.record(ID)
    assert record is not None
    assert store.pressed(ID, "call-1", "1", record) == ("acknowledged", 0)
    clock.now += MESSAGE_RETENTION_S + 1
    assert store.prune() == (0, 1)
    kept = store.record(ID)
    assert kept is not None and kept.prompt is None
    assert kept.legs[0].ack_at is not None
    clock.now += 7 * 24 * 3600
    assert store.prune() == (1, 0)
    assert store.record(ID) is None


def test_what_a_key_means(store: Store, clock: Clock) -> None:
    store.register(ID, PAGE)
    record = store.record(ID)
    assert record is not None
    store.answered(ID, "call-1")
    assert store.pressed(ID, "call-1", "", record) == ("none", 0)
    assert store.pressed(ID, "call-1", "7", record) == ("wrong", 1)
    clock.now += 10
    assert store.pressed(ID, "call-1", "1", record) == ("acknowledged", 1)
    assert store.pressed(ID, "call-1", "1", record) == ("again", 1)
    first = store.record(ID)
    assert first is not None and first.legs[0].ack_at == clock.now
    # Another call of the same registration, its key after `within`: late, not acknowledged.
    store.answered(ID, "call-2")
    clock.now += 46
    assert store.pressed(ID, "call-2", "1", record) == ("late", 0)
    legs = {leg.call_uuid: leg for leg in (store.record(ID) or record).legs}
    assert legs["call-2"].ack_at is None and legs["call-2"].late_at == clock.now


def test_calls_per_registration_are_bounded(store: Store) -> None:
    store.register(ID, PAGE)
    for n in range(MAX_LEGS):
        assert store.answered(ID, f"call-{n}")
    assert not store.answered(ID, "one-too-many")
    assert store.answered(ID, "call-0")  # a known call still is


def test_a_nonce_is_used_once_within_its_window(store: Store, clock: Clock) -> None:
    assert store.remember_nonce("a" * 32, clock.now + 300)
    assert not store.remember_nonce("a" * 32, clock.now + 300)
    clock.now += 301
    store.prune()
    assert store.remember_nonce("a" * 32, clock.now + 300)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "acks.db"
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(
        StoreError, match=r"cannot use .*acks\.db as the store: file is not a database"
    ):
        Store(path)
