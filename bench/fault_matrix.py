"""The fault matrix: each sandbox fault against `callspec run`, checked with the sandbox record.

For every fault, N calls are run (4 workers, 3 retries) against a sandbox that
injects it; the table shows how the report classified the calls, how many
attempts were made, how many times the sandbox treated each call as placed,
and the exit code.  "max placed" must be 1: no call placed twice.

    python bench/fault_matrix.py [--calls 20] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import AUTH_ID, TOKEN, callspec_run, write_calls_spec  # noqa: E402

from callspec.sandbox.server import Fault, Sandbox, SandboxConfig  # noqa: E402

FAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "latency 50-150 ms": {"latency_ms": (50.0, 150.0)},
    "429 (30%), Retry-After 0.1": {"faults": (Fault(429, 0.3),), "retry_after": 0.1},
    "503 (30%)": {"faults": (Fault(503, 0.3),)},
    "500 (30%)": {"faults": (Fault(500, 0.3),)},
    "drop (30%)": {"drop": 0.3},
    "hang (30%), --timeout 0.5": {"hang": 0.3},
    "connection refused": {},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    print(
        f"{args.calls} calls per fault, --concurrency 4 --retries 3 --timeout 0.5, seed {args.seed}"
    )
    print("| fault | outcomes | attempts | placed (sandbox) | max placed | exit |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_calls_spec(Path(tmp) / "calls.yaml", args.calls)
        for name, config in FAULTS.items():
            report = Path(tmp) / "report.json"
            box = None
            if name == "connection refused":
                url = f"http://127.0.0.1:{free_port()}"
            else:
                box = Sandbox(
                    SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, seed=args.seed, **config)
                )
                box.start()
                url = box.url
            try:
                done = subprocess.run(
                    callspec_run(
                        spec,
                        url,
                        "--rate",
                        "200",
                        "--concurrency",
                        "4",
                        "--retries",
                        "3",
                        "--timeout",
                        "0.5",
                        "--report",
                        str(report),
                    ),
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                records = box.calls if box else []
            finally:
                if box:
                    box.stop()
            doc = json.loads(report.read_text())
            outcomes = Counter(c["outcome"] for c in doc["calls"])
            attempts = sum(len(c["attempts"]) for c in doc["calls"])
            placed = Counter(
                r["body"]["answer_url"].rsplit("=", 1)[1] for r in records if r["placed"]
            )
            refused = sum(1 for r in records if not r["placed"])
            text = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
            print(
                f"| {name} | {text} | {attempts} | {sum(placed.values())} calls"
                f"{f', {refused} refusals' if refused else ''} | {max(placed.values(), default=0)} "
                f"| {done.returncode} |"
            )


if __name__ == "__main__":
    main()
