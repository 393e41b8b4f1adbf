"""The pre-commit hook: its entry, run as pre-commit runs it, on changed files; and
``validate --changed`` on what a commit may change (a profiles file, a template of
another tool, a deleted file, a spec saved as UTF-16)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import ROOT, invoke

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


def test_a_changed_profiles_file_in_a_folder_without_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    rate: 2\n"
    )
    result = invoke(["validate", "--changed", "config/profiles.yaml"])
    assert result.exit_code == 0, result.output


def test_a_changed_profiles_file_named_by_the_environment_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "config" / "team.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    rate: -1\n"
    )
    (tmp_path / "specs" / "a.yaml").write_text(
        'version: 1\ndefaults: {from: "+14152224444"}\ncalls:\n'
        '  - {name: a, to: "+14155550100", answer_url: "https://h.example.com/a"}\n'
    )
    env = {"CALLSPEC_PROFILES": "config/team.yaml"}
    assert invoke(["validate", "specs/a.yaml"], env=env).exit_code == ExitCode.INVALID
    result = invoke(["validate", "--changed", "config/team.yaml"], env=env)
    assert result.exit_code == ExitCode.INVALID, result.output


def test_a_changed_unparsable_yaml_that_is_no_spec_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    template = tmp_path / "chart" / "templates" / "deployment.yaml"
    template.write_text("{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n")
    result = invoke(["validate", "--changed", "chart/templates/deployment.yaml"])
    assert result.exit_code == 0, result.output


def test_a_changed_file_since_deleted_is_not_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["validate", "--changed", "deleted.yaml"])
    assert result.exit_code == 0, result.output


def test_a_changed_utf16_spec_is_not_silently_skipped(tmp_path: Path) -> None:
    spec = tmp_path / "calls.yaml"  # as a Windows editor saves it: UTF-16 with its BOM
    spec.write_bytes("version: 1\ncalls:\n  - {name: x, to: nope}\n".encode("utf-16"))
    direct = invoke(["validate", spec])
    assert direct.exit_code == ExitCode.INVALID, direct.output
    hook = invoke(["validate", "--changed", spec])
    assert hook.exit_code == ExitCode.INVALID, hook.output
