"""The editor, for real: ``yaml-language-server`` (what VS Code's YAML extension and
other editors run) driven over stdio on a project set up as docs/editors.md says, with
the schema ``callspec schema spec`` prints.

Hover on a Plivo argument shows that argument's documentation (it showed "An argument
value as written." for every one), a misspelt key gets a diagnostic whose quick fixes
offer the right name, and a valid spec, templates and all, gets none. The server is
pinned in tests/docs/package.json; ``.ci/run`` installs it (``npm ci --prefix
tests/docs``). Without it the tests are skipped, saying how to install it, except under
``CI=true``, where its absence fails them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp import LanguageServer
from support import ROOT, invoke

HERE = Path(__file__).resolve().parent
INSTALLED = HERE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
SETTINGS: dict[str, Any] = {
    # No schema store: nothing is fetched from the network, the modeline names the schema.
    "yaml": {"validate": True, "hover": True, "completion": True, "schemaStore": {"enable": False}},
}
CALL = json.loads((ROOT / "schemas" / "call.schema.json").read_text())["properties"]
MODELINE = "# yaml-language-server: $schema=../spec.schema.json\n"
SPEC = """version: 1
vars:
  service: payments
defaults:
  ring_timeout: "{{ 30 }}"
calls:
  - name: page
    to: ["+14155550101", "+14155550102"]
    answer_url: "https://hooks.example.com/answer.xml?service={{ service }}"
    time_limit: 300
"""


def server_command() -> list[str]:
    """How to start the server: CALLSPEC_YAML_LANGUAGE_SERVER, else the pinned install."""
    named = os.environ.get("CALLSPEC_YAML_LANGUAGE_SERVER")
    if named:
        return [named, "--stdio"]
    node = shutil.which("node")
    if node is None or not INSTALLED.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("yaml-language-server is required under CI (see .ci/run)")
        pytest.skip("yaml-language-server is not installed (npm ci --prefix tests/docs)")
    return [node, str(INSTALLED), "--stdio"]


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_server_fails_only_under_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type
) -> None:
    monkeypatch.delenv("CALLSPEC_YAML_LANGUAGE_SERVER", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="yaml-language-server"):
        server_command()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as docs/editors.md sets it up: the schema saved beside specs/."""
    root = tmp_path_factory.mktemp("editor")
    (root / "specs").mkdir()
    printed = invoke(["schema", "spec"])
    assert printed.exit_code == 0
    (root / "spec.schema.json").write_text(printed.stdout)
    return root


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[LanguageServer]:
    running = LanguageServer(server_command(), SETTINGS, project)
    try:
        running.initialize(project)
        yield running
    finally:
        running.close()


def _open(server: LanguageServer, path: Path, text: str) -> list[dict[str, Any]]:
    path.write_text(MODELINE + text)
    server.open(path)
    return server.diagnostics(path)


def _line(path: Path, key: str) -> int:
    """The 0-based line where ``key:`` is written."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines) if line.lstrip(" -").startswith(f"{key}:"))


def _column(path: Path, line: int) -> int:
    text = path.read_text().splitlines()[line]
    return len(text) - len(text.lstrip(" -")) + 1


def test_a_valid_spec_with_templates_gets_no_diagnostic(
    server: LanguageServer, project: Path
) -> None:
    assert _open(server, project / "specs" / "valid.yaml", SPEC) == []


@pytest.mark.parametrize("key", ["answer_url", "time_limit", "ring_timeout", "to"])
def test_hover_on_an_argument_shows_its_documentation(
    server: LanguageServer, project: Path, key: str
) -> None:
    path = project / "specs" / f"hover-{key}.yaml"
    _open(server, path, SPEC)
    line = _line(path, key)
    shown = server.hover(path, line, _column(path, line))
    assert CALL[key]["description"] in shown, shown


def test_a_misspelt_key_gets_a_diagnostic_that_offers_the_name(
    server: LanguageServer, project: Path
) -> None:
    path = project / "specs" / "typo.yaml"
    diagnostics = _open(server, path, SPEC.replace("answer_url:", "answr_url:"))
    line = _line(path, "answr_url")
    [typo] = [d for d in diagnostics if d["range"]["start"]["line"] == line]
    assert typo["message"] == "Property answr_url is not allowed."
    fixes = server.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": path.as_uri()},
            "range": typo["range"],
            "context": {"diagnostics": [typo]},
        },
    )
    offered = {fix["title"] for fix in fixes}
    assert "answer_url" in offered
    assert "answr_url" not in offered
