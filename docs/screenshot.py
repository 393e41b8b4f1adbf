"""docs/reports.md's screenshot of an HTML report: a real run on the sandbox, shot by Chromium.

Twenty calls against a sandbox that answers a third of them with HTTP 500 and
400 (seeded, so the picture is the same each time), written with
``callspec run --html``; then the same command the browser tests use, headless:

    python docs/screenshot.py [--out docs/report.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from common import AUTH_ID, TOKEN, callspec_run, write_calls_spec  # noqa: E402

from callspec.sandbox.faults import Fault  # noqa: E402
from callspec.sandbox.server import Sandbox, SandboxConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    env = {**os.environ, "PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    faults = (Fault(500, 0.2), Fault(400, 0.15))
    config = SandboxConfig(
        auth_id=AUTH_ID, auth_token=TOKEN, seed=3, faults=faults, latency_ms=(20.0, 120.0)
    )
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_calls_spec(Path(tmp) / "calls.yaml", 20)
        page = Path(tmp) / "report.html"
        box = Sandbox(config).start()
        try:
            extra = ["--rate", "40", "--retries", "1", "--bail", "0"]
            outputs = ["--report", str(Path(tmp) / "report.json"), "--html", str(page)]
            command = callspec_run(spec, box.url, *extra, *outputs)
            subprocess.run(command, cwd=tmp, env=env, capture_output=True, check=False)
        finally:
            box.stop()
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={args.out.resolve()}",
                "--window-size=1000,760",
                page.as_uri(),
            ],
            capture_output=True,
            check=True,
        )
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
