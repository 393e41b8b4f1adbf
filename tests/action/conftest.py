"""A repository using the action, and "Plivo's API" as far as these tests can tell.

``real_api`` is a server of the test's own on 127.0.0.1 standing for Plivo: the
project's profile sends there, so a run without ``--sandbox`` (or without the
``--dry-run`` asked for) rings it, and its log holds every request that reached
it, each one a phone that would have rung.  A run the inputs sent to the
embedded sandbox (``--sandbox``) leaves that log empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from support import answering

API = tuple[str, list[str]]


def _plivo(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
    body = {"api_id": f"api-{n}", "message": "call fired", "request_uuid": f"uuid-{n:04d}"}
    return 201, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def real_api() -> Iterator[API]:
    """(url, log): every request that reached "Plivo" is a line of the log."""
    with answering(_plivo) as api:
        yield api


SPEC = {
    "version": 1,
    "vars": {"note": "none"},
    "defaults": {
        "from": "+14152224444",
        "answer_url": "https://hooks.example.com/answer.xml?note={{ note | urlencode }}",
    },
    "calls": [
        {"name": "page-a", "tags": ["sev1"], "to": "+14155550101"},
        {"name": "page-b", "tags": ["sev2"], "to": "+14155550102"},
        {"name": "page-c", "tags": ["sev2"], "to": "+14155550103"},
    ],
}


@pytest.fixture
def project(tmp_path: Path, real_api: API) -> Path:
    """A repository whose profile sends to ``real_api``; ``calls.yaml`` has three calls
    (page-a tagged sev1), each answer_url carrying the variable ``note``."""
    folder = tmp_path / "repo"
    folder.mkdir()
    profiles = {"version": 1, "profiles": {"default": {"api_url": real_api[0], "rate": 100}}}
    (folder / "profiles.yaml").write_text(yaml.safe_dump(profiles))
    (folder / "calls.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return folder
