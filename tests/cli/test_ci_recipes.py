"""The GitHub Action's shell step, run as the runner runs it, and the CI recipes checked
against the schemas check-jsonschema ships (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import ROOT

from callspec.errors import ExitCode

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def run_step(tmp_path: Path, cwd: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    """The action's callspec step, with ${{ inputs.X }} filled in as the runner would."""
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "callspec"]
    defaults = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values = {**defaults, **inputs}
    env = {
        key: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: values[m[1]], value)
        for key, value in step["env"].items()
    }
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    bindir = Path(sys.executable).parent  # python3 of this environment, callspec installed
    done = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=cwd,
        env={
            **env,
            "PATH": f"{bindir}:/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "RUNNER_TEMP": str(tmp_path / "runner"),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(cwd),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    text = summary.read_text() if summary.exists() else ""
    return done.returncode, outputs, done.stdout + text


def test_the_action_runs_the_examples_on_the_sandbox(tmp_path: Path) -> None:
    code, outputs, text = run_step(tmp_path, ROOT, command="run", paths="specs/", args="--sandbox")
    assert code == ExitCode.OK
    assert outputs["exit-code"] == "0"
    assert (outputs["fired"], outputs["failed"], outputs["unknown"]) == ("5", "0", "0")
    assert Path(outputs["report"]).is_file()
    assert "5 calls: 5 fired" in text  # the step summary callspec wrote


def test_the_action_annotates_invalid_specs(tmp_path: Path) -> None:
    code, outputs, text = run_step(
        tmp_path, ROOT, command="validate", paths="tests/examples/invalid/answer-url-ftp.yaml"
    )
    assert code == ExitCode.INVALID
    assert (outputs["exit-code"], outputs["invalid"]) == ("3", "1")
    assert "::error file=tests/examples/invalid/answer-url-ftp.yaml,line=8,col=17," in text


def test_the_action_validates_clean_specs(tmp_path: Path) -> None:
    code, outputs, _ = run_step(tmp_path, ROOT, command="validate", paths="specs/")
    assert code == ExitCode.OK
    assert (outputs["exit-code"], outputs["invalid"]) == ("0", "0")


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        ("vendor.github-workflows", sorted(os.listdir(ROOT / "examples" / "github-actions"))),
        ("vendor.gitlab-ci", [".gitlab-ci.yml"]),
    ],
)
def test_recipes_match_their_platforms_schema(schema: str, files: list[str]) -> None:
    folder = {
        "vendor.github-actions": ROOT,
        "vendor.github-workflows": ROOT / "examples" / "github-actions",
        "vendor.gitlab-ci": ROOT / "examples" / "gitlab",
    }[schema]
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
