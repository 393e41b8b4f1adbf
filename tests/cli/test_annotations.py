"""``validate --format json|github``: problems for machines, with GitHub's escaping."""

from __future__ import annotations

import json
from pathlib import Path

from support import EXAMPLES, ROOT, invoke

from callspec.errors import ExitCode, Location, Problem
from callspec.report.problems import github_commands


def test_github_annotations_name_file_line_and_column() -> None:
    spec = EXAMPLES / "invalid" / "answer-url-ftp.yaml"
    result = invoke(["validate", str(spec), "--format", "github"], {"GITHUB_WORKSPACE": str(ROOT)})
    assert result.exit_code == ExitCode.INVALID
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        "::error file=tests/examples/invalid/answer-url-ftp.yaml,line=8,col=17,"
        "title=callspec%3A calls[0].answer_url::'ftp://hooks.example.com/answer.xml' must be"
    )


def test_json_problems_and_warnings(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text(
        "version: 1\ndefaults: {from: '+14152224444', answer_url: 'https://a.example/x'}\n"
        "calls:\n  - {name: one, to: '+14155550100'}\n  - {name: two, to: '14155550100'}\n"
    )
    result = invoke(["validate", str(spec), "--format", "json"])
    assert result.exit_code == ExitCode.OK
    (warning,) = json.loads(result.stdout)
    assert warning["severity"] == "warning" and warning["line"] == 5
    assert "one run would ring it twice" in warning["message"]
    assert result.stderr == ""  # nothing but the JSON, on stdout


def test_github_escaping() -> None:
    problem = Problem(Location("a,b:c.yaml", 3, 2), "calls[0].to", "50% bad\r\nnext")
    (line,) = github_commands([("error", problem)], {})
    assert line == (
        "::error file=a%2Cb%3Ac.yaml,line=3,col=2,title=callspec%3A calls[0].to"
        "::50%25 bad%0D%0Anext"
    )


def test_secrets_are_masked_in_machine_formats(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("version: 1\ncalls:\n  - {name: one, to: '{{ env.PLIVO_AUTH_TOKEN }}'}\n")
    for fmt in ("json", "github"):
        result = invoke(
            ["validate", str(spec), "--format", fmt], {"PLIVO_AUTH_TOKEN": "tok-99887766"}
        )
        assert result.exit_code == ExitCode.INVALID
        assert "tok-99887766" not in result.stdout + result.stderr
