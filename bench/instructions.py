"""Instructions from process start to the first connect(), counted by callgrind.

On a 2-core machine shared with other work, wall-clock start-up figures move by
tens of percent from run to run; the number of instructions a process executes
does not (to a few parts in a thousand), so it is how a start-up change is judged
before the timed rows confirm it.  A small Python wrapper ends the process (with
``os._exit``) at its first ``socket.connect`` audit event, so the count is the
work done before the request could leave, whatever the server does after.

    python bench/instructions.py            # callspec run one.yaml vs the SDK script
    python bench/instructions.py --tree DIR # another checkout's callspec (e.g. main's)

Needs valgrind (``apt-get install valgrind``); each side takes ~10 s under it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: Runs a script (``PATH ARGS...``) and ends the process at its first connect().
STOP_AT_CONNECT = """\
import os, runpy, sys

def _stop(event, args):
    if event == "socket.connect":
        os._exit(0)

sys.addaudithook(_stop)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
sys.exit("callspec bench: the program ended without connecting")
"""


def available() -> bool:
    return shutil.which("valgrind") is not None


def to_connect(script: Path, args: Sequence[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions ``python SCRIPT ARGS...`` executes before its first connect() (run once
    without valgrind first, so that both sides find their bytecode caches written)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        stopper = tmp / "stop_at_connect.py"
        stopper.write_text(STOP_AT_CONNECT)
        out = tmp / "callgrind.out"
        command = [sys.executable, str(stopper), str(script), *args]
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        done = subprocess.run(
            [*valgrind, *command], cwd=cwd, env=env, capture_output=True, text=True
        )
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"callgrind failed ({done.returncode}): {done.stderr[-2000:]}")
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"no instruction count in {out}")
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    options = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import AUTH_ID, TOKEN, write_calls_spec
    from run_all import SDK_LOOP

    if not available():
        raise SystemExit("valgrind is not installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(options.tree.resolve())
    url = "http://127.0.0.1:9"  # never reached: the count ends at the connect
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        spec = write_calls_spec(tmp / "one.yaml", 1)
        sdk = tmp / "sdk_loop.py"
        sdk.write_text(SDK_LOOP)
        entry = tmp / "callspec_entry.py"  # what the console script runs
        entry.write_text("import sys\nfrom callspec.cli import main\nsys.exit(main())\n")
        creds = {**env, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
        args = ["run", str(spec), "--api-url", url, "--report", str(tmp / "r.json")]
        ours = to_connect(entry, args, creds, tmp)
        sdk_count = to_connect(sdk, [url, AUTH_ID, TOKEN, "1"], env, tmp)
    print(f"callspec run one.yaml: {ours:,} instructions to its connect()")
    print(f"the SDK's calls.create script: {sdk_count:,}")
    print(f"ratio {ours / sdk_count:.2f}x")


if __name__ == "__main__":
    main()
