"""What the inputs say reaches callspec as written: one argument each, nothing expanded.

Each value goes through ``--var note_N=VALUE`` into the answer_url of a call of
its own (``?note={{ note_N | urlencode }}``), all in one run on the embedded
sandbox (``--sandbox``): the report's request bodies show each value as callspec
read it, the project's ``real_api`` shows that ``--sandbox`` was not lost, and a
marker file shows that no shell ran a ``$(...)``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml
from github_runner import ActionRun, run_action
from jinja2.filters import do_urlencode
from support import cred_env

API = tuple[str, list[str]]  # the real_api fixture: (url, log of requests)

# Values a workflow may carry (a commit message, a job name, a run's title)...
HOSTILE = {
    "quote": "deploy didn't finish",
    "command substitution": "$(touch MARKER) `touch MARKER`",
    "separators": "a; touch MARKER && echo | cat > MARKER",
    "quotes and backslash": "'\"\\ \\n \\",
    "binary-ish": "\x01\x1b[31mred\x7f \x85 \u2028 \u202e\ufeff é 🙂 %s %0A",
    "carriage return": "one\rtwo",
    "empty": "",
    "an option": "--dry-run",
    "workflow command": "::error::forged",
}
# ...and a line break, which only args can carry (in argv it ends the argument).
WITH_NEWLINE = {"newline": "line one\nline two\n::warning::forged"}


def values_project(project: Path, tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    """``calls.yaml`` with a call per value, each reading its own variable; the values with
    their marker placed in ``tmp_path``, by call name."""
    by_call = {
        f"v{i}": v.replace("MARKER", str(tmp_path / "marker"))
        for i, v in enumerate(values.values())
    }
    calls = [
        {
            "name": name,
            "to": f"+1415555{i:04d}",
            "answer_url": f"https://hooks.example.com/a?note={{{{ note_{name} | urlencode }}}}",
        }
        for i, name in enumerate(by_call)
    ]
    spec = {"version": 1, "defaults": {"from": "+14152224444"}, "calls": calls}
    (project / "calls.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return by_call


def sent_notes(done: ActionRun) -> dict[str, str]:
    report = json.loads(Path(done.outputs["report"]).read_text())
    return {c["name"]: str(c["body"]["answer_url"]).split("?note=", 1)[1] for c in report["calls"]}


def check(done: ActionRun, values: dict[str, str], real_api: API, tmp_path: Path) -> None:
    assert (done.code, done.outputs["exit-code"]) == (0, "0"), done.stderr
    assert done.outputs["fired"] == str(len(values))
    assert sent_notes(done) == {name: do_urlencode(v) for name, v in values.items()}
    assert real_api[1] == []  # --sandbox was not lost
    assert not (tmp_path / "marker").exists()


def test_one_argument_per_line_in_argv(tmp_path: Path, project: Path, real_api: API) -> None:
    values = values_project(project, tmp_path, HOSTILE)
    argv = "".join(f"--var\nnote_{name}={value}\n" for name, value in values.items())
    done = run_action(
        tmp_path,
        project,
        {"command": "run", "paths": "calls.yaml", "argv": f"--sandbox\n{argv}"},
        cred_env(),
    )
    check(done, values, real_api, tmp_path)


def test_args_quoted_as_a_shell_would(tmp_path: Path, project: Path, real_api: API) -> None:
    values = values_project(project, tmp_path, {**HOSTILE, **WITH_NEWLINE})
    args = " ".join(
        f"--var {shlex.quote(f'note_{name}={value}')}" for name, value in values.items()
    )
    done = run_action(
        tmp_path,
        project,
        {"command": "run", "paths": "calls.yaml", "args": f"--sandbox {args}"},
        cred_env(),
    )
    check(done, values, real_api, tmp_path)


def test_paths_one_per_line_may_hold_spaces_and_look_like_options(
    tmp_path: Path, project: Path, real_api: API
) -> None:
    (project / "team specs").mkdir()
    (project / "calls.yaml").rename(project / "team specs" / "page one.yaml")
    spec = (project / "team specs" / "page one.yaml").read_text()
    (project / "--dry-run.yaml").write_text(spec.replace("page-a", "page-x"))
    done = run_action(
        tmp_path,
        project,
        {
            "command": "run",
            "paths": "team specs/page one.yaml\n--dry-run.yaml\n",
            "argv": "--sandbox",
        },
        cred_env(),
    )
    assert (done.code, done.outputs["fired"]) == (0, "6")  # both files, not a dry run
    assert real_api[1] == []
