"""Helpers for end-to-end tests: spec files written on the fly, the CLI, the sandbox.

Nothing here mocks HTTP: tests start the real sandbox on 127.0.0.1 and the
runner talks to it over a socket.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest
import yaml
from click.testing import CliRunner, Result

from callspec.cli import cli
from callspec.report import validate_report
from callspec.sandbox.server import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parent.parent  # the repository
EXAMPLES = ROOT / "tests" / "examples"

# Variables that change what a spec resolves to: unset for every run unless a test sets them.
CLEAN_ENV: dict[str, str | None] = {
    "CALLSPEC_PROFILES": None,
    "PLIVO_AUTH_ID": None,
    "PLIVO_AUTH_TOKEN": None,
    "PAGER_PIN": None,
    "CALLSPEC_TEST_SURELY_UNSET": None,
    "GITHUB_STEP_SUMMARY": None,
}

RunCli = Callable[..., Result]
# The -d body of the seed's curl example, byte for byte (tests/sandbox/test_sandbox_cli.py
# checks it against SEED_PAGE when that file is there); curl sends it as
# application/x-www-form-urlencoded.
SEED_CURL_BODY = """{
    "from":"+14152224444",
    "to":"+14152223333",
    "answer_url":"https://s3.amazonaws.com/plivosamplexml/play_url.xml",
    "answer_method":"GET",
    "ring_url":"https://www.foo.com/ring.url",
    "ring_method":"POST",
    "hangup_url":"https://www.foo.com/hangup.url",
    "hangup_method":"POST",
    "fallback_url":"https://www.foo.com/fallback.url",
    "fallback_method":"POST",
    "caller_name":"friendly_name",
    "send_digits":"1w2W3",
    "send_on_preanswer":"true",
    "time_limit":"300"
}"""
#: Plivo's "Make an outbound call" page as the project received it (its curl command and
#: Postman item). It is not in the repository: it sits in the project's shared folder
#: beside the checkout (shared/seed/), or where CALLSPEC_SEED says.
SEED_PAGE = Path(
    os.environ.get("CALLSPEC_SEED")
    or ROOT.parent / "shared" / "seed" / "plivo-make-an-outbound-call.txt"
)


def seed_page() -> Path:
    """The seed page, or a skip that says where it was looked for and how to name it."""
    if not SEED_PAGE.is_file():
        pytest.skip(
            f"Plivo's seed page is not at {SEED_PAGE}: to compare the fixtures with it, "
            "set CALLSPEC_SEED to the path of plivo-make-an-outbound-call.txt "
            "(shared/seed/ in the project's workspace)"
        )
    return SEED_PAGE


AUTH_ID = "MATESTAUTHID00000000"
TOKEN = "tok-3f9a1c7e-very-secret-0000"  # searched for in every output
#: Plivo's answer to a call placed, for :func:`answering`.
FIRED = (201, {"Content-Type": "application/json"}, b'{"message":"call fired","request_uuid":"u"}')


def write_profiles(folder: Path, **default: Any) -> Path:
    """A profiles.yaml whose `default` profile has the given settings."""
    path = folder / "profiles.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "profiles": {"default": default}}))
    return path


def write_spec(folder: Path, n: int, name: str = "calls.yaml", **defaults: Any) -> Path:
    """A spec of ``n`` calls; each call's answer_url names it, so records map back to calls."""
    calls = [
        {
            "name": f"call-{i:03d}",
            "to": f"+1415555{i:04d}",
            "answer_url": f"https://hooks.example.com/answer.xml?call=call-{i:03d}",
        }
        for i in range(n)
    ]
    spec = {"version": 1, "defaults": {"from": "+14152224444", **defaults}, "calls": calls}
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def call_name(record: Mapping[str, Any]) -> str:
    """The call a sandbox record belongs to (from its answer_url)."""
    return str(record["body"]["answer_url"]).rsplit("call=", 1)[1]


def placed_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many times the sandbox treated each call as placed."""
    counts: dict[str, int] = {}
    for record in records:
        if record.get("placed"):
            counts[call_name(record)] = counts.get(call_name(record), 0) + 1
    return counts


def run_args(folder: Path, url: str, *extra: str) -> list[str]:
    """``run FOLDER/calls.yaml --api-url URL --rate 200 ...``: a run the rate never slows."""
    return ["run", str(folder / "calls.yaml"), "--api-url", url, "--rate", "200", *extra]


def sandbox(**config: Any) -> Sandbox:
    """A started sandbox accepting the test credentials."""
    return Sandbox(SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, **config)).start()


def wait_until(condition: Callable[[], object], what: str, seconds: float = 20.0) -> None:
    """Until ``condition()`` is true, checked every 20 ms; the test fails, saying ``what``
    it waited for, if ``seconds`` pass first (a bound, not a guess at how long it takes)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:g} s for {what}", pytrace=False)
        time.sleep(0.02)


def early_in_a_second() -> None:
    """Until the wall clock is in the first half of a second: the sandbox counts its CPS
    by the second, so requests sent right after land in one second (a few ms apart)."""
    wait_until(lambda: time.time() % 1 < 0.5, "the first half of a second", 2)


def wait_for_calls(box: Sandbox, count: int, seconds: float = 20.0) -> None:
    """Until the sandbox has recorded ``count`` calls (bounded: ``seconds`` at most)."""
    wait_until(lambda: len(box.calls) >= count, f"{count} calls at the sandbox", seconds)


def cred_env(**extra: str) -> dict[str, str]:
    return {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN, **extra}


def invoke(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    """The CLI through click's CliRunner (stdout and stderr kept apart): the one driver.

    The variables of :data:`CLEAN_ENV` are unset unless ``env`` sets them.  No Python
    traceback reaches a user: an exception the CLI let through fails the test.
    """
    result = CliRunner().invoke(
        cli, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})}, catch_exceptions=False
    )
    assert "Traceback" not in result.output
    return result


def read_report(path: Path) -> dict[str, Any]:
    """A JSON report, checked against schemas/report.schema.json."""
    doc: dict[str, Any] = json.loads(path.read_text())
    problems = validate_report(doc)
    assert problems == [], problems
    return doc


def spawn(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m callspec ...`` as a separate process (for signals); its stdout unbuffered,
    so a test can wait on a line (:func:`follow`) as soon as it is written."""
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "callspec", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclasses.dataclass(frozen=True)
class Spawned:
    """A ``python -m callspec`` process and the lines it has printed so far, gathered by a
    thread each as they are written (whole once the process has ended)."""

    proc: subprocess.Popen[str]
    out: list[str]
    err: list[str]

    def printed(self, words: str, stream: str = "err") -> Callable[[], bool]:
        """A condition for :func:`wait_until`: a line of stderr (or stdout) holds ``words``."""
        lines = self.err if stream == "err" else self.out
        return lambda: any(words in line for line in lines)


@contextlib.contextmanager
def spawned(args: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[Spawned]:
    """:func:`spawn` with its output followed; killed if still running at the end."""
    proc = spawn(args, env, cwd)
    out: list[str] = []
    err: list[str] = []

    def read(stream: IO[str], lines: list[str]) -> None:
        for line in iter(stream.readline, ""):
            lines.append(line)

    readers = [
        threading.Thread(target=read, args=(stream, lines), daemon=True)
        for stream, lines in ((proc.stdout, out), (proc.stderr, err))
    ]
    for reader in readers:
        reader.start()
    try:
        yield Spawned(proc, out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for reader in readers:
            reader.join(10)
        for stream in (proc.stdout, proc.stderr):
            stream.close()  # type: ignore[union-attr]


def run_callspec(
    args: list[str], cwd: Path, timeout: float = 60, memory: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m callspec ARGS`` in ``cwd`` to its end, stdout and stderr captured, the
    variables of :data:`CLEAN_ENV` unset; ``memory`` caps its address space (bytes).  One
    still running after ``timeout`` seconds fails the test (TimeoutExpired)."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    return subprocess.run(
        [sys.executable, "-m", "callspec", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
    )


JOURNAL_LIMIT = 64 * 1024  # RLIMIT_FSIZE of the full-disk tests


def journal_filler(journal: Path, room: int) -> None:
    """Valid journal lines (of calls in no plan) up to ``room`` bytes short of JOURNAL_LIMIT."""
    lines, size, n = [], 0, 0
    while size < JOURNAL_LIMIT - room - 300:
        line = json.dumps(
            {
                "event": "finished",
                "time": "2026-01-01T00:00:00.000Z",
                "run_id": "filler",
                "key": f"filler-{n:05d}",
                "spec_file": "old.yaml",
                "name": f"old-{n}",
                "outcome": "failed",
                "state": "failed",
                "pad": "x" * 120,
            }
        )
        lines.append(line)
        size += len(line) + 1
        n += 1
    journal.write_text("\n".join(lines) + "\n")


#: The sockets that hold the ports of :func:`free_port` for the rest of the session.
_HELD: list[socket.socket] = []
atexit.register(lambda: [held.close() for held in _HELD])


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens, and nothing will while the tests run.

    A socket bound to it and never listening holds it (a connection is refused at once):
    a port merely let go could be taken by a server of a test running beside this one.
    """
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    _HELD.append(held)
    return int(held.getsockname()[1])


def run_action_step(
    tmp_path: Path, cwd: Path, **inputs: str
) -> tuple[int, dict[str, str], str, str]:
    """The GitHub Action as a runner runs it (:mod:`github_runner`), callspec from this
    checkout: (exit code, outputs, stdout, step summary)."""
    from github_runner import run_action

    done = run_action(tmp_path, cwd, inputs)
    return done.code, done.outputs, done.stdout, done.summary


@contextlib.contextmanager
def tls_server(handle: Callable[[ssl.SSLSocket], None]) -> Iterator[tuple[str, str]]:
    """A TLS server on 127.0.0.1 whose certificate a fresh CA signed (``trustme``);
    ``handle`` gets each connection once its handshake is done.  Yields (url, CA file):
    a client trusts it with REQUESTS_CA_BUNDLE, and refuses the handshake without."""
    import pytest

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                tls = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                continue
            try:
                handle(tls)
            except OSError:
                pass
            finally:
                tls.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with ca.cert_pem.tempfile() as ca_path:
        try:
            yield f"https://127.0.0.1:{listener.getsockname()[1]}", ca_path
        finally:
            stop.set()
            thread.join(5)
            listener.close()


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request from ``conn``, whole: its head and its Content-Length body (b""
    when the client closed first)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def request_path(request: bytes) -> str:
    """The path (and query) of a request :func:`read_request` read."""
    parts = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return parts[1] if len(parts) > 1 else ""


RawHandle = Callable[[socket.socket, bytes, threading.Event], bool | None]


@contextlib.contextmanager
def raw_server(handle: RawHandle) -> Iterator[tuple[str, list[bytes]]]:
    """A socket server on 127.0.0.1 for what an HTTP server would not answer.

    Each request is read whole and recorded, then ``handle(conn, request, stop)`` writes
    what it likes, or nothing (it may wait on ``stop``, set when the test ends); it
    returns True to read the connection's next request (keep-alive), else the connection
    is closed.  Yields (url, the requests read).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while not stop.is_set():
                    request = read_request(conn)
                    if not request:
                        return
                    seen.append(request)
                    if not handle(conn, request, stop):
                        return
            except OSError:
                pass  # the client hung up

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was shut down
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(5)


@contextlib.contextmanager
def answering(
    respond: Callable[[BaseHTTPRequestHandler, int], tuple[int, dict[str, str], bytes]],
) -> Iterator[tuple[str, list[str]]]:
    """A small HTTP server on 127.0.0.1; ``respond(handler, n)`` -> (status, headers, body).

    Yields (url, log) where log gets "path user" for every POST or GET read; the
    handler's ``body`` holds what was posted.
    """
    count = [0]
    log: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        body = b""

        def do_GET(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            self.body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            auth = self.headers.get("Authorization", "Basic ")[6:]
            user = base64.b64decode(auth).decode("latin-1").split(":")[0]
            with lock:
                n = count[0]
                count[0] += 1
                log.append(f"{self.path} {user}")
            status, headers, body = respond(self, n)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def calls_file(
    folder: Path, calls: list[str], profiles: str = "version: 1\nprofiles:\n  default: {}\n"
) -> Path:
    """``a.yaml`` of ``calls`` (from :func:`call_lines`) beside a profiles file."""
    (folder / "profiles.yaml").write_text(profiles)
    path = folder / "a.yaml"
    path.write_text("version: 1\ncalls:\n" + "".join(calls))
    return path


def call_lines(name: str, to: str, **extra: str) -> str:
    """One call of :func:`calls_file`, as written (``to`` and ``extra`` values raw YAML)."""
    lines = [
        f"  - name: {name}\n",
        '    from: "+14152224444"\n',
        f"    to: {to}\n",
        "    answer_url: https://hooks.example.com/answer.xml\n",
    ]
    lines += [f"    {k}: {v}\n" for k, v in extra.items()]
    return "".join(lines)
