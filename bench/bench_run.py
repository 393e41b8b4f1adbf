"""Place N calls on the sandbox: callspec against the official Plivo SDK in a loop, and curl.

All three run in one invocation, each as a new process as a user would run it,
against the same sandbox (a separate process on 127.0.0.1, so it never shares
a CPU's GIL with the client being measured):

* ``callspec run`` on a spec of N calls (validation, journal, report included),
  with ``--rate`` high enough not to limit and ``--concurrency`` 1 and 4;
* a Python script calling ``plivo.RestClient().calls.create`` N times in a loop
  (the SDK checks almost nothing before sending and writes no journal);
* a shell loop of N ``curl`` commands (the seed's way; checks nothing).

    python bench/bench_run.py [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AUTH_ID, TOKEN, callspec_run, write_calls_spec  # noqa: E402

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


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callspec",
            "sandbox",
            "--port",
            "0",
            "--auth-id",
            AUTH_ID,
            "--auth-token",
            TOKEN,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert match, line
    return proc, match.group(0)


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr[-2000:]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    n, repeat = options.calls, options.repeat
    sandbox, url = start_sandbox()
    # As after `pip install` (bytecode compiled): this machine sets PYTHONDONTWRITEBYTECODE.
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {**base, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    times: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "calls.yaml"
            write_calls_spec(spec, n)
            script = Path(tmp) / "sdk_loop.py"
            script.write_text(SDK_LOOP)
            body = '\'{"from":"+14152224444","to":"+14152223333","answer_url":"https://h.example.com/a"}\''
            loop = (
                f"for i in $(seq {n}); do curl -s -o /dev/null -u {AUTH_ID}:{TOKEN} "
                f"-H 'Content-Type: application/json' -d {body} {url}/v1/Account/{AUTH_ID}/Call/ "
                "|| exit 1; done"
            )
            commands: dict[str, tuple[list[str], dict[str, str]]] = {}
            for workers in (1, 4):
                report = str(Path(tmp) / f"r{workers}.json")
                commands[f"callspec run --concurrency {workers}"] = (
                    callspec_run(
                        spec,
                        url,
                        "--rate",
                        "100000",
                        "--concurrency",
                        str(workers),
                        "--max-calls",
                        str(n),
                        "--report",
                        report,
                    ),
                    env,
                )
            commands["plivo SDK calls.create loop"] = (
                [sys.executable, str(script), url, AUTH_ID, TOKEN, str(n)],
                base,
            )
            commands["curl in a shell loop"] = (["bash", "-c", loop], base)
            # Interleaved rounds, so a busy moment of the machine weighs on all alike.
            for _ in range(repeat):
                for name, (args, command_env) in commands.items():
                    times.setdefault(name, []).append(timed(args, command_env))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    results = [(name, statistics.median(values)) for name, values in times.items()]
    print(f"{n} calls placed on the sandbox, each command a new process, median of {repeat}:")
    for name, seconds in results:
        print(f"  {name:<34} {seconds:6.2f} s  {n / seconds:7.0f} calls/s")


if __name__ == "__main__":
    main()
