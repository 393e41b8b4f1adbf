"""The action installs callspec in a virtual environment of its own, and runs that callspec.

A runner's system pip may refuse to install (PEP 668: Ubuntu 24.04's does), and
callspec's dependencies must not clash with the job's own packages.  The runner
here has a ``python3`` outside any virtual environment whose pip refuses to
install outside one (``PIP_REQUIRE_VIRTUALENV``); the install is made offline
(pip's own settings: no index, no dependencies, no build isolation, the
dependencies read from this test environment through PYTHONPATH).  Downloading
the dependencies from PyPI is what only a real runner does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from github_runner import offline_install_env, run_action
from support import write_spec

from callspec.errors import ExitCode


def test_the_step_installs_callspec_in_its_own_venv_and_runs_it(tmp_path: Path) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    write_spec(project, 2, answer_url="https://hooks.example.com/a")
    env = offline_install_env(tmp_path)
    done = run_action(
        tmp_path,
        project,
        {"command": "run", "paths": "calls.yaml", "args": "--sandbox"},
        env=env,
        install=True,
    )
    assert done.code == ExitCode.OK, done.stderr
    assert (done.outputs["exit-code"], done.outputs["fired"]) == ("0", "2")
    venv = tmp_path / "runner" / "temp" / "callspec-venv"
    assert done.steps["install"] == {"python": str(venv / "bin" / "python")}
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    # The callspec the step ran is the venv's own copy, not this checkout.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import callspec; print(callspec.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where


def test_the_job_s_python_refuses_to_install_outside_a_venv(tmp_path: Path) -> None:
    # What the test's runner stands for: without the venv, the install step would fail.
    done = subprocess.run(
        ["python3", "-m", "pip", "install", "--no-deps", "--no-index", "callspec"],
        env=offline_install_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stderr) == (
        3,
        "ERROR: Could not find an activated virtualenv (required).\n",
    )
