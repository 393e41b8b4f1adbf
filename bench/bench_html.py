"""Open a 20,000-call HTML report in headless Chromium: how long until it is usable.

Builds the page of a synthetic run through the real reporter (``REPORTERS["html"]``,
redactor included): N calls, each with its own body (its own ``to`` and
``answer_url``, the worst case for the shared-bodies map), mostly fired, some
queued, failed after a retry, unknown after a timeout, and skipped. Then, each
a new browser process as a user would open it, median of ``--repeat``:

* ``chromium --headless --dump-dom`` of an empty page (the browser's own start-up);
* ``--dump-dom`` of the report (parse, scripts, load), and in the page itself,
  read back from the dumped DOM: milliseconds to the end of the page's script,
  to the first full layout, and for the search box and the outcome menu driven
  as a user would (an ``input`` and a ``change`` event, then a layout);
* ``--screenshot`` of the report (layout and paint of the first screen).

``--root DIR`` builds the page with the callspec of another checkout (a
``git worktree`` of an older commit), for before/after figures:

    python bench/bench_html.py [--calls 20000] [--repeat 3] [--root DIR] [--keep page.html]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Appended to a copy of the page (never to the page the reporter wrote): marks read
# back from the dumped DOM. Runs after the page's own script, in the same parse.
PROBE = """<script>
(function () {
  var t = {script: performance.now()};
  document.body.offsetHeight;
  t.layout = performance.now();
  var q = document.getElementById("q"), sel = document.getElementById("outcome");
  function timed(name, el, value, kind) {
    var s = performance.now();
    el.value = value;
    el.dispatchEvent(new Event(kind, {bubbles: true}));
    document.body.offsetHeight;
    t[name] = performance.now() - s;
  }
  if (q && sel) {
    timed("search", q, "c1999", "input");
    timed("clear", q, "", "input");
    timed("filter", sel, "failed", "change");
  }
  var shown = document.getElementById("shown");
  t.shown = shown ? shown.textContent : "";
  document.documentElement.setAttribute("data-bench", JSON.stringify(t));
})();
</script>
"""


def build_page(n: int, root: Path) -> str:
    """The HTML page of a synthetic run of ``n`` calls, by the callspec under ``root``."""
    sys.path.insert(0, str(root))
    from callspec.redact import Redactor
    from callspec.report import REPORTERS
    from callspec.results import Attempt, CallResult, RunResult

    def stamp(ms: int) -> str:
        s, ms = divmod(ms, 1000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return f"2024-05-01T{12 + h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"

    calls = []
    for i in range(n):
        at = i * 20  # --rate 50
        body = {
            "from": "+14152224444",
            "to": f"+1415{i:07d}",
            "answer_url": f"https://hooks.example.com/a.xml?call={i}",
            "answer_method": "POST",
            "time_limit": 600,
        }
        fields: dict[str, Any] = {"status": 201, "request_uuid": f"{i:08x}-1111-2222-3333-4444"}
        fields["message"] = "call fired"
        attempts = (Attempt(stamp(at), 85.0, status=201),)
        outcome = "fired"
        if i % 20 == 7:
            outcome, fields["status"], fields["message"] = "queued", 200, "call queued"
            attempts = (Attempt(stamp(at), 90.0, status=200),)
        elif i % 20 == 11:
            outcome, fields["status"], fields["request_uuid"] = "failed", 400, None
            fields["message"], fields["error"] = None, "invalid to number"
            attempts = (
                Attempt(stamp(at), 60.0, status=500, error_kind=None, detail="server error"),
                Attempt(stamp(at + 1000), 70.0, status=400, detail="invalid to number"),
            )
        elif i % 50 == 13:
            outcome, fields["status"], fields["request_uuid"] = "unknown", None, None
            fields["message"], fields["error"] = None, "read timed out after 10 s"
            attempts = (Attempt(stamp(at), 10000.0, error="timeout", error_kind="timeout"),)
        elif i % 33 == 5:
            outcome, fields["status"], fields["request_uuid"] = "skipped", None, None
            fields["message"], fields["reason"] = None, "fired in the resumed journal"
            attempts = ()
        calls.append(
            CallResult(
                key=f"k{i:06d}",
                spec_file=f"specs/batch-{i // 1000:02d}.yaml",
                line=3 + 3 * (i % 1000),
                name=f"c{i}",
                tags=("smoke", "nightly"),
                profile_chain=("base", "prod"),
                body=body,
                outcome=outcome,
                attempts=attempts,
                **fields,
            )
        )
    run = RunResult(
        "run-bench",
        "sandbox",
        "http://127.0.0.1:8765",
        stamp(0),
        stamp(n * 20 + 10_000),
        {"rate": 50.0, "concurrency": 4, "retries": 3},
        tuple(calls),
    )
    out = io.StringIO()
    REPORTERS["html"].write(run, Redactor(["bench-token"]), out)
    return out.getvalue()


def chromium(browser: str, *args: str) -> tuple[float, str]:
    """Seconds a headless Chromium took to do ``args``, and what it printed."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", *args]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to build with")
    parser.add_argument("--keep", type=Path, help="also write the page here")
    options = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    started = time.perf_counter()
    page = build_page(options.calls, options.root.resolve())
    built = time.perf_counter() - started
    size = len(page.encode())
    if options.keep:
        options.keep.write_text(page, encoding="utf-8")
    print(
        f"{options.calls} calls: page of {size / 1e6:.1f} MB ({size / options.calls:.0f} B a call)"
    )
    print(f"  built by the reporter in {built:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        blank, report, probed = (Path(tmp) / n for n in ("blank.html", "r.html", "p.html"))
        blank.write_text("<!DOCTYPE html><title>blank</title><p>blank</p>\n")
        report.write_text(page, encoding="utf-8")
        probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        times: dict[str, list[float]] = {}
        marks: dict[str, list[float]] = {}
        shown = ""
        chromium(browser, "--dump-dom", blank.as_uri())  # warm the disk cache
        for _ in range(options.repeat):
            times.setdefault("blank page --dump-dom", []).append(
                chromium(browser, "--dump-dom", blank.as_uri())[0]
            )
            times.setdefault("report --dump-dom", []).append(
                chromium(browser, "--dump-dom", report.as_uri())[0]
            )
            shot = Path(tmp) / "shot.png"
            times.setdefault("report --screenshot", []).append(
                chromium(
                    browser, f"--screenshot={shot}", "--window-size=1280,900", report.as_uri()
                )[0]
            )
            _, dom = chromium(browser, "--dump-dom", probed.as_uri())
            found = re.search(r'data-bench="([^"]*)"', dom)
            if found is None:
                sys.exit("the probe left no marks: did the page's script fail?")
            values = json.loads(found.group(1).replace("&quot;", '"'))
            shown = values.pop("shown", "")
            for name, value in values.items():
                marks.setdefault(name, []).append(float(value))
    print(f"  headless Chromium, each a new process, median of {options.repeat}:")
    for name, values in times.items():
        print(f"    {name:<28} {statistics.median(values):6.2f} s")
    labels = {
        "script": "in page: end of its script",
        "layout": "in page: first full layout",
        "search": "search box, one input",
        "clear": "search box cleared",
        "filter": "outcome menu: failed",
    }
    for name, values in marks.items():
        print(f"    {labels.get(name, name):<28} {statistics.median(values) / 1000:6.2f} s")
    print(f"  after the filter: {shown}")


if __name__ == "__main__":
    main()
