"""docs/reports.md's commands, as written: a run on the sandbox, then every format rebuilt
from its JSON report; the rebuilt JUnit file and page are the run's, byte for byte."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from support import ROOT, cred_env, invoke

from callspec.errors import ExitCode


def _commands() -> list[list[str]]:
    doc = (ROOT / "docs" / "reports.md").read_text()
    (block,) = re.findall(r"```sh\n(.*?)```", doc, re.S)[:1]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_commands_of_the_reports_page_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    commands = _commands()
    assert [c[:2] for c in commands] == [["callspec", "run"]] + [["callspec", "report"]] * 5
    outputs = {}
    for command in commands:
        result = invoke(command[1:], cred_env())
        assert result.exit_code == ExitCode.OK, (command, result.output)
        outputs[" ".join(command[2:5])] = result.stdout
    out = tmp_path / "out"
    assert (out / "junit-again.xml").read_bytes() == (out / "junit.xml").read_bytes()
    assert (out / "again.html").read_bytes() == (out / "report.html").read_bytes()
    text = outputs["out/report.json --format text"]
    assert text.splitlines()[0].split()[:2] == ["call", "outcome"]
    assert "2 calls: 2 fired" in text
    github = outputs["out/report.json --format github"].splitlines()
    assert github == [github[0]] and github[0].startswith("::notice title=callspec::2 calls")
    assert (out / "summary.md").read_text().startswith("### callspec run `")
