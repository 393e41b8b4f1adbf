"""The composite action in ``action.yml``, run the way a GitHub runner runs it.

Each ``run:`` step is written to a file and run with ``bash --noprofile --norc -eo
pipefail FILE`` (the runner's ``shell: bash``), its ``env:`` mapping read from
action.yml with ``${{ inputs.X }}`` and ``${{ steps.ID.outputs.X }}`` filled in, a
``GITHUB_OUTPUT`` file of its own (read back, ``name<<DELIMITER`` values too),
the job's ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP`` and ``GITHUB_ACTION_PATH``.  A
step that fails ends the action, as on a runner; ``uses:`` steps (the artifact
upload) are not run.

What only a real runner does is left out: the install step's download of callspec's
dependencies from PyPI (a test of it installs the project offline, see
``installed_python``), ``actions/setup-python``, the artifact upload, Windows.
Without ``install=True`` the install step is not run and its ``python`` output is this
test environment's interpreter, with the project on PYTHONPATH: the step under test
is then the checkout's own code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(inputs|steps)\.([\w-]+)(?:\.outputs\.([\w-]+))?\s*\}\}")


@dataclass(frozen=True)
class ActionRun:
    """What one run of the action left: its exit code, outputs, log and step summary."""

    code: int
    outputs: dict[str, str]
    stdout: str
    stderr: str
    summary: str
    #: Each step's own outputs, by step id.
    steps: dict[str, dict[str, str]]


def action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return doc


def read_output_file(path: Path) -> dict[str, str]:
    """A ``$GITHUB_OUTPUT`` file as GitHub reads it: ``name=value`` lines and
    ``name<<DELIMITER`` ... ``DELIMITER`` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)  # a missing delimiter fails the test
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def _fill(text: str, inputs: Mapping[str, str], steps: Mapping[str, Mapping[str, str]]) -> str:
    def value(m: re.Match[str]) -> str:
        if m[1] == "inputs":
            return inputs[m[2]]
        return steps.get(m[2], {}).get(m[3] or "", "")  # an unset output reads as empty

    filled = EXPRESSION.sub(value, text)
    assert "${{" not in filled, f"an expression this runner does not know: {filled}"
    return filled


@dataclass
class Job:
    """The runner's side of one use of the action: the inputs, the environment every step
    gets, and the outputs of the steps run so far."""

    cwd: Path
    folder: Path
    inputs: dict[str, str]
    env: dict[str, str]
    steps: dict[str, dict[str, str]]

    @property
    def summary(self) -> Path:
        return self.folder / "summary.md"

    def command(self, n: int, step: Mapping[str, Any]) -> tuple[list[str], dict[str, str], Path]:
        """Step ``n``'s command line, environment and ``$GITHUB_OUTPUT`` file."""
        assert step["shell"] == "bash"
        output = self.folder / f"output-{n}"
        output.touch()
        script = self.folder / f"step-{n}.sh"
        script.write_text(_fill(step["run"], self.inputs, self.steps))
        env = {k: _fill(str(v), self.inputs, self.steps) for k, v in step.get("env", {}).items()}
        argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
        return argv, {**self.env, **env, "GITHUB_OUTPUT": str(output)}, output

    def outputs(self) -> dict[str, str]:
        """The action's outputs, from its steps' (``outputs.X.value`` filled in)."""
        return {
            name: _fill(spec["value"], self.inputs, self.steps)
            for name, spec in action()["outputs"].items()
        }


def job(
    tmp_path: Path,
    cwd: Path,
    inputs: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    install: bool = False,
) -> Job:
    """A job about to run the action with ``inputs`` (the rest at their defaults) in ``cwd``.
    Without ``install`` the install step counts as run, with this environment's Python."""
    doc = action()
    values = {name: spec.get("default", "") for name, spec in doc["inputs"].items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"no such input: {unknown}"
    values.update(inputs)
    folder = tmp_path / "runner"
    (folder / "temp").mkdir(parents=True, exist_ok=True)
    (folder / "summary.md").touch()
    base = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(folder),
        "RUNNER_TEMP": str(folder / "temp"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
        "GITHUB_WORKSPACE": str(cwd),
        "GITHUB_ACTIONS": "true",
    }
    steps: dict[str, dict[str, str]] = {}
    if not install:
        steps["install"] = {"python": sys.executable}
        base["PYTHONPATH"] = str(ROOT)
    return Job(cwd, folder, values, {**base, **(env or {})}, steps)


def run_action(
    tmp_path: Path,
    cwd: Path,
    inputs: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    install: bool = False,
) -> ActionRun:
    """The action's steps, one after the other until one fails, as a runner runs them."""
    run = job(tmp_path, cwd, inputs, env, install)
    stdout, stderr, code = [], [], 0
    for n, step in enumerate(action()["runs"]["steps"]):
        if "run" not in step or step.get("id") in run.steps:
            continue  # uses: (the artifact upload), or the install step not run
        argv, step_env, output = run.command(n, step)
        done = subprocess.run(argv, cwd=cwd, env=step_env, capture_output=True, timeout=300)
        stdout.append(done.stdout.decode("utf-8", "surrogateescape"))
        stderr.append(done.stderr.decode("utf-8", "surrogateescape"))
        if step.get("id"):
            run.steps[step["id"]] = read_output_file(output)
        code = done.returncode
        if code != 0:
            break
    outputs = run.outputs()
    summary = run.summary.read_text()
    return ActionRun(code, outputs, "".join(stdout), "".join(stderr), summary, run.steps)


ANY_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def fill_expressions(text: str, context: Mapping[str, str]) -> str:
    """A workflow's ``${{ EXPR }}`` replaced by ``context[EXPR]`` (each one must be there)."""
    return ANY_EXPRESSION.sub(lambda m: context[m[1]], text)


def run_workflow_step(
    tmp_path: Path, step: Mapping[str, Any], context: Mapping[str, str]
) -> dict[str, str]:
    """A workflow's ``run:`` step as a runner runs it (``bash -eo pipefail``, its ``env:``
    with the ``context`` filled in); the outputs it wrote to ``$GITHUB_OUTPUT``."""
    output = tmp_path / f"workflow-output-{step['id']}"
    output.touch()
    script = tmp_path / f"workflow-step-{step['id']}.sh"
    script.write_text(fill_expressions(step["run"], context))
    env = {k: fill_expressions(str(v), context) for k, v in step.get("env", {}).items()}
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={"PATH": "/usr/bin:/bin", **env, "GITHUB_OUTPUT": str(output)},
        check=True,
        timeout=60,
    )
    return read_output_file(output)


def annotations(stdout: str) -> list[str]:
    """The workflow commands a step printed (the lines a runner reads as ``::command``)."""
    return [line for line in stdout.splitlines() if line.startswith("::")]


def site_packages(tmp_path: Path) -> str:
    """The dependencies an offline install uses: this test environment's site-packages,
    less callspec itself (a folder of links to the rest).  Installed as CI installs it
    (``pip install .``), not editable, the test environment's own callspec would come
    first on PYTHONPATH and shadow the copy the step installs."""
    deps = tmp_path / "site-packages"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("callspec", "__editable__")):
            (deps / entry.name).symlink_to(entry)
    return str(deps)


def offline_install_env(tmp_path: Path) -> dict[str, str]:
    """A runner whose ``python3`` is a plain interpreter (no virtual environment) whose pip
    refuses to install anywhere but in a virtual environment, as PEP 668's marker makes a
    system pip refuse; and pip's own settings for an install that downloads nothing: no
    index, no dependencies (they come from this environment through PYTHONPATH), no build
    isolation (hatchling too), no pip configuration of this machine."""
    system = tmp_path / "system-bin"
    system.mkdir()
    (system / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    return {
        "PATH": f"{system}:/usr/bin:/bin",
        "PIP_REQUIRE_VIRTUALENV": "1",
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads "--no-build-isolation" inverted from env
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PYTHONPATH": site_packages(tmp_path),
    }
