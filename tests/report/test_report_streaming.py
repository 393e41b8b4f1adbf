"""The JSON report written a call at a time has exactly the bytes of the whole document.

``JsonReporter`` renders each call on its own (through a temporary file) so a large
run never holds its report twice; the golden recordings pin the format, and these
check the byte identity with ``json.dumps(report_document(...), indent=2)`` on the
shapes that could break it: no calls, problems, non-ASCII, nested and empty values.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from callspec.errors import Location, Problem
from callspec.redact import Redactor
from callspec.report import JsonReporter, ReportError, report_document, write_report
from callspec.results import Attempt, CallResult, RunResult


def _calls(n: int) -> tuple[CallResult, ...]:
    return tuple(
        CallResult(
            key=f"k{i}",
            spec_file="dir/a\u00e9.yaml",
            line=i + 3,
            name=f'call-{i}\n"quoted"',
            tags=("t",) if i % 2 else (),
            profile_chain=("default",),
            body={"to": "+1", "n": {"a": [1, {"b": None}], "e": [], "d": {}}, "s": "s3cret"},
            outcome="fired" if i % 2 else "failed",
            attempts=(Attempt("2026-01-01T00:00:00.000Z", 1.25, 201, retry_after=math.inf),),
            request_uuid=[f"u{i}", "v"] if i % 2 else f"u{i}",
        )
        for i in range(n)
    )


PROBLEM = Problem(Location("spec.yaml", 3, 7), "calls[0].to", "not a number \u2013 '\u6f22'")


@pytest.mark.parametrize(
    ("calls", "problems"),
    [((), ()), (_calls(1), ()), (_calls(4), ()), ((), (PROBLEM,)), (_calls(2), (PROBLEM,))],
)
def test_the_streamed_report_is_the_whole_document_byte_for_byte(
    calls: tuple[CallResult, ...], problems: tuple[Problem, ...]
) -> None:
    run = RunResult(
        "r1", "live", "https://api.plivo.com", "s", "f", {"x": [1]}, calls, problems=problems
    )
    redactor = Redactor(["s3cret"])
    out = io.StringIO()
    JsonReporter().write(run, redactor, out)
    whole = json.dumps(
        report_document(run, redactor), indent=2, ensure_ascii=False, allow_nan=False
    )
    assert out.getvalue() == whole + "\n"
    assert "s3cret" not in out.getvalue()


def test_a_call_json_cannot_carry_refuses_the_report_and_writes_nothing(tmp_path: Path) -> None:
    bad = CallResult(
        key="k",
        spec_file="a",
        line=1,
        name="n",
        tags=(),
        profile_chain=(),
        body={"x": math.nan},
        outcome="fired",
    )
    run = RunResult("r1", "live", "https://api.plivo.com", "s", "f", {}, (*_calls(2), bad))
    path = tmp_path / "report.json"
    with pytest.raises(ReportError, match=r"\$\.calls\[2\]\.body\.x is nan"):
        write_report("json", run, Redactor(), path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
