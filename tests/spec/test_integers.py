"""An integer argument is a plain decimal integer as written: what YAML would read as
another number (octal, hexadecimal, sexagesimal, underscores, a float) is refused with
what it was written as and what YAML reads it as, never sent silently as that number.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import RunCli

from callspec.errors import ExitCode

PROFILES = "version: 1\nprofiles:\n  default: {}\n"


def _spec(folder: Path, time_limit: str, vars_line: str = "") -> str:
    """a.yaml: one call whose time_limit is ``time_limit`` as written (line 7, column 17)."""
    (folder / "profiles.yaml").write_text(PROFILES)
    (folder / "a.yaml").write_text(
        f"version: 1\n{vars_line}calls:\n"
        "  - name: c\n"
        '    from: "+14152224444"\n'
        '    to: "+14155550100"\n'
        "    answer_url: https://hooks.example.com/answer.xml\n"
        f"    time_limit: {time_limit}\n"
    )
    return "a.yaml"


def test_a_miswritten_integer_through_a_variable_is_not_sent_silently(
    tmp_path: Path, run_cli: RunCli
) -> None:
    spec = _spec(tmp_path, '"{{ t }}"', vars_line="vars: {t: 010}\n")
    result = run_cli("render", "--format", "json", spec, cwd=tmp_path)
    assert result.exit_code == ExitCode.INVALID, result.stdout
    assert "not a plain decimal integer" in result.stderr


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("+010", "+010 is not a plain decimal integer (YAML reads it as 8)"),
        ("0x_1", "0x_1 is not a plain decimal integer (YAML reads it as 1)"),
        ("3_0_0", "3_0_0 is not a plain decimal integer (YAML reads it as 300)"),
        ("-1:30", "(YAML reads it as -90)"),
        ("0.", "(YAML reads it as 0.0)"),
        ("00", "00 is not a plain decimal integer"),
        ("\uff11\uff12", "expected an integer, got a string '\uff11\uff12'"),
        ("1,000", "expected an integer, got a string '1,000'"),
        ("yes", "expected an integer, got a boolean true"),
        (".nan", "expected an integer, got a number nan"),
        ("9" * 5000, "a number of 5,000 characters is too long"),
    ],
)
def test_odd_integers_are_located_problems(
    tmp_path: Path, run_cli: RunCli, written: str, words: str
) -> None:
    result = run_cli("validate", _spec(tmp_path, written), cwd=tmp_path)
    assert result.exit_code == ExitCode.INVALID
    assert "a.yaml:7:17: calls[0].time_limit: " in result.stderr
    assert words in result.stderr


def test_an_explicit_float_tag_is_named_as_written(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", _spec(tmp_path, "!!float 300"), cwd=tmp_path)
    assert result.exit_code == ExitCode.INVALID
    assert "300 is not a plain decimal integer" not in result.stderr
