"""``callspec init``: a starter that validates and runs, and never overwrites."""

from __future__ import annotations

from pathlib import Path

from support import invoke

from callspec.errors import ExitCode


def test_init_writes_a_starter_that_validates_and_runs(tmp_path: Path) -> None:
    folder = tmp_path / "team"
    result = invoke(["init", str(folder)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert f"callspec run {folder}/specs/ --sandbox" in result.stdout
    assert (folder / ".gitignore").read_text() == ".callspec/\n"
    assert invoke(["validate", str(folder / "specs")]).exit_code == ExitCode.OK
    ran = invoke(
        ["run", str(folder / "specs"), "--sandbox", "--report", str(tmp_path / "r.json")],
        {"PAGER_PIN": "4321"},
    )
    assert ran.exit_code == ExitCode.OK, ran.stderr
    assert "4321" not in ran.stdout + ran.stderr + (tmp_path / "r.json").read_text()


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text("mine\n")
    (tmp_path / ".gitignore").write_text("build/")
    result = invoke(["init", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert "profiles.yaml already exists; nothing was written" in result.stderr
    assert (tmp_path / "profiles.yaml").read_text() == "mine\n"
    assert not (tmp_path / "specs").exists()
    assert (tmp_path / ".gitignore").read_text() == "build/"


def test_init_appends_to_an_existing_gitignore_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/")
    assert invoke(["init", str(tmp_path)]).exit_code == ExitCode.OK
    assert (tmp_path / ".gitignore").read_text() == "build/\n.callspec/\n"


def test_init_refuses_a_dangling_gitignore_symlink(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".gitignore").symlink_to(tmp_path / "missing")
    result = invoke(["init", project])
    assert result.exit_code == 2
    assert "is a symlink to" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()
    assert not (project / "profiles.yaml").exists()  # all or nothing


def test_init_beside_a_gitignore_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"caf\xe9/\n")
    result = invoke(["init", tmp_path])
    assert "internal error" not in result.output
    assert result.exit_code == ExitCode.OK, result.output
    assert (tmp_path / ".gitignore").read_bytes() == b"caf\xe9/\n.callspec/\n"


def test_init_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").mkdir()
    result = invoke(["init", tmp_path])
    assert result.exit_code == ExitCode.USAGE
    assert not (tmp_path / "profiles.yaml").exists()
    assert not (tmp_path / "specs" / "example.yaml").exists()


def test_init_refuses_beside_an_existing_profiles_yml(tmp_path: Path) -> None:
    (tmp_path / "profiles.yml").write_text("version: 1\nprofiles:\n  default: {rate: 1}\n")
    result = invoke(["init", tmp_path])
    assert result.exit_code == ExitCode.USAGE
    assert not (tmp_path / "profiles.yaml").exists()
