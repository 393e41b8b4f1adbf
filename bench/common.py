"""What the benchmarks share: a spec of N plain calls and the sandbox's test credentials."""

from __future__ import annotations

import sys
from pathlib import Path

AUTH_ID, TOKEN = "MABENCHAUTHID0000000", "bench-token"


def number(i: int) -> str:
    """The ``i``-th of distinct, valid US destinations (+1 415-555-0000 on, through area
    codes 416 and up past 10,000): valid for any count the benchmarks use, since callspec
    refuses a number no country could have (callspec/spec/numbers.py)."""
    return f"+1{4155550000 + i}"


def write_calls_spec(path: Path, n: int) -> Path:
    """A spec of ``n`` calls to distinct numbers, each answer_url naming its call."""
    lines = ["version: 1", "defaults: {from: '+14152224444'}", "calls:"]
    for i in range(n):
        lines += [
            f"  - name: c{i}",
            f"    to: '{number(i)}'",
            f"    answer_url: https://hooks.example.com/a.xml?call={i}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def callspec_run(spec: Path, url: str, *extra: str) -> list[str]:
    """The command line of ``callspec run SPEC --api-url URL ... --no-progress``."""
    return [
        sys.executable,
        "-m",
        "callspec",
        "run",
        str(spec),
        "--api-url",
        url,
        *extra,
        "--no-progress",
    ]
