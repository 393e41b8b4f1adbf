"""An input the step cannot use is a usage error (exit 2), and nothing is sent.

Before, ``args`` that ``shlex`` could not split were dropped without a word:
callspec ran with no extra arguments, so ``--dry-run``, ``--sandbox``, ``--tag``
and ``--only`` were lost, every call rang for real and the step exited 0.  Here
"for real" is the project's ``real_api``: its log must stay empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from github_runner import ActionRun, annotations, run_action
from support import cred_env

from callspec.errors import ExitCode

API = tuple[str, list[str]]  # the real_api fixture: (url, log of requests)

ZERO = ("fired", "queued", "failed", "unknown", "skipped", "invalid", "answered", "unanswered")


def run(tmp_path: Path, project: Path, **inputs: str) -> ActionRun:
    return run_action(
        tmp_path, project, {"command": "run", "paths": "calls.yaml", **inputs}, env=cred_env()
    )


def assert_refused(done: ActionRun) -> None:
    assert done.code == ExitCode.USAGE
    assert done.outputs["exit-code"] == "2"
    assert {name: done.outputs[name] for name in ZERO} == dict.fromkeys(ZERO, "0")
    assert (done.outputs["report"], done.outputs["escalations"]) == ("", "[]")


@pytest.mark.parametrize(
    "args",
    [
        "--dry-run --tag sev1 --var reason=deploy didn't finish",  # the report's own
        "--sandbox --var reason=deploy didn't finish",
        '--only page-a --var "note=never closed',
        "--tag sev1 --var note=ends-in-a-backslash\\",
    ],
)
def test_args_that_cannot_be_split_send_nothing(
    tmp_path: Path, project: Path, real_api: API, args: str
) -> None:
    done = run(tmp_path, project, args=args)
    assert_refused(done)
    assert real_api[1] == []  # no request reached the API
    [annotation] = annotations(done.stdout)
    assert annotation.startswith("::error title=callspec%3A inputs.args::cannot be split into")


def test_the_refusal_says_why_and_how_to_pass_it(
    tmp_path: Path, project: Path, real_api: API
) -> None:
    done = run(tmp_path, project, args="--sandbox --var reason=deploy didn't finish")
    assert annotations(done.stdout) == [
        "::error title=callspec%3A inputs.args::cannot be split into arguments (No closing "
        "quotation); quote it as a POSIX shell would (don't -> \"don't\"), or give one "
        "argument per line in the argv input; nothing was run"
    ]
    assert done.summary == (
        "**callspec**: inputs.args: cannot be split into arguments (No closing quotation); "
        "quote it as a POSIX shell would (don't -&gt; \"don't\"), or give one argument "
        "per line in the argv input; nothing was run\n\n"
    )


@pytest.mark.parametrize(
    ("inputs", "title"),
    [
        ({"args": "--sandbox -- calls.yaml"}, "inputs.args"),  # paths must come from paths
        ({"argv": "--sandbox\n--\ncalls.yaml"}, "inputs.args"),
        ({"command": ""}, "inputs.command"),
        ({"command": "Run"}, "inputs.command"),
        ({"command": "run --sandbox"}, "inputs.command"),
    ],
)
def test_inputs_the_step_cannot_use_send_nothing(
    tmp_path: Path, project: Path, real_api: API, inputs: dict[str, str], title: str
) -> None:
    done = run(tmp_path, project, **inputs)
    assert_refused(done)
    assert real_api[1] == []
    [annotation] = annotations(done.stdout)
    assert annotation.startswith(f"::error title=callspec%3A {title}::")


@pytest.mark.parametrize(
    "inputs",
    [
        # a newline in argv ends an argument: "finish" is then a path that does not exist
        {"argv": "--sandbox\n--var\nreason=deploy didn't\nfinish"},
        # one line of paths is split at spaces: a path with spaces goes one per line
        {"paths": "team specs/calls.yaml", "args": "--sandbox"},
        {"paths": "", "args": "--sandbox"},
        {"paths": "calls.yaml", "args": "--sandbox --no-such-option"},
    ],
)
def test_arguments_callspec_refuses_send_nothing(
    tmp_path: Path, project: Path, real_api: API, inputs: dict[str, str]
) -> None:
    done = run(tmp_path, project, **inputs)
    assert_refused(done)
    assert real_api[1] == []


def test_the_same_arguments_one_per_line_run_as_meant(
    tmp_path: Path, project: Path, real_api: API
) -> None:
    done = run(
        tmp_path, project, argv="--sandbox\n--tag\nsev1\n--var\nreason=deploy didn't finish\n"
    )
    assert (done.code, done.outputs["exit-code"], done.outputs["fired"]) == (0, "0", "1")
    assert real_api[1] == []  # the embedded sandbox got the call
