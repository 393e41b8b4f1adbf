"""The GitHub Action's shell step, run as the runner runs it, and the CI recipes checked
against the schemas check-jsonschema ships (offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, run_action_step

from callspec.errors import ExitCode


def run_step(tmp_path: Path, cwd: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    code, outputs, stdout, summary = run_action_step(tmp_path, cwd, **inputs)
    return code, outputs, stdout + summary


def test_the_action_runs_the_examples_on_the_sandbox(tmp_path: Path) -> None:
    code, outputs, text = run_step(tmp_path, ROOT, command="run", paths="specs/", args="--sandbox")
    assert code == ExitCode.OK
    assert outputs["exit-code"] == "0"
    assert (outputs["fired"], outputs["failed"], outputs["unknown"]) == ("10", "0", "0")
    assert Path(outputs["report"]).is_file()
    assert "10 calls: 10 fired" in text  # the step summary callspec wrote


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
