"""A destination rung twice: within one call an error; shared by two calls of one run, a
warning, or an error with --unique-destinations (the same person rung by two calls).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT, RunCli, call_lines, calls_file, cred_env, invoke, run_callspec, sandbox

from callspec.errors import ExitCode
from callspec.spec.destinations import destination_key

SPEC = """version: 1
defaults:
  from: "+14152224444"
  answer_url: https://hooks.example.com/answer.xml
calls:
"""
WARN = " (--unique-destinations makes this an error)"


def write(folder: Path) -> None:
    """a.yaml pages one number and a list; b.yaml rings a number of that list again."""
    (folder / "a.yaml").write_text(
        SPEC + '  - name: single\n    to: "+14155550100"\n'
        "  - name: team\n    to: [sip:desk@phone.plivo.com, '+14155550101']\n"
    )
    (folder / "b.yaml").write_text(
        SPEC + "  - name: other\n    to: '+14155550102'\n"
        "  - name: again\n    to: [14155550101, sip:desk@PHONE.plivo.com]\n"
    )


REPEATS = [
    "b.yaml:9:9: calls[1].to: '14155550101' is rung by call 'team' (a.yaml:8) and by call "
    "'again' (b.yaml:8): one run would ring it twice",
    "b.yaml:9:9: calls[1].to: 'sip:desk@PHONE.plivo.com' is rung by call 'team' (a.yaml:8) "
    "and by call 'again' (b.yaml:8): one run would ring it twice",
]


def as_warning(problem: str) -> str:
    where, path, message = problem.split(": ", 2)
    return f"{where}: warning: {path}: {message}{WARN}"


def test_the_same_destination_however_written() -> None:
    assert destination_key("+14155550101") == destination_key("14155550101 ")
    assert destination_key("sip:desk@PHONE.plivo.com") == destination_key(
        "sips:desk@phone.plivo.com"
    )
    assert destination_key("sip:Desk@phone.plivo.com") != destination_key(
        "sip:desk@phone.plivo.com"
    )
    assert destination_key("+14155550101") != destination_key("+14155550102")


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_shared_destination_is_a_warning(command: str, tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path)
    result = run_cli(command, ".", cwd=tmp_path)
    assert result.exit_code == 0, result.output  # a warning changes no exit code
    assert result.stderr.splitlines() == [as_warning(p) for p in REPEATS]


@pytest.mark.parametrize("command", ["validate", "render"])
def test_unique_destinations_makes_it_an_error(
    command: str, tmp_path: Path, run_cli: RunCli
) -> None:
    write(tmp_path)
    result = run_cli(command, ".", "--unique-destinations", cwd=tmp_path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [*REPEATS, "callspec: 2 problems; nothing was sent"]


def test_run_warns_and_sends(tmp_path: Path) -> None:
    write(tmp_path)
    with sandbox() as box:
        args = ["run", str(tmp_path), "--api-url", box.url, "--rate", "200", "--no-progress"]
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
        assert result.exit_code == 0, result.output
        assert len(box.calls) == 4
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 2
    assert all("and by call 'again' (" in w and "is rung by call 'team' (" in w for w in warnings)


def test_run_with_unique_destinations_sends_nothing(tmp_path: Path) -> None:
    write(tmp_path)
    with sandbox() as box:
        args = ["run", str(tmp_path), "--api-url", box.url, "--unique-destinations"]
        result = invoke([*args, "--report", str(tmp_path / "r.json")], cred_env())
        assert result.exit_code == 3, result.output
        assert box.calls == []
    assert "one run would ring it twice" in result.stderr
    assert ": warning: " not in result.stderr


def test_only_the_selected_calls_count(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path)
    result = run_cli("validate", ".", "--only", "team", "--only", "other", cwd=tmp_path)
    assert result.exit_code == 0 and result.stderr == ""


def test_a_secret_destination_is_masked_in_the_warning(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "profiles.yaml").write_text(
        "version: 1\nprofiles:\n  default:\n    secrets: [boss]\n    vars: {boss: '+14155550177'}\n"
    )
    (tmp_path / "a.yaml").write_text(
        SPEC + '  - name: one\n    to: "{{ boss }}"\n  - name: two\n    to: "{{ boss }}"\n'
    )
    result = run_cli("validate", "a.yaml", cwd=tmp_path)
    assert result.exit_code == 0
    assert "5550177" not in result.output
    assert "a.yaml:9:9: warning: calls[1].to: '***' is rung by call 'one'" in result.stderr


def test_the_example_specs_ring_each_phone_once(run_cli: RunCli) -> None:
    result = run_cli("validate", "specs/", "--unique-destinations", cwd=ROOT)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_a_long_to_with_one_repeat_is_validated_quickly(tmp_path: Path) -> None:
    numbers = [f'"+1415{i:07d}"' for i in range(100_000)] + ['"+14150000001"']
    calls_file(tmp_path, [call_lines("bulk", "[" + ", ".join(numbers) + "]")])
    done = run_callspec(["validate", "a.yaml"], tmp_path, timeout=30)
    assert done.returncode == ExitCode.INVALID, done.stderr[-500:]
    assert "appears more than once" in done.stderr
    assert "Plivo allows at most 1000" in done.stderr


@pytest.mark.parametrize(
    "to",
    [
        '["+14155550100", "14155550100"]',
        '["sip:desk@phone.plivo.com", "sip:desk@PHONE.plivo.com"]',
    ],
)
def test_one_bulk_call_ringing_one_number_twice_is_an_error(
    tmp_path: Path, run_cli: RunCli, to: str
) -> None:
    calls_file(tmp_path, [call_lines("bulk", to)])
    result = run_cli("validate", "a.yaml", "--unique-destinations", cwd=tmp_path)
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "more than once" in result.stderr


SECRET_PROFILES = """version: 1
profiles:
  default:
    secrets: [phone, pin]
    vars: {phone: "+14155559999", pin: "S3CR3TPIN"}
"""


def test_a_repeat_of_a_secret_destination_does_not_disclose_it(
    tmp_path: Path, run_cli: RunCli
) -> None:
    calls = [call_lines("one", '"{{ phone }}"'), call_lines("two", '"14155559999"')]
    calls_file(tmp_path, calls, profiles=SECRET_PROFILES)
    result = run_cli("validate", "a.yaml", cwd=tmp_path)
    assert "is rung by call 'one'" in result.stderr
    assert "5559999" not in result.stderr


def test_two_spellings_of_one_phone_in_a_chain_are_one_destination(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "oncall.csv").write_text(
        "name,phone\nalice,+14155550101\nAlice,14155550101\nbob,+14155550102\n"
    )
    (tmp_path / "page.yaml").write_text(
        "version: 1\ncalls:\n"
        '  - name: "page-{{ row.name }}"\n    each: oncall.csv\n    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n    answer_url: https://example.com/answer.xml\n'
        "    escalate: {answer_within: 5}\n"
    )
    result = run_cli("validate", "page.yaml", cwd=tmp_path)
    assert result.stderr.splitlines() == [
        "oncall.csv:3:1: warning: calls[0].to (call 'page-Alice', row 2 in page.yaml): "
        "'14155550101' is rung by call 'page-alice' (page.yaml:3) and by call 'page-Alice' "
        "(page.yaml:3): one run would ring it twice" + WARN
    ]
