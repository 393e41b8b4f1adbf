"""Review 13: the HTML report (run --html, callspec report --html).

Each test reproduced a finding of that review (fixed since) and stays as a regression.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support import invoke

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import REPORTERS
from callspec.results import Attempt, CallResult, RunResult

T0 = "2024-05-01T12:00:00Z"


def _report(tmp_path: Path, duration: object) -> Path:
    call = CallResult(
        key="k",
        spec_file="s.yaml",
        line=1,
        name="n",
        tags=("t",),
        profile_chain=(),
        body={"a": 1},
        outcome="fired",
        attempts=(Attempt(T0, 40.0, status=201),),
        status=201,
        request_uuid="u",
    )
    run = RunResult("run-1", "sandbox", "http://127.0.0.1:1", T0, T0, {}, (call,))
    out = io.StringIO()
    REPORTERS["json"].write(run, Redactor(), out)
    doc = json.loads(out.getvalue())
    doc["calls"][0]["attempts"][0]["duration_ms"] = duration
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))  # json.dumps writes NaN / Infinity, json.loads reads them
    return path


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_number_is_a_clear_error(tmp_path: Path, value: float) -> None:
    report = _report(tmp_path, value)
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "internal error" not in result.stderr
    assert "r.json" in result.stderr


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text("[" * 200_000 + "]" * 200_000)
    result = invoke(["report", report, "--html", tmp_path / "p.html"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "internal error" not in result.stderr
    assert "r.json" in result.stderr
