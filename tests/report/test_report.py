"""Reports: the JSON document against its schema, JUnit XML, text and Markdown summaries."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import callspec
from callspec.redact import Redactor
from callspec.report import (
    REPORTERS,
    append_github_summary,
    report_document,
    totals_line,
    validate_report,
    write_report,
)
from callspec.report.junit import JUnitReporter
from callspec.results import Attempt, CallResult, RunResult

SECRET = "s3cr3t-token-XYZ"
T0 = "2024-05-01T12:00:00Z"


def _call(name: str, outcome: str, spec_file: str = "specs/a.yaml", **kw: object) -> CallResult:
    fields: dict[str, object] = {
        "key": f"{spec_file}#{name}",
        "spec_file": spec_file,
        "line": 3,
        "name": name,
        "tags": ("smoke",),
        "profile_chain": ("base", "prod"),
        "body": {"from": "14155550100", "to": "14155550101", "answer_url": "https://x.test/a"},
        "outcome": outcome,
    }
    fields.update(kw)
    return CallResult(**fields)  # type: ignore[arg-type]


def _ok(status: int, ms: float = 40.0) -> Attempt:
    return Attempt(started=T0, duration_ms=ms, status=status, maybe_sent=True)


CALLS = (
    _call(
        "single",
        "fired",
        body={"from": "1415", "to": "1416", "answer_url": f"https://x.test/a?token={SECRET}"},
        attempts=(_ok(201),),
        status=201,
        request_uuid="uuid-single",
        api_id="api-1",
        message="call fired",
    ),
    _call(
        "bulk",
        "fired",
        attempts=(_ok(201),),
        status=201,
        request_uuid=["uuid-b1", "uuid-b2", "uuid-b3"],
        api_id="api-2",
        message="calls fired",
    ),
    _call(
        "later",
        "queued",
        attempts=(_ok(200),),
        status=200,
        request_uuid="uuid-q",
        api_id="api-3",
        message="call queued",
    ),
    _call(
        "rejected",
        "failed",
        spec_file="specs/b.yaml",
        attempts=(_ok(400),),
        status=400,
        api_id="api-4",
        error=f"invalid answer_url for token {SECRET}",
    ),
    _call(
        "timed-out",
        "unknown",
        spec_file="specs/b.yaml",
        attempts=(
            Attempt(T0, 12.0, error="connection refused", maybe_sent=False),
            Attempt(T0, 5000.0, error="read timeout after 5.0 s", maybe_sent=True),
        ),
        error="read timeout after 5.0 s",
    ),
    _call("resumed", "skipped", spec_file="specs/b.yaml", reason="already fired (journal)"),
    _call("broken", "invalid", spec_file="specs/c.yaml", error="to: must be phone numbers"),
)


@pytest.fixture
def run() -> RunResult:
    return RunResult(
        run_id="run-20240501",
        mode="sandbox",
        api_url="http://127.0.0.1:8765",
        started=T0,
        finished="2024-05-01T12:00:05.420000Z",
        options={"rate": 5.0, "timeout": 5.0, "only": ("single",), "journal": Path("j.jsonl")},
        calls=CALLS,
        files=("specs/a.yaml", "specs/b.yaml", "specs/c.yaml"),
    )


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([SECRET])


def _render(kind: str, run: RunResult, redactor: Redactor) -> str:
    out = io.StringIO()
    REPORTERS[kind].write(run, redactor, out)  # type: ignore[index]
    return out.getvalue()


def test_document_validates_and_counts(run: RunResult, redactor: Redactor) -> None:
    doc = report_document(run, redactor)
    assert validate_report(doc) == []
    assert doc["tool"] == {"name": "callspec", "version": callspec.__version__}
    assert doc["summary"] == {
        "total": 7,
        "fired": 2,
        "queued": 1,
        "failed": 1,
        "unknown": 1,
        "skipped": 1,
        "invalid": 1,
        # followed destinations: none of these calls was followed
        "answered": 0,
        "acknowledged": 0,
        "unanswered": 0,
    }
    calls = {c["name"]: c for c in doc["calls"]}
    assert calls["bulk"]["request_uuid"] == ["uuid-b1", "uuid-b2", "uuid-b3"]
    assert calls["timed-out"]["duration_ms"] == 5012.0
    assert [a["maybe_sent"] for a in calls["timed-out"]["attempts"]] == [False, True]
    assert calls["single"]["body"]["answer_url"] == "https://x.test/a?token=***"
    assert doc["options"]["only"] == ["single"]
    assert doc["options"]["journal"] == "j.jsonl"
    json.dumps(doc)  # JSON-able as it is


def test_json_reporter_round_trips(run: RunResult, redactor: Redactor) -> None:
    assert json.loads(_render("json", run, redactor)) == report_document(run, redactor)


def test_validate_report_names_the_path(run: RunResult, redactor: Redactor) -> None:
    doc = report_document(run, redactor)
    doc["calls"][0]["outcome"] = "exploded"
    del doc["summary"]["invalid"]
    doc["extra"] = 1
    errors = validate_report(doc)
    assert len(errors) == 3
    assert any(e.startswith("$.calls[0].outcome: 'exploded' is not one of") for e in errors)
    assert any(e.startswith("$.summary: 'invalid' is a required property") for e in errors)


def test_empty_run_is_a_valid_report(redactor: Redactor) -> None:
    empty = RunResult("r", "dry-run", "https://api.plivo.com", T0, T0, {}, ())
    assert validate_report(report_document(empty, redactor)) == []
    assert "0 calls: 0 fired" in _render("text", empty, redactor)


def test_junit(run: RunResult, redactor: Redactor) -> None:
    root = ET.fromstring(_render("junit", run, redactor))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["specs/a.yaml", "specs/b.yaml", "specs/c.yaml"]
    a, b, c = suites.values()
    assert (a.get("tests"), a.get("failures"), a.get("errors"), a.get("skipped")) == (
        "3",
        "0",
        "0",
        "0",
    )
    assert (b.get("tests"), b.get("failures"), b.get("errors"), b.get("skipped")) == (
        "3",
        "1",
        "1",
        "1",
    )
    assert b.get("time") == "5.052"
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert cases["single"].get("classname") == "specs/a.yaml"
    assert cases["single"].find("failure") is None
    assert cases["single"].get("time") == "0.040"

    failure = cases["rejected"].find("failure")
    assert failure is not None
    assert failure.get("type") == "failed"
    assert failure.get("message") == "HTTP 400: invalid answer_url for token ***"
    assert "invalid answer_url" in (failure.text or "")

    error = cases["timed-out"].find("error")
    assert error is not None
    assert error.get("type") == "unknown"
    assert "read timeout" in (error.get("message") or "")
    assert "may have been placed" in (error.text or "")
    assert "not sent again" in (error.text or "")

    skipped = cases["resumed"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "already fired (journal)"

    invalid = cases["broken"].find("failure")
    assert invalid is not None
    assert invalid.get("type") == "invalid"
    assert invalid.get("message") == "to: must be phone numbers"
    assert c.get("failures") == "1"


def test_junit_survives_control_characters(redactor: Redactor) -> None:
    bad = _call("ctl", "failed", error="boom\x00\x1b[31m", attempts=(_ok(500),), status=500)
    result = RunResult("r", "live", "https://api.plivo.com", T0, T0, {}, (bad,))
    out = io.StringIO()
    JUnitReporter().write(result, redactor, out)
    failure = ET.fromstring(out.getvalue()).find("testsuite/testcase/failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("HTTP 500: boom")


def test_text_summary(run: RunResult, redactor: Redactor) -> None:
    text = _render("text", run, redactor)
    lines = text.splitlines()
    assert lines[0].split() == ["call", "outcome", "status", "request_uuid", "time", "(ms)"]
    for call in CALLS:
        assert f"{call.spec_file}:{call.name}" in text
    assert "uuid-b1 (+2 more)" in text
    assert (
        "7 calls: 2 fired, 1 queued, 1 failed, 1 unknown, 1 skipped, 1 invalid "
        "(mode sandbox, 5.42 s)"
    ) in lines
    # columns line up: every row of the table is as long as the header
    table = lines[: 1 + len(CALLS)]
    assert len({len(line) for line in table}) == 1
    after = lines[len(CALLS) + 2 :]
    assert after == [
        "specs/b.yaml:rejected: failed: invalid answer_url for token ***",
        "specs/b.yaml:timed-out: unknown: read timeout after 5.0 s "
        "(may have been placed; not resent)",
        "specs/c.yaml:broken: invalid: to: must be phone numbers",
    ]
    assert text.isascii()


def test_totals_line_example() -> None:
    calls = (*(_call(f"c{i}", "fired", attempts=(_ok(201),)) for i in range(4)), CALLS[3])
    result = RunResult("r", "sandbox", "u", T0, "2024-05-01T12:00:00.420Z", {}, calls)
    assert totals_line(report_document(result, Redactor())) == (
        "5 calls: 4 fired, 0 queued, 1 failed, 0 unknown, 0 skipped (mode sandbox, 0.42 s)"
    )


def test_markdown(run: RunResult, redactor: Redactor) -> None:
    md = _render("markdown", run, redactor)
    lines = md.splitlines()
    header = lines.index("| call | outcome | status | request_uuid | time (ms) |")
    assert lines[header + 1].startswith("|---|")
    assert "| specs/a.yaml:bulk | fired | 201 | uuid-b1 (+2 more) | 40 |" in lines
    assert "| specs/b.yaml:resumed | skipped | - | - | 0 |" in lines
    assert any(line.startswith("7 calls: 2 fired") for line in lines)


def test_github_summary(run: RunResult, redactor: Redactor, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert append_github_summary(run, redactor, {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert "| specs/a.yaml:single | fired | 201 | uuid-single | 40 |" in text
    assert not append_github_summary(run, redactor, {})
    assert summary.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("kind", sorted(REPORTERS))
def test_secret_never_written(
    kind: str, run: RunResult, redactor: Redactor, tmp_path: Path
) -> None:
    assert SECRET not in _render(kind, run, redactor)
    target = tmp_path / "out" / "deep" / f"report.{kind}"
    write_report(kind, run, redactor, target)  # type: ignore[arg-type]
    assert SECRET not in target.read_text(encoding="utf-8")
    assert "***" in target.read_text(encoding="utf-8")


def test_write_report_is_atomic(run: RunResult, redactor: Redactor, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run.json"
    write_report("json", run, redactor, target)
    write_report("json", run, redactor, target)  # replaces, leaves nothing behind
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]
    assert validate_report(json.loads(target.read_text(encoding="utf-8"))) == []


def test_failed_write_keeps_old_report(
    run: RunResult, redactor: Redactor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run.json"
    target.write_text("old", encoding="utf-8")

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(REPORTERS["json"], "write", boom)
    with pytest.raises(RuntimeError):
        write_report("json", run, redactor, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
