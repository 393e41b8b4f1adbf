"""Rate limiter accuracy: 40 calls at --rate 10 over 4 workers against a sandbox with --cps 10.

The ideal run takes 3.9 s (the first call at 0, the fortieth at 3.9) and no
call is queued.  Prints the measured time of each run, the error against the
ideal, the spacing of start times as the sandbox saw them, and queued counts.

    python bench/bench_rate.py [--runs 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import AUTH_ID, TOKEN, callspec_run, write_calls_spec  # noqa: E402

from callspec.sandbox.server import Sandbox, SandboxConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    ideal = (args.calls - 1) / args.rate
    env = {**os.environ, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "calls.yaml"
        write_calls_spec(spec, args.calls)
        print(
            f"{args.calls} calls, --rate {args.rate:g}, --concurrency 4, "
            f"sandbox --cps {args.rate:g}; ideal {ideal:.2f} s"
        )
        for run in range(args.runs):
            config = SandboxConfig(auth_id=AUTH_ID, auth_token=TOKEN, cps=int(args.rate))
            with Sandbox(config) as box:
                report = Path(tmp) / f"r{run}.json"
                cmd = callspec_run(
                    spec,
                    box.url,
                    "--rate",
                    str(args.rate),
                    "--concurrency",
                    "4",
                    "--report",
                    str(report),
                )
                t0 = time.perf_counter()
                subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
                wall = time.perf_counter() - t0
                records = box.calls
            times = sorted(datetime.fromisoformat(r["time"]).timestamp() for r in records)
            span = times[-1] - times[0]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            summary = json.loads(report.read_text())["summary"]
            print(
                f"  run {run + 1}: first-to-last call at the sandbox {span:.3f} s "
                f"({(span - ideal) / ideal * 100:+.1f}% of ideal), gaps {min(gaps) * 1000:.0f}-"
                f"{max(gaps) * 1000:.0f} ms (median {statistics.median(gaps) * 1000:.0f}), "
                f"queued {summary['queued']}, fired {summary['fired']}, process {wall:.2f} s"
            )


if __name__ == "__main__":
    main()
