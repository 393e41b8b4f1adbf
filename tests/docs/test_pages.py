"""Every page of docs/ with commands to paste: its marked blocks run as written, in an
empty folder, and print what the page shows (the harness: tests/docs/pasteable.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from pasteable import ROOT, Session, blocks, pages
from support import invoke

DOCS = [p for p in pages() if p != ROOT / "README.md"]  # the README: test_readme_walkthrough


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_the_pages_commands_run_as_written(page: Path, tmp_path: Path) -> None:
    Session(page, tmp_path).play()


def test_every_page_with_a_walk_through_is_run() -> None:
    # The pages whose demos a newcomer pastes: each has blocks the tests run.
    expected = {
        *("checking.md", "ci.md", "editors.md", "escalation.md"),
        *("postman.md", "rosters.md", "sandbox.md"),
    }
    assert expected <= {p.name for p in DOCS}


def test_an_output_block_that_was_not_printed_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '<!-- test: run -->\n```sh\ncallspec validate nothing.yaml || echo "exit $?"\n```\n\n'
        "<!-- test: output -->\n```\nexit 2\n```\n\n"
        "<!-- test: output -->\n```\nexit 0\n```\n"
    )
    session = Session(page, tmp_path)
    run, printed, not_printed = blocks(page)
    assert session.run(run).code == 0
    assert session.expect(printed) == []
    assert session.expect(not_printed) == ["exit 0"]


def test_a_failing_command_fails_its_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- test: run -->\n```sh\ncallspec validate nothing.yaml\necho after\n```\n")
    ran = Session(page, tmp_path).run(blocks(page)[0])
    assert ran.code == 2
    assert "after" not in ran.stdout


def test_the_placeholders_read_as_this_checkout(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- test: run -->\n```sh\necho path/to/callspec http://127.0.0.1:8765/x\n```\n"
    )
    session = Session(page, tmp_path)
    ran = session.run(blocks(page)[0])
    port = session.ports["8765"]
    assert port != "8765"
    assert ran.stdout == f"{ROOT} http://127.0.0.1:{port}/x\n"


def test_the_precommit_snippet_names_a_hook_that_passes_on_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [snippet] = re.findall(r"```yaml\n(repos:.*?)```", (ROOT / "docs" / "ci.md").read_text(), re.S)
    [hook_ref] = yaml.safe_load(snippet)["repos"][0]["hooks"]
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks[hook_ref["id"]]
    entry = shlex.split(hook["entry"])
    assert entry[0] == "callspec"
    monkeypatch.chdir(tmp_path)
    assert invoke(["init", "."]).exit_code == 0
    (tmp_path / ".pre-commit-config.yaml").write_text(snippet)
    # pre-commit passes the changed files that match: the spec and the config itself.
    changed = [
        f for f in ("specs/example.yaml", ".pre-commit-config.yaml") if re.search(hook["files"], f)
    ]
    result = invoke([*entry[1:], *changed])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "OK: 1 call in 1 file valid\n"
