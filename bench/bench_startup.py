"""Start-up, whole processes: ``callspec --version``/``--help``/``schema call`` and
``validate`` of one spec (specs/seed.yaml: the YAML loader, a profile, the derived schema
check, the number check), against ``python -c "import requests"`` (what any Python HTTP
client pays before its first line).

Rounds alternate between the commands so that machine noise falls on all of them;
bytecode is written as after ``pip install`` (PYTHONDONTWRITEBYTECODE unset).

    python bench/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "callspec --version": ["-m", "callspec", "--version"],
    "callspec --help": ["-m", "callspec", "--help"],
    "callspec schema call": ["-m", "callspec", "schema", "call"],
    "callspec validate (one spec)": ["-m", "callspec", "validate", "specs/seed.yaml"],
    'python -c "import requests"': ["-c", "import requests"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeat + 1):  # the first round warms the bytecode and the disk cache
        for name, args in COMMANDS.items():
            started = time.perf_counter()
            run = [sys.executable, *args]
            subprocess.run(run, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times['python -c "import requests"'][1:])
    for name, values in times.items():
        median = statistics.median(values[1:])
        print(f"{name:30s} {median * 1000:6.0f} ms median of {repeat}  ({median / base:.2f}x)")


if __name__ == "__main__":
    main()
