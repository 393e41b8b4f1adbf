"""The README a newcomer reads: short, its first two blocks the set-up commands CI runs,
and "From zero to an escalating page" run as written, in an empty folder.

The walk-through's marked blocks run in bash (tests/docs/pasteable.py): ``callspec init``,
a roster with ``each:`` and ``escalate:``, ``--dry-run``, then ``run --sandbox --simulate
--answer-by`` with Python's web server as the answer URL's host; each output block the
README shows must have been printed. Then what the run left is checked: the report says
who answered, and the copied workflow's action step passes in the new project.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml
from pasteable import ROOT, Session
from support import run_action_step

README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_is_under_300_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 300


def test_the_first_two_blocks_are_the_set_up_commands_and_ci_runs_the_second() -> None:
    first, second = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[:2]
    setup = "python3 -m venv .venv && . .venv/bin/activate && "
    assert first == setup + "pip install . && callspec run specs/ --sandbox\n"
    assert second == setup + "pip install '.[test]' && python -m pytest\n"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == second.removeprefix(setup).strip()


def test_the_walkthrough_pages_a_roster_one_at_a_time_on_the_simulating_sandbox() -> None:
    section = _section("From zero to an escalating page")
    for shown in ("callspec init", "each: oncall.csv", "escalate: {", "--sandbox --simulate"):
        assert shown in section, shown
    assert "--answer-by +14155550101=no-answer" in section


def test_the_install_line_installs_the_callspec_command() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["callspec"] == "callspec.cli:main"
    assert f"pip install '{project['name']} @ git+" in _section("From zero to an escalating page")


def test_from_zero_to_an_escalating_page(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    session = Session(README, home)
    session.play()
    project = home / "team-calls"
    assert session.cwd == project
    assert ".callspec/" in (project / ".gitignore").read_text().splitlines()
    reports = [
        json.loads(p.read_text()) for p in (project / ".callspec" / "runs").glob("*/report.json")
    ]
    [sandbox] = [r for r in reports if r["mode"] == "sandbox"]
    calls = {c["name"]: c for c in sandbox["calls"]}
    assert [a["answered"] for a in calls["page-alice"]["answers"]] == [False]
    assert [a["answered_by"] for a in calls["page-bob"]["answers"]] == ["human"]
    assert calls["page-carol"]["outcome"] == "skipped"
    assert calls["page-carol"]["reason"] == (
        "escalation stopped: answered by 'page-bob' (human), row 2"
    )
    assert sandbox["exit_code"] == 0
    # The copied workflows: the one for pull requests runs the action's step, which
    # passes in the new project.
    workflows = project / ".github" / "workflows"
    for name in ("validate-specs.yml", "page-on-failure.yml"):
        example = ROOT / "examples" / "github-actions" / name
        assert (workflows / name).read_bytes() == example.read_bytes()
    paging = yaml.safe_load((workflows / "page-on-failure.yml").read_text())
    ran = [s.get("with", {}).get("paths") for j in paging["jobs"].values() for s in j["steps"]]
    assert "specs/ci-page.yaml" in ran and (project / "specs" / "ci-page.yaml").is_file()
    steps = yaml.safe_load((workflows / "validate-specs.yml").read_text())["jobs"]["validate"][
        "steps"
    ]
    [step] = [s for s in steps if "callspec@" in s.get("uses", "")]
    code, outputs, _, _ = run_action_step(tmp_path, project, **step["with"])
    assert (code, outputs["exit-code"], outputs["invalid"]) == (0, "0", "0")


def test_the_python_the_readme_names_is_the_one_pip_requires() -> None:
    [named] = re.findall(r"needs Python (3\.\d+) or later", README.read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={named}"
    assert (
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
        == named
    )
