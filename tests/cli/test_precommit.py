"""The pre-commit hook: its entry, run as pre-commit runs it, on changed files."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from support import ROOT

from callspec.errors import ExitCode


def hook_entry() -> list[str]:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "callspec-validate"
    command, *args = shlex.split(hook["entry"])
    assert command == "callspec"
    return [sys.executable, "-m", "callspec", *args]


def run_hook(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hook_entry(), *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def project(tmp_path: Path) -> Path:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    defaults: {from: '+14152224444'}\n"
    )
    (tmp_path / "good.yaml").write_text(
        "version: 1\ncalls:\n  - {name: a, to: '+14155550100', answer_url: 'https://a.example/x'}\n"
    )
    (tmp_path / "bad.yaml").write_text(
        "version: 1\ncalls:\n  - {name: b, to: '+14155550101', answer_ulr: 'https://a.example/x'}\n"
    )
    (tmp_path / "ci.yml").write_text("on: push\njobs: {}\n")
    return tmp_path


def test_a_valid_spec_passes_and_a_workflow_is_skipped(tmp_path: Path) -> None:
    done = run_hook(project(tmp_path), "good.yaml", "ci.yml")
    assert done.returncode == ExitCode.OK, done.stderr
    assert "OK: 1 call in 1 file valid" in done.stdout


def test_an_invalid_spec_fails_with_its_location(tmp_path: Path) -> None:
    done = run_hook(project(tmp_path), "bad.yaml", "ci.yml")
    assert done.returncode == ExitCode.INVALID
    assert "bad.yaml:3:35: calls[0].answer_ulr: unknown key 'answer_ulr'" in done.stderr


def test_a_changed_profiles_file_checks_the_specs_that_use_it(tmp_path: Path) -> None:
    done = run_hook(project(tmp_path), "profiles.yaml")
    assert done.returncode == ExitCode.INVALID  # bad.yaml uses it
    assert "bad.yaml" in done.stderr


def test_only_non_specs_changed_is_fine(tmp_path: Path) -> None:
    done = run_hook(project(tmp_path), "ci.yml")
    assert done.returncode == ExitCode.OK
    assert "no spec among the changed files" in done.stdout
