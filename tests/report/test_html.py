"""The HTML report: escaping, secrets, size per call, and the page in a real browser."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from support import ROOT, cred_env, free_port, invoke, run_args, write_spec

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import REPORTERS, report_document
from callspec.report.html import _timeline, render_html
from callspec.results import Answer, Attempt, CallResult, RunResult
from callspec.spec.model import Ack, Escalation, Message

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


def test_timeline_marks_where_sending_stopped() -> None:
    doc = report_document(_run(MIXED), Redactor())
    assert _timeline(doc["calls"])["stop_x"] is None
    assert "<line" not in render_html(doc)
    # attempts at :00..:03 (40 ms each), sending stopped at :05: the axis reaches the stop
    stop = {"kind": "bail", "reason": "3 calls in a row <no answer>", "time": T0[:17] + "05Z"}
    timeline = _timeline(doc["calls"], stop)
    assert timeline["span_ms"] == 5000 and timeline["stop_x"] == 1000.0
    doc["stopped"] = stop
    page = render_html(doc)
    line = re.search(r'<line x1="1000.0"[^>]*class="stop"[^>]*><title>([^<]*)</title>', page)
    assert line and line.group(1) == "sending stopped (bail): 3 calls in a row &lt;no answer&gt;"


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
        ('{"calls": [{"duration_ms": NaN}]}', ["--html", "page.html"], "NaN is not a JSON number"),
        ('{"calls": [{"duration_ms": Infinity}]}', ["--html", "page.html"], "Infinity is not a"),
        (
            "[" * 200_000 + "]" * 200_000,
            ["--html", "page.html"],
            "r.json is not JSON: maximum recursion depth exceeded",
        ),
    ],
    ids=["no-output", "not-json", "not-a-report", "reads-itself", "nan", "infinity", "deep"],
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


def _edited_report(tmp_path: Path, old: str, new: str) -> Path:
    out = io.StringIO()
    REPORTERS["json"].write(_run(MIXED[:1]), Redactor(), out)
    assert old in out.getvalue()
    path = tmp_path / "r.json"
    path.write_text(out.getvalue().replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"started": "2024-05-01T12:00:00Z"', '"started": "2024-13-01T12:00:00Z"', "$.started"),
        ('"finished": "2024-05-01T12:01:00Z"', '"finished": "12:01"', "$.finished"),
        ('"line": 3', '"line": 1' + "0" * 400, "$.calls[0].line: the number is too large"),
        ('"from": ', '"n": -1' + "0" * 400 + ', "from": ', "$.calls[0].body.n: the number is"),
        ('"from": ', '"\\udc80": 1, "from": ', "$.calls[0].body: a key holds a lone surrogate"),
        ('"tags": [', '"tags": ["\\ud83d", ', "$.calls[0].tags[0]: holds a lone surrogate"),
        ('"name": "good"', '"name": "good\\ud800"', "$.calls[0].name: holds a lone surrogate"),
        ('"duration_ms": 40.0', '"duration_ms": 1' + "0" * 400, "duration_ms: the number is too"),
    ],
)
def test_report_refuses_what_no_run_writes(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """A hand-edited report: a time that is no RFC 3339 date-time (the schema's format),
    an integer too large for a float, a lone surrogate: exit 2 naming the file and where."""
    report = _edited_report(tmp_path, old, new)
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert f"{report} is not a callspec report" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "p.html").exists()


def test_report_masks_as_run_does_and_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The env's token in the page of either command is masked the same way; a short
    declared secret masks values only, never the page's code or its numbers."""
    monkeypatch.chdir(tmp_path)
    token = "tok-2a7c"
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars: {pin: '1'}\n"
        "    defaults: {from: '+14152224444'}\n"
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: pager\n    caller_name: 'pager {{ env.WHO }}'\n"
        "    to: '+14155550101'\n"
        "    answer_url: 'https://u:p@hooks.example.com/a.xml?pin={{ pin }}'\n"
        "    time_limit: 11\n"
    )
    env = {"PLIVO_AUTH_ID": "MAX", "PLIVO_AUTH_TOKEN": token, "WHO": token}
    args = ["run", "calls.yaml", "--dry-run", "-q", "--report", "r.json", "--html", "p.html"]
    assert invoke(args, env=env).exit_code == ExitCode.OK
    assert invoke(["report", "r.json", "--html", "q.html"], env=env).exit_code == ExitCode.OK
    page = (tmp_path / "p.html").read_text()
    assert page == (tmp_path / "q.html").read_text()
    assert token not in page and '"caller_name":"pager ***"' in page
    assert "https://***@hooks.example.com/a.xml?pin=***" in page
    assert '"time_limit":11' in page  # the PIN '1' masked the value, not the number 11


def test_report_command_masks_the_env_token_and_userinfo(tmp_path: Path) -> None:
    token = "tok-3f9a1c7e-very-secret-0000"
    report = _edited_report(tmp_path, '"error": null', f'"error": "proxy echoed {token}"')
    text = report.read_text().replace(
        '"http://127.0.0.1:8765"', '"https://ops:hunter2@api.example.com"'
    )
    report.write_text(text)
    env = {"PLIVO_AUTH_ID": "MAX", "PLIVO_AUTH_TOKEN": token}
    result = invoke(["report", report, "--html", tmp_path / "p.html"], env=env)
    assert result.exit_code == ExitCode.OK, result.output
    page = (tmp_path / "p.html").read_text()
    assert "proxy echoed" in page  # the edit reached the page
    assert token not in page
    assert "hunter2" not in page


def test_the_userinfo_mask_does_not_rewrite_bodies_across_fields() -> None:
    run = _run((_call("n", "fired", body={"a": "see http://", "b": "ops@example.com"}),))
    page = _html(run)
    assert json.loads(_bodies_json(page)) == [{"a": "see http://", "b": "ops@example.com"}]
    assert page == render_html(report_document(run, Redactor()))


def _bodies_json(page: str) -> str:
    found = re.search(r'<script type="application/json" id="bodies">(.*?)</script>', page, re.S)
    assert found, "no bodies script in the page"
    return found.group(1)


def _short_secret_run(tmp_path: Path, pin: str) -> tuple[str, str]:
    """run --dry-run --html with a declared secret ``pin``, and callspec report of its JSON:
    the two pages."""
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        f'    vars: {{pin: "{pin}"}}\n    defaults: {{from: "+14152224444"}}\n'
    )
    (tmp_path / "calls.yaml").write_text(
        "version: 1\ncalls:\n  - name: page\n    to: '+14155550101'\n"
        "    answer_url: 'https://hooks.example.com/a.xml?pin={{ pin }}'\n    time_limit: 100\n"
    )
    ran = invoke(["run", "calls.yaml", "--dry-run", "-q", "--report", "r.json", "--html", "p.html"])
    assert ran.exit_code == ExitCode.OK, ran.output
    rebuilt = invoke(["report", "r.json", "--html", "q.html"])
    assert rebuilt.exit_code == ExitCode.OK, rebuilt.output
    assert "pin=***" in (tmp_path / "p.html").read_text()  # the secret itself is masked
    return (tmp_path / "p.html").read_text(), (tmp_path / "q.html").read_text()


def test_a_short_secret_keeps_the_page_code_and_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    page, rebuilt = _short_secret_run(tmp_path, "100")
    json.loads(_bodies_json(page).replace("\\u003c", "<"))  # the script's JSON.parse
    assert "var PART = ***" not in page
    assert page == rebuilt


def test_the_timeline_of_a_run_that_bailed_marks_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, 3)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused, a certain non-answer
    extra = ("--bail", "1", "--retries", "0", "-q", "--html", "p.html")
    result = invoke(run_args(tmp_path, url, *extra), env=cred_env())
    assert "circuit breaker" in result.output, result.output
    page = (tmp_path / "p.html").read_text()
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg, "no timeline"
    stop = re.search(r'<line [^>]*class="stop"[^>]*><title>([^<]*)</title>', svg.group(0))
    assert stop, svg.group(0)
    assert stop.group(1).startswith("sending stopped (bail): "), stop.group(1)


# -- in a real browser ---------------------------------------------------------------------


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _chromium(*args: str) -> str:
    """Headless Chromium's stdout; a profile of its own, so browsers of tests running side
    by side neither share one nor hand their page to each other."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            *(_browser(), "--headless", "--no-sandbox", "--disable-gpu"),
            f"--user-data-dir={profile}",
            *args,
        ]
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
    assert depth == 8, depth
    size = {2: 3, 6: 4}[colour]  # bytes per pixel: RGB, RGBA (no palette, no grey)
    raw = zlib.decompress(idat)
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


def _page_step(name: str, n: int, answer: Answer | None) -> CallResult:
    """A step of an ``until: acknowledged`` chain of three, with its message."""
    return _call(
        name,
        "fired" if answer is not None else "skipped",
        n,
        request_uuid=answer.call_uuid if answer is not None else None,
        answers=(answer,) if answer is not None else None,
        escalate=Escalation(30.0, "acknowledged", "specs/page.yaml:3", n, 3),
        prompt=Message("Deploy failed. Press 1.", ack=Ack("1", 45)),
    )


def test_browser_opens_with_the_verdict_in_words_then_the_chain_then_the_calls(
    tmp_path: Path,
) -> None:
    ack_at = "2026-12-07T12:13:38.412+00:00"
    calls = (
        _page_step("ana", 1, Answer("u1", "+14155550101", False, state="completed")),
        _page_step(
            "ben",
            2,
            Answer(
                "u2",
                "+14155550102",
                True,
                state="completed",
                acknowledged=True,
                acknowledged_at=ack_at,
            ),
        ),
        _page_step("cleo", 3, None),
    )
    path = tmp_path / "page.html"
    path.write_text(_html(_run(calls)), encoding="utf-8")
    dom = _chromium("--dump-dom", path.as_uri())
    body = dom[dom.index("<body") :]
    words = re.search(r'<div class="verdict ok">\s*<p class="words">([^<]*)</p>', body)
    assert words is not None
    assert words.group(1) == (
        "Acknowledged by 'ben' at 2026-12-07 12:13:38 UTC, row 2 of 3, after 'ana': no "
        "answer, 'cleo': not called"
    )
    chain = re.findall(r'<li class="fate-([a-z-]+)">([^<]*)</li>', body)
    assert chain == [
        ("no-answer", "ana (14155550101): no answer"),
        ("acknowledged", "ben (14155550101): acknowledged"),
        ("not-called", "cleo (14155550101): not called"),
    ]
    # Each call's own line says its fate in the same words (a step never called: not
    # "unknown").
    said = re.findall(r"acknowledged by 1 within 45 s: ([^<]*)</p>", body)
    assert said == ["no answer", f"yes at {ack_at}", "not called"]
    # What happened comes first: before the run's details, the badges and the calls.
    order = [body.index(mark) for mark in ('id="verdicts"', "<dl>", 'id="summary"', 'id="calls"')]
    assert order == sorted(order)


def test_browser_runs_the_script_of_a_page_with_a_short_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _short_secret_run(tmp_path, "2000")
    dom = _chromium("--dump-dom", (tmp_path / "p.html").as_uri() + "#outcome=skipped")
    assert re.search(r'id="shown">1 of 1 shown<', dom), "the page's script did not run"


def test_browser_finds_an_e164_number_searched_in_the_fragment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, 3)  # to +14155550000 .. +14155550002
    result = invoke(["run", "calls.yaml", "--dry-run", "-q", "--html", "p.html"])
    assert result.exit_code == ExitCode.OK, result.output
    dom = _chromium("--dump-dom", (tmp_path / "p.html").as_uri() + "#q=+14155550001")
    assert re.search(r'id="shown">1 of 3 shown<', dom), re.findall(r'id="shown">[^<]*', dom)
