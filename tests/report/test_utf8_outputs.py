"""Every output of a run carries text UTF-8 cannot encode (lone surrogates) without failing.

A non-UTF-8 file name or environment value reaches Python as lone surrogates, and
a server's JSON may hold a ``\\ud800`` escape; each must be spelled out in every
report and on the terminal, never fail a writer after the calls were placed.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from support import answering, cred_env, invoke, read_report, run_args, sandbox, write_spec

from callspec.errors import ExitCode
from callspec.redact import Redactor
from callspec.report import REPORTERS, ReportKind, report_document, write_report
from callspec.report.html import render_html
from callspec.report.utf8 import utf8_safe, utf8_safe_value, utf8_stream
from callspec.results import Attempt, CallResult, RunResult, Stopped

T0 = "2024-05-01T12:00:00Z"
ODD = "caf\udce9 \ud800"  # a non-UTF-8 byte (surrogateescape) and a JSON escape
SPELLED = "caf\\udce9 \\ud800"


def _run() -> RunResult:
    call = CallResult(
        key="k",
        spec_file=f"{ODD}.yaml",
        line=1,
        name=ODD,
        tags=(ODD,),
        profile_chain=(ODD,),
        body={ODD: ODD, "list": [ODD]},
        outcome="failed",
        attempts=(Attempt(T0, 40.0, status=400, error=ODD),),
        status=400,
        message=ODD,
        error=ODD,
    )
    stopped = Stopped("bail", ODD, T0)
    return RunResult("run-1", "sandbox", f"http://{ODD}", T0, T0, {"o": ODD}, (call,), stopped)


def test_utf8_safe_spells_lone_surrogates_as_backslashreplace() -> None:
    assert utf8_safe("plain é 😀") == "plain é 😀"
    assert utf8_safe(ODD) == SPELLED
    assert utf8_safe_value({ODD: [ODD, 1, None]}) == {SPELLED: [SPELLED, 1, None]}
    clean = {"a": ["é", 1.5, None], "b": {"c": "😀"}}
    assert utf8_safe_value(clean) is clean  # nothing to spell: not copied
    out = io.StringIO()
    utf8_stream(out).write(ODD)
    assert out.getvalue() == SPELLED


@pytest.mark.parametrize(
    ("kind", "spelled"),
    [
        ("json", "caf\\\\udce9"),  # the backslash escaped as JSON escapes it
        ("junit", "caf\\udce9"),
        ("text", "caf\\udce9"),
        ("markdown", "caf\\\\udce9"),  # the backslash escaped as Markdown escapes it
        ("html", "caf\\udce9"),
    ],
)
def test_every_file_report_is_written(kind: ReportKind, spelled: str, tmp_path: Path) -> None:
    target = tmp_path / f"out.{kind}"
    write_report(kind, _run(), Redactor(), target)
    text = target.read_text(encoding="utf-8")  # strict: valid UTF-8
    assert spelled in text  # spelled out, not dropped
    if kind in ("json", "markdown"):
        assert "caf\\udce9" not in text  # never with its backslash unescaped


def test_json_report_holds_no_surrogate_and_equals_the_document(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_report("json", _run(), Redactor(), target)
    doc = read_report(target)  # valid against the schema
    assert doc == report_document(_run(), Redactor())
    assert doc["calls"][0]["name"] == SPELLED
    assert doc["calls"][0]["body"] == {SPELLED: SPELLED, "list": [SPELLED]}
    # callspec report reads it back (a report run wrote is never refused) to the same page
    rebuilt = invoke(["report", target, "--html", tmp_path / "q.html"])
    assert rebuilt.exit_code == ExitCode.OK, rebuilt.output
    out = io.StringIO()
    REPORTERS["html"].write(_run(), Redactor(), out)
    assert (tmp_path / "q.html").read_text(encoding="utf-8") == out.getvalue()
    assert out.getvalue() == render_html(json.loads(target.read_text(encoding="utf-8")))


def test_github_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from callspec.report import append_github_summary

    summary = tmp_path / "summary.md"
    assert append_github_summary(_run(), Redactor(), {"GITHUB_STEP_SUMMARY": str(summary)})
    # Spelled as every output spells it (\udce9), its backslash escaped as Markdown escapes
    # one: the page shows caf\udce9.
    assert "caf\\\\udce9" in summary.read_text(encoding="utf-8")


def test_run_with_non_utf8_names_writes_every_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-UTF-8 spec file name, report path and env value: the terminal summary (not
    quiet), the report, JUnit and the page, all written, the call once."""
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9.yaml")
    write_spec(tmp_path, 1, name=name, caller_name="{{ env.WHO }}")
    report = os.fsdecode(b"r\xe9.json")
    extra = ["--report", report, "--junit", "j.xml", "--html", "p.html", "--rate", "200"]
    with sandbox() as box:
        args = ["run", name, "--api-url", box.url, *extra]
        result = invoke(args, env=cred_env(WHO="Ren\udce9"))
        assert len(box.calls) == 1
    assert result.exit_code == ExitCode.OK, result.output
    assert "internal error" not in result.stderr
    assert "caf\\udce9.yaml" in result.stdout and "r\\udce9.json" in result.stdout
    header, row = result.stdout.splitlines()[:2]
    assert row.index("fired") == header.index("outcome")  # the columns line up as printed
    doc = read_report(tmp_path / report)
    assert doc["calls"][0]["body"]["caller_name"] == "Ren\\udce9"
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert '"caller_name":"Ren\\\\udce9"' in page  # in the bodies' JSON
    assert (tmp_path / "j.xml").read_text(encoding="utf-8")


def test_a_server_message_with_a_lone_surrogate_still_writes_report_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    answer = b'{"api_id":"a","message":"call \\ud800 fired","request_uuid":"u1"}'
    with answering(lambda h, n: (201, {"Content-Type": "application/json"}, answer)) as (url, log):
        write_spec(tmp_path, 1)
        extra = ("--retries", "0", "-q", "--report", "r.json", "--html", "p.html")
        result = invoke(run_args(tmp_path, url, *extra), env=cred_env())
    assert len(log) == 1  # the call was placed
    assert "internal error" not in result.stderr, result.stderr
    assert result.exit_code == ExitCode.OK, result.output
    assert read_report(tmp_path / "r.json")["calls"][0]["message"] == "call \\ud800 fired"
    assert (tmp_path / "p.html").exists()
