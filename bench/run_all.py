"""Every comparison of issue 9 in one command: one table of figures, ratios and targets.

Each row runs callspec and its alternative as new processes, as users run them,
in alternating rounds (so a busy moment of the machine weighs on both sides), and
takes the median.  Peak memory is each process's own maximum resident set size
(``wait4``'s ``ru_maxrss``).  The sandbox runs as a separate process on 127.0.0.1.
Writes ``bench/RESULTS.md`` (machine, date, versions, the commands) and prints the
same table.  Under five minutes on a 2-core machine.

    python bench/run_all.py [--quick] [--no-write] [--tree DIR]

``--quick`` runs each row once (a smoke test of the script, not a measurement);
``--tree DIR`` measures another checkout's callspec (e.g. main's, for a before/after
table) with these same rows, and writes no RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.server
import json
import os
import platform
import queue
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import instructions  # noqa: E402
from common import AUTH_ID, TOKEN, write_calls_spec  # noqa: E402

PY = sys.executable
# As after `pip install` (bytecode compiled): this machine sets PYTHONDONTWRITEBYTECODE.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
BASE_ENV["PYTHONPATH"] = str(ROOT)
CRED_ENV = {**BASE_ENV, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}

SDK_LOOP = textwrap.dedent(
    """
    import sys
    import plivo, plivo.rest.client as rest
    base = sys.argv[1] + "/v1/Account"
    for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI",
                 "API_VOICE_BASE_URI_FALLBACK_1", "API_VOICE_BASE_URI_FALLBACK_2"):
        setattr(rest, name, base)
    client = plivo.RestClient(sys.argv[2], sys.argv[3])
    for i in range(int(sys.argv[4])):
        r = client.calls.create(from_="+14152224444", to_="+1%d" % (4155550000 + i),
                                answer_url="https://hooks.example.com/a.xml?call=%d" % i)
        assert r.message == "call fired", r
    """
)

REQUESTS_LOOP = textwrap.dedent(
    """
    import json, sys
    import requests
    url = f"{sys.argv[1]}/v1/Account/{sys.argv[2]}/Call/"
    session = requests.Session()
    session.auth = (sys.argv[2], sys.argv[3])
    headers = {"Content-Type": "application/json"}
    for i in range(int(sys.argv[4])):
        body = {"from": "+14152224444", "to": "+1%d" % (4155550000 + i),
                "answer_url": "https://hooks.example.com/a.xml?call=%d" % i}
        r = session.post(url, data=json.dumps(body), headers=headers, timeout=(5, 10))
        assert r.status_code == 201, r.text
    """
)

NAIVE_VALIDATE = textwrap.dedent(
    """
    import json, sys
    import yaml
    from jsonschema import Draft202012Validator
    schema = json.load(open(sys.argv[2]))
    validator = Draft202012Validator(schema)
    doc = yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)
    defaults = doc.get("defaults", {})
    errors = 0
    for call in doc["calls"]:
        body = {**defaults, **{k: v for k, v in call.items() if k not in ("name", "tags")}}
        errors += sum(1 for _ in validator.iter_errors(body))
    assert errors == 0, errors
    print(len(doc["calls"]))
    """
)


@dataclasses.dataclass
class Row:
    """One line of the table."""

    work: str
    ours: str
    alternative: str
    ratio: str
    target: str
    met: str
    commands: list[str]


def run(args: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float, int]:
    """Run a process to its end; (seconds, CPU seconds, peak RSS in KiB).  A failure stops
    the bench."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        # wait4: this child's own rusage (RUSAGE_CHILDREN would be the maximum of all).
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"failed ({proc.returncode}): {shlex.join(args)}\n{err.read().decode()[-2000:]}"
            )
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def alternate(
    sides: dict[str, Callable[[], tuple[float, float, int]]], rounds: int
) -> dict[str, list[float]]:
    """Run each side once per round, in turn; the seconds of each (and, under the
    side's name with ``-cpu``, its CPU seconds)."""
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, side in sides.items():
            wall, cpu, _ = side()
            times.setdefault(name, []).append(wall)
            times.setdefault(f"{name}-cpu", []).append(cpu)
    return times


def ratio_text(t: dict[str, list[float]], inverse: bool = False) -> tuple[float, str]:
    """The wall-clock ratio of the medians, and its text with the CPU-time ratio beside it."""
    wall = med(t["ours"]) / med(t["alt"])
    cpu = med(t["ours-cpu"]) / med(t["alt-cpu"])
    if inverse:
        wall, cpu = 1 / wall, 1 / cpu
        return wall, f"{wall:.1f}x faster (CPU {cpu:.1f}x)"
    return wall, f"{wall:.2f}x (CPU {cpu:.2f}x)"


class Sandbox:
    """``callspec sandbox`` in its own process (optionally with a latency)."""

    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                *callspec("sandbox", "--port", "0", "--auth-id", AUTH_ID, "--auth-token", TOKEN),
                *extra,
            ],
            cwd=ROOT,
            env=BASE_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            self.close()
            raise SystemExit(f"the sandbox did not start: {line!r}")
        self.url = match.group(0)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def callspec(*args: str) -> list[str]:
    return [PY, "-m", "callspec", *args]


def cmd(args: Sequence[str]) -> str:
    """A command as the table shows it (paths shortened to their names)."""
    shown = [Path(a).name if a.startswith("/") else a for a in args]
    if shown and shown[0] == Path(PY).name:
        shown[0] = "python"
    return shlex.join(shown)


def med(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def row_startup(rounds: int) -> Row:
    ours = callspec("--version")
    alt = [PY, "-c", "import requests"]
    run(ours, BASE_ENV)  # warm the bytecode and the disk cache
    run(alt, BASE_ENV)
    t = alternate({"ours": lambda: run(ours, BASE_ENV), "alt": lambda: run(alt, BASE_ENV)}, rounds)
    ratio, shown = ratio_text(t)
    return Row(
        "`callspec --version`",
        ms(med(t["ours"])),
        f'`python -c "import requests"` {ms(med(t["alt"]))}',
        shown,
        "at most 1.0x (moonshot 0.5x)",
        verdict(ratio <= 1.0),
        [cmd(ours), cmd(alt)],
    )


def row_one_call(tmp: Path, url: str, rounds: int) -> tuple[Row, Path]:
    spec = write_calls_spec(tmp / "one.yaml", 1)
    script = tmp / "sdk_loop.py"
    script.write_text(SDK_LOOP)
    ours = callspec("run", str(spec), "--api-url", url, "--report", str(tmp / "one.json"))
    alt = [PY, str(script), url, AUTH_ID, TOKEN, "1"]
    t = alternate(
        {"ours": lambda: run(ours, CRED_ENV, tmp), "alt": lambda: run(alt, BASE_ENV, tmp)}, rounds
    )
    ratio, shown = ratio_text(t)
    row = Row(
        "place one call on the sandbox, whole process",
        ms(med(t["ours"])),
        f"the official SDK's `calls.create` in a script, {ms(med(t['alt']))}",
        shown,
        "at most 1.0x",
        verdict(ratio <= 1.0),
        [cmd(ours), cmd(alt)],
    )
    return row, script


class FirstPost:
    """A local Make-a-call API (in this process, on 127.0.0.1) that notes when each POST has
    arrived whole, on this process's clock: the end of a "process start to first POST"
    measure.  It answers (201 "call fired", in one write, with TCP_NODELAY: see the
    sandbox) once the bench has read the sender's CPU time, so that time is the sender's
    up to its POST."""

    def __init__(self) -> None:
        arrivals: queue.Queue[float] = queue.Queue()
        answer: queue.Queue[bool] = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrivals.put(time.perf_counter())
                answer.get(timeout=60)
                body = json.dumps(
                    {"api_id": "bench", "message": "call fired", "request_uuid": "bench-uuid"}
                ).encode()
                head = (
                    "HTTP/1.1 201 CREATED\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                self.wfile.write(head + body)

            def log_message(self, *args: object) -> None:
                pass

        self.arrivals, self.answer = arrivals, answer
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def until_post(
        self, args: Sequence[str], env: dict[str, str], cwd: Path
    ) -> tuple[float, float]:
        """Seconds from starting ``args`` as a process to its first POST arriving here, and
        the CPU seconds it had used by then (all its threads; the process then runs to its
        end, outside the measure)."""
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(args), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            arrived = self.arrivals.get(timeout=60)
            cpu = cpu_seconds(proc.pid)
            self.answer.put(True)
        except queue.Empty:
            proc.kill()
            said = proc.communicate()[1]
            raise SystemExit(f"no POST from {shlex.join(args)}: {said!r}") from None
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {shlex.join(args)}\n{err[-2000:]!r}")
        return arrived - t0, cpu

    def __enter__(self) -> FirstPost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def cpu_seconds(pid: int) -> float:
    """CPU time a running process has used, all its threads (Linux's schedstat, in ns)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that just ended
            total += int(stat.read_text().split()[0])
    return total / 1e9


def row_first_post(tmp: Path, sdk_script: Path, rounds: int) -> Row:
    """Issue 20's figure: from process start to the POST reaching the API."""
    spec = write_calls_spec(tmp / "first.yaml", 1)
    # `callspec run`, as the issue measured it: the installed script (with PYTHONPATH, this
    # tree's callspec), which pays no runpy; `python -m callspec` where none is installed.
    script = Path(PY).parent / "callspec"
    command = [str(script)] if script.exists() else callspec()
    with FirstPost() as api:
        ours = [*command, "run", str(spec), "--api-url", api.url, "--report", str(tmp / "f.json")]
        alt = [PY, str(sdk_script), api.url, AUTH_ID, TOKEN, "1"]
        api.until_post(ours, CRED_ENV, tmp)  # warm the bytecode and the disk cache
        api.until_post(alt, BASE_ENV, tmp)
        t: dict[str, list[float]] = {"ours": [], "alt": [], "ours-cpu": [], "alt-cpu": []}
        for _ in range(rounds):
            for side, args, env in (("ours", ours, CRED_ENV), ("alt", alt, BASE_ENV)):
                wall, cpu = api.until_post(args, env, tmp)
                t[side].append(wall)
                t[f"{side}-cpu"].append(cpu)
    ratio, shown = ratio_text(t)
    return Row(
        f"one call: process start to the POST reaching a local API (median of {rounds})",
        ms(med(t["ours"])),
        f"the official SDK's `calls.create` in a script, {ms(med(t['alt']))}",
        shown,
        "at most 1.0x",
        verdict(ratio <= 1.0),
        [cmd(ours), cmd(alt)],
    )


def row_first_post_instructions(tmp: Path, sdk_script: Path, url: str) -> Row | None:
    """The same start-up counted in instructions (callgrind, ``bench/instructions.py``): the
    figure a busy machine does not move.  None without valgrind."""
    if not instructions.available():
        return None
    spec = write_calls_spec(tmp / "counted.yaml", 1)
    entry = tmp / "callspec_entry.py"  # what the console script runs
    entry.write_text("import sys\nfrom callspec.cli import main\nsys.exit(main())\n")
    args = ["run", str(spec), "--api-url", url, "--report", str(tmp / "counted.json")]
    ours = instructions.to_connect(entry, args, CRED_ENV, tmp)
    alt = instructions.to_connect(sdk_script, [url, AUTH_ID, TOKEN, "1"], BASE_ENV, tmp)
    ratio = ours / alt
    return Row(
        "one call: instructions from process start to its connect() (callgrind)",
        f"{ours / 1e6:.0f} M",
        f"the official SDK's `calls.create` in a script, {alt / 1e6:.0f} M",
        f"{ratio:.2f}x",
        "at most 1.0x",
        verdict(ratio <= 1.0),
        [
            "python bench/instructions.py (valgrind --tool=callgrind, the process ended at its "
            "first socket.connect audit event)"
        ],
    )


def row_newman(tmp: Path, url: str, rounds: int) -> Row | None:
    """The seed's Postman item through newman, against callspec placing the same body."""
    npx = shutil.which("npx")
    if npx is None:
        return None
    probe = subprocess.run(
        [npx, "--no-install", "newman", "--version"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return None
    seed = json.loads((ROOT / "tests/examples/postman/seed-collection.json").read_text())
    item = seed["item"][0]["item"][0]
    request = item["request"]
    request["url"] = f"{url}/v1/Account/{AUTH_ID}/Call/"
    request["header"] = [{"key": "Content-Type", "value": "application/json"}]
    request["auth"] = {
        "type": "basic",
        "basic": [
            {"key": "username", "value": AUTH_ID, "type": "string"},
            {"key": "password", "value": TOKEN, "type": "string"},
        ],
    }
    collection = {"info": seed["info"], "item": [{"name": item["name"], "request": request}]}
    path = tmp / "seed.postman.json"
    path.write_text(json.dumps(collection))
    body = json.loads(request["body"]["raw"])
    spec = tmp / "seed.yaml"
    spec.write_text(
        "version: 1\ncalls:\n  - name: seed\n"
        + "".join(f"    {k}: {json.dumps(v)}\n" for k, v in body.items())
    )
    ours = callspec("run", str(spec), "--api-url", url, "--report", str(tmp / "seed.json"))
    alt = [npx, "--no-install", "newman", "run", str(path), "--bail", "--reporters", "cli"]
    run(alt, BASE_ENV, tmp)  # warm npx's resolution
    t = alternate(
        {"ours": lambda: run(ours, CRED_ENV, tmp), "alt": lambda: run(alt, BASE_ENV, tmp)}, rounds
    )
    _, shown = ratio_text(t)
    return Row(
        "the seed's Postman item, one call, whole process",
        ms(med(t["ours"])),
        f"`newman run` of that item, {ms(med(t['alt']))}",
        shown,
        "(no target)",
        "",
        [cmd(ours), cmd(["npx", *alt[1:]])],
    )


def row_thousand(tmp: Path, url: str, rounds: int) -> Row:
    n = 1000
    spec = write_calls_spec(tmp / "calls1000.yaml", n)
    script = tmp / "requests_loop.py"
    script.write_text(REQUESTS_LOOP)
    report = tmp / "r1000.json"
    ours = callspec("run", str(spec), "--api-url", url, "--rate", "100000", "--concurrency", "1")
    ours += ["--max-calls", str(n), "--report", str(report), "--no-progress"]
    alt = [PY, str(script), url, AUTH_ID, TOKEN, str(n)]

    def ours_once() -> tuple[float, int]:
        report.with_name(report.stem + ".journal.jsonl").unlink(missing_ok=True)
        return run(ours, CRED_ENV, tmp)

    t = alternate({"ours": ours_once, "alt": lambda: run(alt, BASE_ENV, tmp)}, rounds)
    ratio, shown = ratio_text(t)
    return Row(
        "1,000 calls, no latency, `--concurrency 1 --rate 100000`, journal on",
        s(med(t["ours"])),
        f"a bare `requests.Session` loop posting the same bodies, {s(med(t['alt']))}",
        shown,
        "at most 1.25x",
        verdict(ratio <= 1.25),
        [cmd(ours), cmd(alt)],
    )


def row_latency(tmp: Path, sdk_script: Path, rounds: int) -> Row:
    n = 200
    spec = write_calls_spec(tmp / "calls200.yaml", n)
    with Sandbox("--latency", "50") as box:
        ours = callspec("run", str(spec), "--api-url", box.url, "--rate", "100000")
        ours += ["--max-calls", str(n), "--report", str(tmp / "r200.json"), "--no-progress"]
        alt = [PY, str(sdk_script), box.url, AUTH_ID, TOKEN, str(n)]
        t = alternate(
            {"ours": lambda: run(ours, CRED_ENV, tmp), "alt": lambda: run(alt, BASE_ENV, tmp)},
            rounds,
        )
    speedup, shown = ratio_text(t, inverse=True)
    return Row(
        "200 calls, 50 ms API latency, default settings (rate lifted)",
        s(med(t["ours"])),
        f"the SDK's `calls.create` loop, {s(med(t['alt']))}",
        shown,
        "keep at least 3x faster",
        verdict(speedup >= 3),
        [cmd(ours), "callspec sandbox --latency 50", cmd(alt)],
    )


def row_validate(tmp: Path, rounds: int) -> Row:
    n = 10_000
    spec = write_validate_spec(tmp / "calls10k.yaml", n)
    script = tmp / "naive_validate.py"
    script.write_text(NAIVE_VALIDATE)
    ours = callspec("validate", str(spec))
    alt = [PY, str(script), str(spec), str(ROOT / "schemas" / "call.schema.json")]
    t = alternate(
        {"ours": lambda: run(ours, BASE_ENV, tmp), "alt": lambda: run(alt, BASE_ENV, tmp)}, rounds
    )
    ratio, shown = ratio_text(t)
    return Row(
        "validate 10,000 calls, whole process",
        s(med(t["ours"])),
        f"PyYAML C loader + compiled jsonschema over every call, {s(med(t['alt']))}",
        shown,
        "at most 0.5x",
        verdict(ratio <= 0.5),
        [cmd(ours), cmd(alt)],
    )


def write_validate_spec(path: Path, n: int) -> Path:
    """Calls of six arguments each over seven defaults (``bench_validate.py``'s shape,
    without templates, which the naive script could not render)."""
    lines = [
        "version: 1",
        "defaults:",
        '  from: "+14152224444"',
        '  answer_url: "https://hooks.example.com/answer.xml?service=payments"',
        "  answer_method: GET",
        '  caller_name: "PAYMENTS ALERT"',
        '  hangup_url: "https://hooks.example.com/hangup"',
        "  machine_detection: hangup",
        "  machine_detection_time: 3000",
        "calls:",
    ]
    for i in range(n):
        lines += [f"  - name: call-{i:05d}", "    tags: [bench]", f'    to: "+1415{i:07d}"']
        lines += ["    time_limit: 300", "    send_digits: 1w2W3", "    ring_timeout: 45"]
    path.write_text("\n".join(lines) + "\n")
    return path


def rows_memory(tmp: Path, url: str) -> list[Row]:
    n = 20_000
    spec = write_calls_spec(tmp / "calls20k.yaml", n)
    dry = callspec("run", str(spec), "--dry-run", "--report", str(tmp / "dry.json"))
    dry.append("--no-progress")
    live = callspec("run", str(spec), "--api-url", url, "--rate", "100000")
    live += ["--max-calls", str(n), "--report", str(tmp / "r20k.json"), "--no-progress"]
    rows = []
    for work, args in (
        ("peak RSS, 20,000-call `--dry-run`", dry),
        ("peak RSS, 20,000-call run on the sandbox (a separate process)", live),
    ):
        seconds, _, kib = run(args, CRED_ENV, tmp)
        mib = kib / 1024
        rows.append(
            Row(
                work,
                f"{mib:.0f} MB ({seconds:.1f} s)",
                "",
                "",
                "at most 80 MB",
                verdict(mib <= 80),
                [cmd(args)],
            )
        )
    return rows


def versions() -> str:
    names = [
        "callspec",
        "requests",
        "urllib3",
        "jsonschema",
        "fastjsonschema",
        "jinja2",
        "PyYAML",
        "plivo",
    ]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at the start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| work | callspec | the alternative | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.work} | {r.ours} | {r.alternative} | {r.ratio} | {r.target} | {r.met} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each row once (a smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print only; no RESULTS.md")
    parser.add_argument("--tree", type=Path, help="measure this checkout's callspec instead")
    options = parser.parse_args()
    if options.tree is not None:  # every side runs with these environments
        options.no_write = True
        for env in (BASE_ENV, CRED_ENV):
            env["PYTHONPATH"] = str(options.tree.resolve())
    quick = options.quick
    started = datetime.now(timezone.utc)
    header = machine()
    t0 = time.perf_counter()
    rows: list[Row] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rows.append(row_startup(1 if quick else 9))
        with Sandbox() as box:
            one, sdk_script = row_one_call(tmp, box.url, 1 if quick else 7)
            rows.append(one)
            rows.append(row_first_post(tmp, sdk_script, 1 if quick else 11))
            counted = row_first_post_instructions(tmp, sdk_script, box.url)
            if counted is None:
                skipped.append("instructions: valgrind is not installed here; row skipped")
            else:
                rows.append(counted)
            newman = row_newman(tmp, box.url, 1 if quick else 5)
            if newman is None:
                skipped.append(
                    "newman: `npx --no-install newman` is not available here; row skipped"
                )
            else:
                rows.append(newman)
            rows.append(row_thousand(tmp, box.url, 1 if quick else 5))
        rows.append(row_latency(tmp, sdk_script, 1 if quick else 2))
        rows.append(row_validate(tmp, 1 if quick else 3))
        with Sandbox() as box:
            rows.extend(rows_memory(tmp, box.url))
    total = time.perf_counter() - t0
    text = table(rows)
    print(text)
    for note in skipped:
        print(note)
    print(f"(all rows in {total:.0f} s)")
    if options.no_write or quick:
        return
    commands = "\n".join(f"- {r.work}: " + "; ".join(f"`{c}`" for c in r.commands) for r in rows)
    out = textwrap.dedent(
        """\
        # Benchmark results (`python bench/run_all.py`)

        Written by `bench/run_all.py` on {date}, in {total:.0f} s.

        - Machine: {machine}
        - Versions: {versions}
        - Method: every side a new process, as users run them; rounds alternate between
          the sides and the table shows medians; peak RSS is the process's own maximum
          resident set (`wait4`).  Ratios are of wall-clock medians; beside each, the ratio
          of CPU time (user + system, from `wait4`), which a loaded machine disturbs less.
          The sandbox is `callspec sandbox` in a process of its own on 127.0.0.1.
          This machine's 2 cores are shared with other work (other sessions were
          running tests while this ran): the figures vary by a few tens of percent from
          run to run, the ratios much less.

        {table}

        {skipped}
        ## Commands

        {commands}
        """
    ).format(
        date=started.strftime("%Y-%m-%d %H:%M UTC"),
        total=total,
        machine=header,
        versions=versions(),
        table=text,
        skipped="".join(f"{note}\n" for note in skipped),
        commands=commands,
    )
    (ROOT / "bench" / "RESULTS.md").write_text(out)
    print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
