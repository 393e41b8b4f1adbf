"""The HTML report: escaping, secrets, size per call, and the page in a real browser."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from support import ROOT, invoke

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import REPORTERS, report_document
from callspec.report.html import _timeline, render_html
from callspec.results import Attempt, CallResult, RunResult

SECRET = "s3cr3t-token-XYZ"
T0 = "2024-05-01T12:00:00Z"
HOSTILE = '</script><script>alert("x")</script><img src=x onerror=alert(1)>&amp;'


def _call(name: str, outcome: str, n: int = 0, **kw: object) -> CallResult:
    fields: dict[str, object] = {
        "key": f"k{n}-{name}",
        "spec_file": "specs/a.yaml",
        "line": 3 + n,
        "name": name,
        "tags": ("smoke",),
        "profile_chain": ("base", "prod"),
        "body": {"from": "14155550100", "to": "14155550101", "answer_url": "https://x.test/a"},
        "outcome": outcome,
        "attempts": (Attempt(f"{T0[:17]}{n % 60:02d}Z", 40.0, status=201, maybe_sent=True),),
        "status": 201,
        "request_uuid": f"uuid-{n}",
    }
    fields.update(kw)
    return CallResult(**fields)  # type: ignore[arg-type]


def _run(calls: tuple[CallResult, ...]) -> RunResult:
    return RunResult(
        "run-1", "sandbox", "http://127.0.0.1:8765", T0, "2024-05-01T12:01:00Z", {}, calls
    )


def _html(run: RunResult, redactor: Redactor | None = None) -> str:
    out = io.StringIO()
    REPORTERS["html"].write(run, redactor or Redactor(), out)
    return out.getvalue()


MIXED = (
    _call("good", "fired", 0),
    _call(
        "bad",
        "failed",
        1,
        status=400,
        request_uuid=None,
        error=f"invalid answer_url for token {SECRET}",
        body={"answer_url": f"https://x.test/a?token={SECRET}"},
        attempts=(Attempt(T0, 12.0, status=400, maybe_sent=True),),
    ),
    _call("later", "queued", 2, status=200),
    _call("lost", "unknown", 3, attempts=(Attempt(T0, 5000.0, error="timeout", maybe_sent=True),)),
)


def test_hostile_values_are_escaped() -> None:
    calls = (
        _call(
            HOSTILE,
            "failed",
            tags=(HOSTILE,),
            profile_chain=(HOSTILE,),
            body={HOSTILE: HOSTILE},
            error=HOSTILE,
            request_uuid=HOSTILE,
        ),
    )
    page = _html(_run(calls))
    assert page.count("<script") == 3  # the class of <html>, the bodies, the page's script
    assert "<img" not in page and 'alert("x")' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;amp;" in page
    # Inside the JSON map, nothing can close the script element.
    bodies = page.split('<script type="application/json" id="bodies">')[1].split("</script>")[0]
    assert json.loads(bodies) == [{HOSTILE: HOSTILE}]


def test_secrets_are_absent() -> None:
    page = _html(_run(MIXED), Redactor([SECRET]))
    assert SECRET not in page
    assert "token ***" in page


def test_page_shows_header_problems_and_stop() -> None:
    doc = report_document(_run(MIXED), Redactor())
    doc["stopped"] = {"kind": "breaker", "reason": "5 failures in a row", "time": T0}
    doc["problems"] = [
        {"file": "specs/b.yaml", "line": 4, "column": 7, "path": "$.calls[0].to", "message": "bad"}
    ]
    page = render_html(doc)
    assert "<dt>exit code</dt><dd>1</dd>" in page  # a call failed
    assert "breaker: 5 failures in a row" in page
    assert "specs/b.yaml:4:7" in page
    assert "http://127.0.0.1:8765" in page
    assert page.count('<tr class="call"') == 4


def test_same_bytes_from_the_document_and_from_its_json() -> None:
    run = _run(MIXED)
    out = io.StringIO()
    REPORTERS["json"].write(run, Redactor([SECRET]), out)
    assert render_html(json.loads(out.getvalue())) == _html(run, Redactor([SECRET]))


def test_each_body_is_stored_once_and_a_call_costs_under_1_kb() -> None:
    one = len(_html(_run(MIXED[:1])).encode())
    many = _html(_run(tuple(_call(f"call-{n}", "fired", n) for n in range(2000))))
    assert many.count("14155550101") == 1
    per_call = (len(many.encode()) - one) / 1999
    assert per_call < 1024, per_call
    assert 'viewBox="0 0 1000 3000"' in many  # 2,000 calls on 500 rows, 4 a row
    assert many.count('<div class="part">') == 20  # parts the browser lays out when in view


def test_timeline_merges_touching_marks_of_a_kind_only() -> None:
    def at(n: int, ms: float) -> tuple[Attempt, ...]:  # 1,000 calls 1 ms apart, 2 a row
        return (Attempt(f"2024-05-01T12:00:00.{n:03d}Z", ms, status=201 if ms < 99 else None),)

    calls = [_call(f"c{n}", "fired", n, attempts=at(n, 40.0)) for n in range(1000)]
    calls[1] = _call("lost", "unknown", 1, attempts=at(1, 5000.0))
    doc = report_document(_run(tuple(calls)), Redactor())
    marks = _timeline(doc["calls"])["marks"]
    assert (marks[0]["cls"], marks[0]["y"]) == ("ok", 0)
    assert marks[-1]["cls"] == "maybe" and marks[-1]["y"] == 0  # drawn last, on top
    assert len([m for m in marks if m["y"] == 0]) == 2  # c0 and the lost one: no merge
    assert len(marks) == 1 + 500  # the others: one rect per row


# -- through the CLI: run --html and callspec report --html ---------------------------


def test_run_and_report_write_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(ROOT / "specs"), "--sandbox", "--rate", "50"]
    result = invoke([*args, "--report", out / "report.json", "--html", out / "run.html"])
    assert result.exit_code == ExitCode.OK, result.stderr
    result = invoke(["report", out / "report.json", "--html", out / "again.html"])
    assert result.exit_code == ExitCode.OK, result.stderr
    page = (out / "run.html").read_bytes()
    assert page == (out / "again.html").read_bytes()
    assert page.count(b'<tr class="call" data-outcome="fired"') == 10
    assert b"4321" not in page  # the declared secret (pager PIN) stays masked


def test_html_joins_the_same_path_rule(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = invoke(["run", str(ROOT / "specs"), "--dry-run", "--report", report, "--html", report])
    assert result.exit_code == ExitCode.USAGE
    assert "--report and --html" in result.stderr
    assert not report.exists()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{}", [], "say what to write: --html FILE"),
        ("not json", ["--html", "page.html"], "r.json is not JSON"),
        ('{"calls": []}', ["--html", "page.html"], "r.json is not a callspec report: $"),
        ("{}", ["--html", "r.json"], "--html names the report it reads"),
    ],
)
def test_report_refuses(
    tmp_path: Path, monkeypatch, content: str, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(content)
    result = invoke(["report", "r.json", *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert not Path("page.html").exists()


# -- in a real browser: three launches ----------------------------------------------------


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _chromium(*args: str) -> str:
    command = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_browser_fails_only_under_ci(monkeypatch, ci: str, outcome: type) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium"):
        _browser()


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(_html(_run(MIXED)), encoding="utf-8")
    return path


def test_browser_filters_a_large_page_by_the_url_fragment(tmp_path: Path) -> None:
    calls = MIXED + tuple(_call(f"more-{n}", "fired", n) for n in range(4, 2504))
    path = tmp_path / "large.html"
    path.write_text(_html(_run(calls)), encoding="utf-8")
    dom = _chromium("--dump-dom", path.as_uri() + "#outcome=failed")
    rows = re.findall(r'<tr class="call"[^>]*>', dom)
    assert len(rows) == 2504
    assert [r for r in rows if "hidden" not in r] == [
        '<tr class="call" data-outcome="failed" data-body="1">'
    ]
    assert "1 of 2504 shown" in dom
    # Past 2,000 calls a body is filled in when its call is opened, not at load; the
    # parts of the table without a row shown are hidden whole (26 parts of 100 rows).
    assert "<pre" not in dom
    assert len(re.findall(r'<div class="part"[^>]*hidden', dom)) == 25


def test_browser_sorts_and_searches_the_bodies(page: Path) -> None:
    dom = _chromium("--dump-dom", page.as_uri() + "#q=14155550101&sort=-ms")
    shown = re.findall(r'<tr class="call"[^>]*>.*?class="name"[^>]*>([^<]*)<', dom, re.S)
    hidden = re.findall(
        r'<tr class="call"[^>]*hidden[^>]*>.*?class="name"[^>]*>([^<]*)<', dom, re.S
    )
    # Slowest first, ties in plan order; "bad" has another body and no such number.
    assert [name for name in shown if name not in hidden] == ["lost", "good", "later"]
    assert hidden == ["bad"]
    assert "3 of 4 shown" in dom
    assert 'data-sort="ms" aria-sort="descending"' in dom
    assert '"answer_url": "https://x.test/a"' in dom  # the script filled the bodies in


def _png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixels of an 8-bit RGB(A) non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    raw, size = zlib.decompress(idat), 3 if colour == 2 else 4
    stride = width * size + 1
    # Filter bytes make rows not raw pixels; the distinct byte runs still tell blank from not.
    colours = {raw[i : i + size] for i in range(1, len(raw), size) if i % stride}
    return width, height, colours


def test_browser_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1000,700", page.as_uri())
    width, height, colours = _png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 700)
    assert shot.stat().st_size > 10_000
    assert len(colours) > 50
