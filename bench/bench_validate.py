"""Validate a generated spec of 10,000 calls: the CLI against a bare jsonschema validator.

Both run in one invocation on the same machine:

* ``callspec validate`` as a user runs it (a new process: start-up, YAML
  loading, profiles, Jinja rendering, normalizing, schema and cross-field checks);
* a bare ``Draft202012Validator`` compiled once from ``schemas/call.schema.json``,
  validating the same 10,000 rendered bodies already in memory (what the
  validation alone costs; no loading, no rendering, no messages).

    python bench/bench_validate.py [--calls 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callspec.spec.plan import PlanOptions, build_plan  # noqa: E402

# As after `pip install`, which compiles bytecode: this machine sets PYTHONDONTWRITEBYTECODE,
# which would make every run compile callspec and its dependencies from source.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_spec(folder: Path, n: int) -> Path:
    (folder / "profiles.yaml").write_text(
        "version: 1\n"
        "profiles:\n"
        "  default:\n"
        "    vars: {hooks: https://hooks.example.com}\n"
        "    defaults:\n"
        '      from: "+14152224444"\n'
        '      hangup_url: "{{ hooks }}/hangup"\n'
        "      machine_detection: hangup\n"
        "      machine_detection_time: 3000\n"
    )
    lines = [
        "version: 1",
        "vars: {service: payments}",
        "defaults:",
        '  answer_url: "{{ hooks }}/answer.xml?service={{ service }}"',
        "  answer_method: GET",
        '  caller_name: "{{ service | upper }} ALERT"',
        "calls:",
    ]
    for i in range(n):
        lines += [
            f"  - name: call-{i:05d}",
            "    tags: [bench]",
            f'    to: "+1415{i:07d}"',
            '    time_limit: "300"',
            "    send_digits: 1w2W3",
            "    ring_timeout: 45",
        ]
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_spec(Path(tmp), args.calls)
        bodies = [dict(c.body) for c in build_plan([spec], PlanOptions(), {}).calls]
        assert len(bodies) == args.calls
        schema = json.loads((ROOT / "schemas" / "call.schema.json").read_text())
        bare = Draft202012Validator(schema)
        bare_times: list[float] = []
        cli_times: list[float] = []
        # Interleaved, so a busy moment of the machine weighs on both alike.
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            errors = sum(1 for body in bodies for _ in bare.iter_errors(body))
            bare_times.append(time.perf_counter() - t0)
            assert errors == 0
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "callspec", "validate", str(spec)],
                cwd=ROOT,
                env=ENV,
                capture_output=True,
                text=True,
                check=False,
            )
            cli_times.append(time.perf_counter() - t0)
            assert done.returncode == 0, done.stderr
    cli, raw = statistics.median(cli_times), statistics.median(bare_times)
    print(f"calls validated:                 {args.calls}")
    print(f"callspec validate (CLI, process): {cli:.3f} s median of {args.repeat}")
    print(f"bare compiled jsonschema:         {raw:.3f} s median of {args.repeat}")
    print(
        f"ratio CLI / bare:                 {cli / raw:.2f}x (best of each: "
        f"{min(cli_times):.3f} / {min(bare_times):.3f} = {min(cli_times) / min(bare_times):.2f}x)"
    )


if __name__ == "__main__":
    main()
