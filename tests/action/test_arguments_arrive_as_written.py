"""What the inputs say reaches callspec as written: one argument each, nothing expanded.

Every value goes through ``--var note=VALUE`` into the call's answer_url
(``?note={{ note | urlencode }}``), on the embedded sandbox (``--sandbox``): the
report's request body shows the value as callspec read it, the project's
``real_api`` shows that ``--sandbox`` was not lost, and a marker file shows that
no shell ran a ``$(...)``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
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


def marked(value: str, tmp_path: Path) -> str:
    return value.replace("MARKER", str(tmp_path / "marker"))


def sent_note(done: ActionRun, name: str = "page-a") -> str:
    report = json.loads(Path(done.outputs["report"]).read_text())
    [call] = [c for c in report["calls"] if c["name"] == name]
    return str(call["body"]["answer_url"]).split("?note=", 1)[1]


def check(done: ActionRun, value: str, real_api: API, tmp_path: Path) -> None:
    assert (done.code, done.outputs["exit-code"], done.outputs["fired"]) == (0, "0", "1")
    assert sent_note(done) == do_urlencode(value)
    assert real_api[1] == []  # --sandbox was not lost
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_one_argument_per_line_in_argv(
    tmp_path: Path, project: Path, real_api: API, value: str
) -> None:
    value = marked(value, tmp_path)
    argv = f"--sandbox\n--only\npage-a\n--var\nnote={value}\n"
    done = run_action(
        tmp_path, project, {"command": "run", "paths": "calls.yaml", "argv": argv}, cred_env()
    )
    check(done, value, real_api, tmp_path)


@pytest.mark.parametrize(
    "value", [*HOSTILE.values(), *WITH_NEWLINE.values()], ids=[*HOSTILE, *WITH_NEWLINE]
)
def test_args_quoted_as_a_shell_would(
    tmp_path: Path, project: Path, real_api: API, value: str
) -> None:
    value = marked(value, tmp_path)
    args = f"--sandbox --only page-a --var {shlex.quote(f'note={value}')}"
    done = run_action(
        tmp_path, project, {"command": "run", "paths": "calls.yaml", "args": args}, cred_env()
    )
    check(done, value, real_api, tmp_path)


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
