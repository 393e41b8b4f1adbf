"""The action's inputs parsed, or refused: the rules of :mod:`callspec.action.inputs`."""

from __future__ import annotations

import pytest

from callspec.action.inputs import (
    InputError,
    StepInputs,
    read_inputs,
    split_args,
    split_argv,
    split_paths,
)
from callspec.errors import ExitCode


def env(**inputs: str) -> dict[str, str]:
    return {f"CALLSPEC_ACTION_{k.upper()}": v for k, v in {"command": "run", **inputs}.items()}


def test_args_split_as_a_shell_splits_words_expanding_nothing() -> None:
    assert split_args("--var 'note=two words' --var x=\"$(id)\" a\\ b ; #c") == (
        "--var",
        "note=two words",
        "--var",
        "x=$(id)",
        "a b",
        ";",
        "#c",
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("--var reason=deploy didn't finish", "No closing quotation"),
        ('--var "note=open', "No closing quotation"),
        ("--var note=x\\", "No escaped character"),
    ],
)
def test_args_that_cannot_be_split_are_a_usage_error(text: str, why: str) -> None:
    with pytest.raises(InputError) as raised:
        split_args(text)
    assert raised.value.exit_code == ExitCode.USAGE
    assert (raised.value.input, raised.value.reason) == (
        "args",
        f"cannot be split into arguments ({why}); quote it as a POSIX shell would "
        "(don't -> \"don't\"), or give one argument per line in the argv input",
    )


def test_argv_is_one_argument_per_line_as_written() -> None:
    text = '--var\nnote=it\'s "x" $(id)  \n\n--tag\r\n\u2028 \x85\n'
    assert split_argv(text) == ("--var", 'note=it\'s "x" $(id)  ', "--tag\r", "\u2028 \x85")


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("specs/", ("specs/",)),
        ("specs/a.yaml  specs/b.yaml", ("specs/a.yaml", "specs/b.yaml")),
        ("team specs/a.yaml\n  b.yaml \n\n", ("team specs/a.yaml", "b.yaml")),
        ("", ()),
    ],
)
def test_paths_one_per_line_or_words_of_one_line(text: str, paths: tuple[str, ...]) -> None:
    assert split_paths(text) == paths


def test_inputs_read_from_the_environment() -> None:
    found = read_inputs(
        env(paths="specs/", profile="oncall", args="--tag sev1", argv="--var\nnote=a b")
    )
    assert found == StepInputs("run", ("specs/",), "oncall", ("--tag", "sev1", "--var", "note=a b"))


def test_an_unknown_command_is_shown_escaped_and_masked() -> None:
    environ = {
        **env(command="run\n::add-mask::tok-secret-123"),
        "PLIVO_AUTH_TOKEN": "tok-secret-123",
    }
    with pytest.raises(InputError) as raised:
        read_inputs(environ)
    assert raised.value.reason == "must be validate, check or run, not 'run\\n::add-mask::***'"


@pytest.mark.parametrize("inputs", [{"args": "a -- b"}, {"argv": "--sandbox\n--"}])
def test_a_double_dash_is_refused(inputs: dict[str, str]) -> None:
    with pytest.raises(InputError) as raised:
        read_inputs(env(**inputs))
    assert raised.value.input == "args"
