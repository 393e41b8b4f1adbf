"""docs/editors.md as an editor reads it: the schemas the page saves, the line it puts
first in a spec, what the editor then accepts and flags, and validate's located typo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pasteable import ROOT, Session
from support import invoke

PAGE = ROOT / "docs" / "editors.md"


def _lsp_line() -> str:
    [line] = re.findall(r"```yaml\n(# yaml-language-server: .*)\n```", PAGE.read_text())
    return line


def editor_validator(folder: Path) -> jsonschema.protocols.Validator:
    """The spec schema as an editor loads it from ``folder``: that one file, with no
    other schema beside it and nothing fetched from the network."""
    from referencing import Registry

    saved = sorted(p.name for p in folder.glob("*.schema.json"))
    assert saved == ["spec.schema.json"]
    spec = json.loads((folder / "spec.schema.json").read_text())
    return jsonschema.Draft202012Validator(spec, registry=Registry())


def test_the_saved_schemas_flag_a_typo_that_validate_locates(
    tmp_path: Path, monkeypatch: Any
) -> None:
    session = Session(PAGE, tmp_path)
    session.play()
    project = session.cwd
    saved = json.loads((project / "spec.schema.json").read_text())
    assert saved == json.loads((ROOT / "schemas" / "spec.schema.json").read_text())
    line = _lsp_line()
    spec = project / "specs" / "example.yaml"
    spec.write_text(line + "\n" + spec.read_text())
    # The path the editor resolves, from the spec's folder, is the schema saved above.
    named = (spec.parent / line.split("$schema=")[1]).resolve()
    assert named == (project / "spec.schema.json").resolve()
    editor = editor_validator(named.parent)
    assert not list(editor.iter_errors(yaml.safe_load(spec.read_text())))
    # An edit with a typo: the editor flags it (the schema) and validate locates it, as
    # the page shows.
    edited = spec.read_text().replace(
        "    time_limit: 300\n", "    time_limit: 300\n    ring_timout: 30\n"
    )
    spec.write_text(edited)
    assert list(editor.iter_errors(yaml.safe_load(edited)))
    monkeypatch.chdir(project)
    typo = invoke(["validate", "specs/"])
    assert typo.exit_code == 3
    [shown] = re.findall(r"^specs/example\.yaml:\d+:\d+: .*$", PAGE.read_text(), re.M)
    assert typo.stderr.startswith(shown + "\n")
    spec.write_text(edited.replace("ring_timout", "ring_timeout"))
    assert not list(editor.iter_errors(yaml.safe_load(spec.read_text())))
