"""``/healthz`` answers for the store file, not only for the open connection: a store
deleted, replaced or overwritten while the service runs still reads through the open
descriptor, but nothing recorded would survive a restart.  Such a service says 503 and
why, and its log says it too."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from service_process import TOKEN

from callspec.serve.server import ServeConfig, Service

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Service, io.StringIO]]:
    log = io.StringIO()
    config = ServeConfig(store=tmp_path / "acks.db", auth_token=TOKEN, port=0, log=log)
    with Service(config) as service:
        yield service, log


def _deleted(store: Path) -> None:
    for path in store.parent.glob(store.name + "*"):
        path.unlink()


def _log_deleted(store: Path) -> None:
    # The main file is intact, but every commit not yet checkpointed is in the -wal file.
    for suffix in ("-wal", "-shm"):
        store.with_name(store.name + suffix).unlink()


def _zeroed(store: Path) -> None:
    with open(store, "r+b") as file:
        file.write(b"\0" * 4096)
        file.flush()
        os.fsync(file.fileno())


def _replaced(store: Path) -> None:
    copy = store.with_name("copy.db")
    copy.write_bytes(store.read_bytes())
    copy.replace(store)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_deleted, "the store file was deleted since the service opened it"),
        (
            _log_deleted,
            "the store's write-ahead log (its -wal file) was deleted since the service opened it",
        ),
        (_zeroed, "the store file no longer begins as a SQLite database"),
        (_replaced, "the store file was replaced since the service opened it"),
    ],
)
def test_a_store_file_changed_under_the_service_is_unhealthy(
    served: tuple[Service, io.StringIO], damage: Callable[[Path], None], reason: str
) -> None:
    service, log = served
    assert requests.get(f"{service.url}/healthz", timeout=30).json() == {"status": "ok"}
    damage(service.config.store)
    answer = requests.get(f"{service.url}/healthz", timeout=30)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unhealthy", "reason": reason}
    entries = [json.loads(line) for line in log.getvalue().splitlines()]
    (logged,) = [e for e in entries if e.get("status") == 503]
    assert logged["unhealthy"] == reason
