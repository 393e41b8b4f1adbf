"""The GitHub step summary: problems of invalid specs, failures first, a size cap, inert text."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
from support import cred_env, invoke, write_profiles

from callspec.errors import ExitCode, Location, Problem
from callspec.redact import Redactor
from callspec.report.github import SUMMARY_MAX_BYTES, MarkdownReporter, append_github_summary
from callspec.report.markdown import markdown_text
from callspec.results import Attempt, CallResult, RunResult

SECRET = "pin-5f3e9a"
T0 = "2024-05-01T12:00:00Z"
HOSTILE = "a|b <img src=x onerror=alert(1)> [x](javascript:alert(1)) `c` $x$ &amp;\nnext"


def cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split where GitHub splits them (unescaped |)."""
    assert line.startswith("| ") and line.endswith(" |"), line
    return re.split(r"(?<!\\)\|", line[2:-2])


def assert_inert(markdown: str) -> None:
    """No tag, no link: every <, [ and ] of a value arrives escaped."""
    assert "<img" not in markdown and "<script" not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)


def test_an_invalid_run_lists_its_problems(tmp_path: Path) -> None:
    write_profiles(tmp_path)
    (tmp_path / "calls.yaml").write_text(
        "version: 1\n"
        "calls:\n"
        "  - name: page\n"
        '    to: "+14155550100"\n'
        "    answer_ulr: https://example.com/a\n"
        "    '<img src=x onerror=alert(1)>|x': 1\n"
    )
    summary = tmp_path / "summary.md"
    args = ["run", str(tmp_path / "calls.yaml"), "--report", str(tmp_path / "r.json")]
    result = invoke(args, cred_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert result.exit_code == ExitCode.INVALID
    lines = summary.read_text().splitlines()
    header = lines.index("| where | path | problem |")
    assert lines[header + 1] == "|---|---|---|"
    rows = lines[header + 2 : lines.index("", header)]
    assert len(rows) == len(result.stderr.splitlines()) - 1  # one per problem, as on stderr
    assert all(len(cells(row)) == 3 for row in rows)
    where = f"{tmp_path}/calls.yaml:5:5"
    assert (
        f"| {where} | calls\\[0\\].answer_ulr | unknown key 'answer_ulr'; "
        "did you mean 'answer_url'? |" in rows
    )
    assert_inert(summary.read_text())
    assert any("&lt;img src=x onerror=alert(1)&gt;\\|x" in row for row in rows)


def _call(i: int, outcome: str, **kw: object) -> CallResult:
    return CallResult(
        key=f"k{i}",
        spec_file="specs/bulk.yaml",
        line=3,
        name=f"call-{i:05d}",
        tags=(),
        profile_chain=("default",),
        body={"to": "+14155550100"},
        outcome=outcome,  # type: ignore[arg-type]
        attempts=(Attempt(T0, 12.0, 201 if outcome == "fired" else 500),),
        **kw,  # type: ignore[arg-type]
    )


def _large_run(fired: int = 18_000) -> RunResult:
    calls = [_call(i, "fired", status=201, request_uuid=f"{i:08d}-uuid") for i in range(fired)]
    # the failures sit at the end of the plan: the summary must still show them first
    calls += [_call(fired + i, "skipped", reason="interrupted") for i in range(3)]
    calls += [_call(fired + 10 + i, "unknown", error=f"HTTP 500 for {SECRET}") for i in range(4)]
    calls += [_call(fired + 20 + i, "failed", error=f"HTTP 400: bad {SECRET}") for i in range(5)]
    return RunResult("r1", "sandbox", "http://127.0.0.1:1", T0, T0, {}, calls=tuple(calls))


def test_a_large_runs_summary_stays_under_the_cap_failures_first(tmp_path: Path) -> None:
    run = _large_run()
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    assert append_github_summary(run, Redactor([SECRET]), {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert len(text.encode()) - len("earlier step\n") <= SUMMARY_MAX_BYTES
    assert SECRET not in text and "***" in text
    lines = text.splitlines()
    header = lines.index("| call | outcome | status | request_uuid | time (ms) |")
    rows = [line for line in lines[header + 2 :] if line.startswith("| ")]
    outcomes = [cells(row)[1].strip() for row in rows]
    assert outcomes[:12] == ["failed"] * 5 + ["unknown"] * 4 + ["skipped"] * 3
    shown = outcomes.count("fired")
    assert 0 < shown < 18_000
    assert lines[-2:] == [f"\N{HORIZONTAL ELLIPSIS} and {18_000 - shown:,} more fired calls", ""]
    bullets = [line for line in lines if line.startswith("- ")]
    assert len(bullets) == 9 and bullets[0].startswith("- specs/bulk.yaml:call-18020: failed:")


@pytest.mark.parametrize("max_bytes", [3000, 8192, 20_000])
def test_the_cap_holds_whatever_the_values(max_bytes: int) -> None:
    huge = "x" * 200_000 + HOSTILE
    calls = [_call(i, "failed", error=huge, request_uuid=huge) for i in range(50)]
    problems = [Problem(Location(huge, 1, 1), huge, huge) for _ in range(50)]
    run = RunResult("r1", "live", "https://api.plivo.com", T0, T0, {}, tuple(calls))
    invalid = RunResult(
        "r2", "live", "https://api.plivo.com", T0, T0, {}, (), problems=tuple(problems)
    )
    for result in (run, invalid):
        out = io.StringIO()
        MarkdownReporter(max_bytes).write(result, Redactor(), out)
        assert len(out.getvalue().encode()) <= max_bytes
        assert out.getvalue().splitlines()[-1].startswith("\N{HORIZONTAL ELLIPSIS} and ")


def test_a_hostile_value_cannot_break_the_table_or_inject_html() -> None:
    calls = (
        _call(1, "failed", error=HOSTILE, request_uuid=HOSTILE),
        _call(2, "fired", request_uuid="u-2"),
    )
    calls = (dataclasses.replace(calls[0], name=HOSTILE), calls[1])
    run = RunResult("r1", "live", "https://api.plivo.com", T0, T0, {}, calls)
    out = io.StringIO()
    MarkdownReporter().write(run, Redactor(), out)
    text = out.getvalue()
    assert_inert(text)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 3 and all(len(cells(row)) == 5 for row in rows)
    bullet = next(line for line in text.splitlines() if line.startswith("- "))
    assert "onerror" in bullet and "<img" not in bullet and "&amp;amp;" in bullet


def test_markdown_text() -> None:
    assert markdown_text("a|b") == "a\\|b"
    assert markdown_text("<b>&") == "&lt;b&gt;&amp;"
    assert markdown_text("[x](y) `z` $m$ \\") == "\\[x\\](y) \\`z\\` \\$m\\$ \\\\"
    assert markdown_text("two\nlines") == "two lines"
    assert markdown_text("***") == "***"  # the secret mask stays readable
    assert markdown_text("abcdef", limit=4) == "abc\N{HORIZONTAL ELLIPSIS}"


def test_a_summary_of_ten_thousand_hostile_problems_stays_capped_and_inert(
    tmp_path: Path,
) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars: {pin: S3CR3TPIN}\n"
    )
    hostile = json.dumps(
        "{{ pin }}|<script>x</script>`code` [l](http://x)\r\n| a | b |\n# H " + "x" * 40
    )
    calls = "".join(
        f'  - name: "c{i}"\n    from: "+14152224444"\n    to: "+1415{i:07d}"\n'
        f"    answer_url: https://hooks.example.com/answer.xml\n    caller_name: {hostile}\n"
        for i in range(10_000)
    )
    (tmp_path / "a.yaml").write_text("version: 1\ncalls:\n" + calls)
    summary = tmp_path / "summary.md"
    result = invoke(
        ["run", "--dry-run", str(tmp_path / "a.yaml")], {"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == ExitCode.INVALID
    text = summary.read_text()
    assert len(text.encode()) <= 512 * 1024
    assert "S3CR3TPIN" not in text and "<script" not in text
    assert "more problems" in text
