"""Long values in messages: quoted cut short with their length, secrets masked before the cut.

A value of megabytes used to be quoted in full: on stderr, in the report and twice
in the JUnit file.  Messages now quote at most a few dozen characters of it.
"""

from __future__ import annotations

import json
from pathlib import Path

from support import RunCli

from callspec.errors import ExitCode
from callspec.spec.validate import MAX_SHOWN, quote, show

CALL = """version: 1
calls:
  - name: c
    from: "+14152224444"
    to: "+14152223333"
"""
BIG = 3_000_000


def test_show_cuts_long_values_and_keeps_short_ones() -> None:
    assert show("abc") == "'abc'"
    assert show("a" * (MAX_SHOWN - 2)) == repr("a" * (MAX_SHOWN - 2))
    assert show("a" * BIG) == f"'{'a' * 59}…' (3,000,000 characters)"
    assert show("a" * BIG, length=False) == f"'{'a' * 59}…'"
    assert show(list(range(BIG))).endswith("…] (3,000,000 items)"[-17:])
    assert show(True) == "true" and show(None) == "null" and show(5) == "5"
    assert quote("answer_ulr") == "'answer_ulr'"
    assert quote("k" * BIG) == f"'{'k' * 60}…' (3,000,000 characters)"


def test_a_secret_is_masked_before_the_value_is_cut() -> None:
    secret = "SECRETPIN-0123456789"
    value = "a" * 50 + secret + "b" * 300  # the cut at 60 characters falls inside the secret

    def mask(text: str) -> str:
        return text.replace(secret, "***")

    shown = show(value, mask)
    assert "SECR" not in shown and "***" in shown
    assert shown.endswith(f"({len(value):,} characters)")


def test_a_megabyte_value_is_quoted_short_on_stderr(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "spec.yaml").write_text(
        CALL + f"    answer_url: ftp://{'a' * BIG}\n    caller_name: {'c' * BIG}\n"
    )
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert len(result.stderr) < 1000, len(result.stderr)
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"spec.yaml:6:17: calls[0].answer_url: 'ftp://{'a' * 53}…' (3,000,006 characters) "
        "must be an http(s) URL: it must start with http:// or https://"
    )
    assert lines[1] == (
        f"spec.yaml:7:18: calls[0].caller_name: '{'c' * 59}…' is 3,000,000 characters, more than 50"
    )


def test_a_megabyte_value_is_quoted_short_in_report_and_junit(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "spec.yaml").write_text(CALL + f"    answer_url: ftp://{'a' * BIG}\n")
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run_cli(
        "run", "spec.yaml", "--dry-run", "--report", report, "--junit", junit, cwd=tmp_path
    )
    assert result.exit_code == 3
    assert report.stat().st_size < 5000 and junit.stat().st_size < 5000
    [problem] = json.loads(report.read_text())["problems"]
    assert "(3,000,006 characters) must be an http(s) URL" in problem["message"]


def test_a_megabyte_key_is_named_short(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "spec.yaml").write_text(
        # An explicit key ('? '): YAML caps implicit keys at 1024 characters.
        CALL + "    answer_url: https://hooks.example.com/a.xml\n" + f"    ? {'k' * BIG}\n    : 1\n"
    )
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert len(result.stderr) < 1000, len(result.stderr)
    assert f"unknown key '{'k' * 60}…' (3,000,000 characters)" in result.stderr


def test_a_secret_in_a_long_value_is_masked_before_the_cut(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n"
        "    vars: {pin: 'SECRETPIN-0123456789'}\n"
    )
    padding = "a" * 50
    (tmp_path / "spec.yaml").write_text(
        CALL + "    answer_url: https://hooks.example.com/a.xml\n"
        f'    caller_name: "{padding}{{{{ pin }}}}{"b" * 300}"\n'
    )
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.exit_code == 3
    assert "SECR" not in result.output
    assert f"calls[0].caller_name: '{padding}***" in result.stderr
    assert "is 370 characters, more than 50" in result.stderr


def test_a_secret_at_the_cut_of_a_long_value_is_masked_whole(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """The PIN starts 58 characters in: the cut at 50 would fall inside it, in every output."""
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [pin]\n    vars: {pin: S3CR3TPIN}\n"
    )
    long = "{{ 'w' * 58 }}{{ pin }}{{ 'z' * 300 }}"
    (tmp_path / "a.yaml").write_text(
        CALL + "    answer_url: https://hooks.example.com/a.xml\n"
        f"    send_digits: {json.dumps(long)}\n"
    )
    summary = tmp_path / "summary.md"
    result = run_cli(
        *("run", "--dry-run", "a.yaml", "--report", "r.json", "--junit", "j.xml"),
        cwd=tmp_path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == ExitCode.INVALID
    for text in (
        result.output,
        result.stderr,
        *((tmp_path / n).read_text() for n in ("r.json", "j.xml", "summary.md")),
    ):
        for piece in ("S3CR", "3TPIN", "CR3T"):
            assert piece not in text
