"""``callspec serve`` as its own process on 127.0.0.1, and Plivo-style requests to it.

Imported by name (``from service_process import ...``) by the service's tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from callspec.net.signature import signature_headers

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "serve-token-5b1e0c2f-very-secret"  # looked for in every output
_LISTENING = re.compile(r"listening on (http://\S+) ")


class Served:
    """A running ``callspec serve``: its URL, and its stderr (JSON lines) as they come."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.output = ""
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self._lines.append(line)

    def log(self) -> list[str]:
        """Every stderr line so far (complete once the process has ended)."""
        with self._lock:
            return list(self._lines)

    def entries(self) -> list[dict[str, Any]]:
        """The log's lines, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.log()]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``; the exit status once the process has ended (its stdout after the
        announcement is then in :attr:`output`, its stderr in :meth:`log`)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(30)
        self._reader.join(30)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.output = self.process.stdout.read()
        self.process.stdout.close()
        self.process.stderr.close()
        return code


def launch(store: Path, *args: str, env: Mapping[str, str] | None = None) -> Served:
    """Start ``callspec serve --port 0 --store STORE ARGS``; returns once it listens."""
    environ = {**os.environ, "PLIVO_AUTH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "callspec", "serve", "--port", "0", "--store", str(store), *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the announcement: the process listens from here
    found = _LISTENING.search(first)
    if found is None:
        process.kill()
        _, err = process.communicate(timeout=30)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
        raise AssertionError(f"callspec serve did not start: {first!r} {err!r}")
    return Served(process, found[1])


@contextmanager
def serving(store: Path, *args: str) -> Iterator[Served]:
    """A service for the length of a ``with``; stopped with SIGTERM, killed if it hangs."""
    served = launch(store, *args)
    try:
        yield served
    finally:
        if served.process.stdout is not None and not served.process.stdout.closed:
            served.stop()


def plivo_request(
    url: str,
    params: Mapping[str, str],
    token: str = TOKEN,
    method: str = "POST",
    session: requests.Session | None = None,
) -> requests.Response:
    """A request as Plivo makes it: form parameters (query for GET), signed with ``token``."""
    http = session or requests
    headers = signature_headers(url, method, dict(params), token)
    if method == "GET":
        return http.get(url, params=dict(params), headers=headers, timeout=30)
    return http.post(url, data=dict(params), headers=headers, timeout=30)


def answered(call_uuid: str) -> dict[str, str]:
    """What Plivo sends to an answer URL (the parameters this service reads, and more)."""
    return {
        "CallUUID": call_uuid,
        "RequestUUID": call_uuid,
        "From": "+14152224444",
        "To": "+14155550100",
        "Direction": "outbound",
        "Event": "StartApp",
        "CallStatus": "in-progress",
    }


def pressed(call_uuid: str, digits: str) -> dict[str, str]:
    """What Plivo sends to a <GetDigits> action: the call's parameters and the keys."""
    params = {**answered(call_uuid), "Digits": digits}
    del params["Event"]
    return params
