"""The HTML report's URL checks section (run --check), from a RunResult with checks."""

from __future__ import annotations

from html.parser import HTMLParser

from callspec.check.model import CallRef, UrlCheck
from callspec.check.plivo_xml import XmlProblem
from callspec.redact import Redactor
from callspec.report import report_document
from callspec.report.html import render_html
from callspec.results import RunResult

SECRET = "pin-5512-secret"
T0 = "2024-05-01T12:00:00Z"


class Rows(HTMLParser):
    """The text of each cell of each ``tr.check`` row, and its data-ok."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "check":
            self.rows.append((a.get("data-ok") or "", []))
        elif tag == "td" and self.rows:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _result() -> RunResult:
    ref = CallRef("specs/a.yaml", 5, 0, "page")
    good = UrlCheck(
        "answer_url", "https://h.test/a.xml", "GET", (ref,), 200, "text/xml", 12.0, xml="valid"
    )
    bad = UrlCheck(
        "fallback_url",
        f"https://h.test/f?pin={SECRET}",
        "POST",
        (ref,),
        200,
        "text/xml",
        9.0,
        xml="invalid",
        problems=(XmlProblem(3, 5, "<Speak> has no attribute 'voise'; did you mean 'voice'?"),),
    )
    return RunResult("r1", "sandbox", "http://127.0.0.1:1", T0, T0, {}, (), checks=(good, bad))


def test_checks_section_lists_each_url_with_its_verdict_and_problems() -> None:
    redactor = Redactor([SECRET])
    page = render_html(report_document(_result(), redactor))
    assert SECRET not in page
    parser = Rows()
    parser.feed(page)
    (ok1, cells1), (ok2, cells2) = parser.rows
    assert ok1 == "true" and cells1[:5] == [
        "ok",
        "answer_url",
        "GET",
        "https://h.test/a.xml",
        "200",
    ]
    assert cells1[-1].startswith("valid Plivo XML")
    assert ok2 == "false" and cells2[0] == "FAIL" and cells2[3] == "https://h.test/f?pin=***"
    assert "3:5 <Speak> has no attribute 'voise'; did you mean 'voice'?" in cells2[-1]
    assert "used by specs/a.yaml:page" in cells2[-1]


def test_no_section_without_checks() -> None:
    plain = RunResult("r1", "sandbox", "http://127.0.0.1:1", T0, T0, {}, ())
    doc = report_document(plain, Redactor())
    assert "checks" not in doc  # reports without --check are as they were
    assert 'id="checks"' not in render_html(doc)
