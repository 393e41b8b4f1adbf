"""README's "From zero to a page", run as written: its commands, in order, in an empty folder.

The commands are read from the README itself, so the walk-through cannot drift
from what works.  callspec commands run in-process (support.invoke); the few
shell steps (cd, mkdir, cp, export, the install) are done as the shell would,
and each step's result is checked: the starter validates, the schema gives the
editor what it needs, the pre-commit hook's entry passes, the imported seed
validates, the calls reach a sandbox (the "real" run too, with the sandbox in
Plivo's place), and the copied workflow (the example tests/cli/test_ci_recipes.py
checks against GitHub's schema) runs the action's step in the new project.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomllib
import yaml
from support import AUTH_ID, ROOT, TOKEN, invoke, run_action_step, sandbox

LSP_LINE = "# yaml-language-server: $schema=../spec.schema.json"


def _section() -> list[tuple[str, str]]:
    """The walk-through's code blocks: (language, text), in order."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## From zero to a page")
    end = readme.index("\n## ", start + 1)
    return re.findall(r"```(\w+)\n(.*?)```", readme[start:end], re.S)


def test_the_walkthrough_lists_every_step() -> None:
    commands = [
        line.split("  #")[0].strip()
        for lang, text in _section()
        if lang == "sh"
        for line in text.splitlines()
    ]
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate",
        "pip install 'callspec @ git+https://github.com/<you>/callspec'",
        "callspec --version",
        "callspec init team-calls && cd team-calls",
        "callspec validate specs/",
        "callspec schema spec > spec.schema.json && callspec schema call > call.schema.json",
        "callspec validate specs/",
        "callspec explain specs/example.yaml",
        "cp path/to/callspec/tests/examples/postman/seed-collection.json .",
        "callspec import postman seed-collection.json -o specs/seed.yaml",
        "callspec validate specs/",
        "callspec run specs/ --sandbox",
        "export PLIVO_AUTH_ID=MA... PLIVO_AUTH_TOKEN=... PAGER_PIN=...",
        "callspec run specs/ --tag oncall",
        "mkdir -p .github/workflows",
        "cp path/to/callspec/examples/github-actions/validate-specs.yml .github/workflows/",
    ]


class Walk:
    """The user's shell: a working folder, exported variables, the sandbox playing Plivo."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch, api_url: str) -> None:
        self.cwd = home
        self.monkeypatch = monkeypatch
        self.env: dict[str, str] = {}
        self.api_url = api_url
        self.outputs: dict[str, Any] = {}
        monkeypatch.chdir(home)

    def sh(self, line: str) -> None:
        for part in line.split("  #")[0].split("&&"):
            self.command(shlex.split(part))

    def command(self, argv: list[str]) -> None:
        name, args = argv[0], argv[1:]
        if name == "python3" or name == ".":
            return  # the virtual environment: this test runs in one
        if name == "pip":
            # What `pip install` provides: the `callspec` console script.
            project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
            assert project["scripts"]["callspec"] == "callspec.cli:main"
            assert args[-1].startswith("callspec @ ")
        elif name == "cd":
            self.cwd = self.cwd / args[0]
            self.monkeypatch.chdir(self.cwd)
        elif name == "mkdir":
            (self.cwd / args[-1]).mkdir(parents=True, exist_ok=True)
        elif name == "cp":
            source = args[0].replace("path/to/callspec", str(ROOT))
            shutil.copy(source, self.cwd / args[1])
        elif name == "export":
            # The user's credentials; the sandbox stands in for Plivo and knows these.
            self.env.update({"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN})
            if any(arg.startswith("PAGER_PIN=") for arg in args):
                self.env["PAGER_PIN"] = "2468"  # the starter's secret from the environment
        else:
            assert name == "callspec"
            self.callspec(args)

    def callspec(self, args: list[str]) -> None:
        target = None
        if ">" in args:
            args, target = args[: args.index(">")], args[args.index(">") + 1]
        if args[:1] == ["run"] and "--sandbox" not in args:
            args = [*args, "--api-url", self.api_url]  # "for real": Plivo's place
        result = invoke(args, self.env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert TOKEN not in result.output
        if target is not None:
            (self.cwd / target).write_text(result.stdout)
        self.outputs.setdefault(" ".join(args[:2]), []).append(result)


def _editor_validator(folder: Path) -> jsonschema.protocols.Validator:
    """The spec schema as an editor loads it from ``folder``: every reference to another
    schema found beside it (nothing fetched from the network)."""
    from referencing import Registry, Resource

    saved = {p.name: json.loads(p.read_text()) for p in folder.glob("*.schema.json")}
    spec = saved["spec.schema.json"]
    base = spec["$id"].rsplit("/", 1)[0]
    registry: Registry[Any] = Registry().with_resources(
        (f"{base}/{name}", Resource.from_contents(body)) for name, body in saved.items()
    )
    external = set(re.findall(r'"\$ref": "([^"#]+)#', json.dumps(spec)))
    assert external and external <= set(saved), external  # each one saved in step 3
    return jsonschema.Draft202012Validator(spec, registry=registry)


def _edit_with_completion(walk: Walk) -> None:
    """The yaml-language-server line on each spec, then edits as a user makes them."""
    for name in ("spec", "call"):
        saved = json.loads((walk.cwd / f"{name}.schema.json").read_text())
        assert saved == json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    spec = walk.cwd / "specs" / "example.yaml"
    spec.write_text(LSP_LINE + "\n" + spec.read_text())
    # The path the editor resolves, from the spec's folder, is the schema saved above.
    named = (spec.parent / LSP_LINE.split("$schema=")[1]).resolve()
    assert named == (walk.cwd / "spec.schema.json").resolve()
    editor = _editor_validator(named.parent)
    assert not list(editor.iter_errors(yaml.safe_load(spec.read_text())))
    # What completion offers and hover shows: each argument, with its documentation.
    arguments = json.loads((walk.cwd / "call.schema.json").read_text())["properties"]
    assert arguments["ring_timeout"]["description"]
    # An edit with a typo: the editor flags it (the schema) and validate locates it.
    edited = spec.read_text().replace(
        "    time_limit: 300\n", "    time_limit: 300\n    ring_timout: 30\n"
    )
    spec.write_text(edited)
    assert list(editor.iter_errors(yaml.safe_load(edited)))
    typo = invoke(["validate", "specs/"])
    assert typo.exit_code == 3
    assert typo.stderr.startswith(
        "specs/example.yaml:16:5: calls[0].ring_timout: unknown key 'ring_timout'; "
        "did you mean 'ring_timeout'?\n"
    )
    spec.write_text(edited.replace("ring_timout", "ring_timeout"))
    assert not list(editor.iter_errors(yaml.safe_load(spec.read_text())))


def _precommit(walk: Walk, snippet: str) -> None:
    """The config names this repository's hook; the hook's entry passes on the project."""
    (walk.cwd / ".pre-commit-config.yaml").write_text(snippet)
    config = yaml.safe_load(snippet)
    [hook_ref] = config["repos"][0]["hooks"]
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks[hook_ref["id"]]
    assert re.search(hook["files"], "specs/example.yaml")
    entry = shlex.split(hook["entry"])
    assert entry[0] == "callspec"
    # pre-commit passes the changed files that match: the spec and the config itself.
    changed = [
        f for f in ("specs/example.yaml", ".pre-commit-config.yaml") if re.search(hook["files"], f)
    ]
    result = invoke([*entry[1:], *changed])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "OK: 1 call in 1 file valid\n"


def test_from_zero_to_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with sandbox() as box:
        walk = Walk(home, monkeypatch, box.url)
        for lang, text in _section():
            if lang == "yaml" and text.startswith("# yaml-language-server"):
                assert text.strip() == LSP_LINE
                _edit_with_completion(walk)
                continue
            if lang == "yaml":
                _precommit(walk, text)
                continue
            for line in text.splitlines():
                walk.sh(line)  # each one as written: the seed collection too is copied by a step
        live = [r for r in box.calls if r.get("placed")]
    project = home / "team-calls"
    assert project.is_dir() and ".callspec/" in (project / ".gitignore").read_text().splitlines()
    runs = walk.outputs["run specs/"]
    assert "3 calls: 3 fired" in runs[0].stdout  # the example and the seed's two, on the sandbox
    assert "1 call: 1 fired" in runs[1].stdout  # --tag oncall, through the "real" API
    assert [r["body"]["to"] for r in live] == ["+14155550100"]
    assert live[0]["body"]["ring_timeout"] == 30  # the edit made it to the wire
    assert len(list((project / ".callspec" / "runs").glob("*/report.json"))) == 2
    explained = walk.outputs["explain specs/example.yaml"][0].stdout
    assert "send_digits" in explained and "***" in explained
    assert "variable 'pager_pin' from environment variable PAGER_PIN (a profile secret)" in (
        explained
    )
    assert live[0]["body"]["send_digits"] == "2468"  # the secret, given only to send
    # The copied workflow: the example test_ci_recipes checks against GitHub's schema, and
    # its action step passes in the new project.
    workflow = project / ".github" / "workflows" / "validate-specs.yml"
    example = ROOT / "examples" / "github-actions" / "validate-specs.yml"
    assert workflow.read_bytes() == example.read_bytes()
    steps = yaml.safe_load(workflow.read_text())["jobs"]["validate"]["steps"]
    [step] = [s for s in steps if "callspec@" in s.get("uses", "")]
    code, outputs, _, _ = run_action_step(tmp_path, project, **step["with"])
    assert (code, outputs["exit-code"], outputs["invalid"]) == (0, "0", "0")
