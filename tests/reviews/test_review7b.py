"""Hostile review of i7 (template budgets, plain-decimal integers, repeated destinations,
output paths, strict JSON, hardened sandbox, step summary): branch review-7b.

Each test reproduced a finding of that review (all fixed since) or is an attack
that held up; all are kept as regressions.

Only the CLI is driven (``python -m callspec`` in a subprocess where a hang, a
signal or a memory limit is involved, else click's CliRunner on ``callspec.cli.cli``).
Every server binds 127.0.0.1 (the embedded sandbox, ``run --sandbox``); every wait is
bounded.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from callspec.cli import cli
from callspec.errors import ExitCode

CLEAN_ENV = {
    "CALLSPEC_PROFILES": None,
    "PLIVO_AUTH_ID": None,
    "PLIVO_AUTH_TOKEN": None,
    "PAGER_PIN": None,
    "GITHUB_STEP_SUMMARY": None,
}
PROFILES = "version: 1\nprofiles:\n  default: {}\n"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    return env


def cli_run(cwd: Path, *args: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})})
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def spec_file(folder: Path, name: str, calls: list[str], profiles: str = PROFILES) -> Path:
    (folder / "profiles.yaml").write_text(profiles)
    path = folder / name
    path.write_text("version: 1\ncalls:\n" + "".join(calls))
    return path


def call(name: str, to: str, **extra: str) -> str:
    lines = [
        f"  - name: {name}\n",
        '    from: "+14152224444"\n',
        f"    to: {to}\n",
        "    answer_url: https://hooks.example.com/answer.xml\n",
    ]
    lines += [f"    {k}: {v}\n" for k, v in extra.items()]
    return "".join(lines)


def python_callspec(
    cwd: Path, *args: str, timeout: float, memory: int | None = None
) -> tuple[int | None, str, float]:
    """``python -m callspec ARGS`` in ``cwd``: (exit code or None if it had to be killed,
    stderr, seconds)."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "callspec", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err, time.monotonic() - started
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return None, err, time.monotonic() - started


# --- 1. hangs ----------------------------------------------------------------------------------


def test_a_long_to_with_one_repeat_is_validated_quickly(tmp_path: Path) -> None:
    numbers = [f'"+1415{i:07d}"' for i in range(100_000)] + ['"+14150000001"']
    spec_file(tmp_path, "bulk.yaml", [call("bulk", "[" + ", ".join(numbers) + "]")])
    code, err, seconds = python_callspec(tmp_path, "validate", "bulk.yaml", timeout=30)
    assert code == ExitCode.INVALID, (code, seconds, err[-500:])
    assert "appears more than once" in err
    assert "Plivo allows at most 1000" in err


def test_a_fifo_report_without_reader_still_obeys_sigterm(tmp_path: Path) -> None:
    spec_file(tmp_path, "a.yaml", [call("one", '"+14155550100"')])
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    journal = tmp_path / "run.journal.jsonl"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "callspec", "run", "a.yaml", "--sandbox", "--no-progress"),
            *("--report", str(fifo), "--journal", str(journal)),
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until the call was placed
            if journal.exists() and '"fired"' in journal.read_text():
                break
            time.sleep(0.1)
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        assert code == ExitCode.INTERRUPTED
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


# --- 2. a phone rung twice -----------------------------------------------------------------


@pytest.mark.parametrize(
    "to",
    [
        '["+14155550100", "14155550100"]',
        '["sip:desk@phone.plivo.com", "sip:desk@PHONE.plivo.com"]',
    ],
)
def test_one_bulk_call_ringing_one_number_twice_is_an_error(tmp_path: Path, to: str) -> None:
    spec_file(tmp_path, "a.yaml", [call("bulk", to)])
    result = cli_run(tmp_path, "validate", "a.yaml", "--unique-destinations")
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "more than once" in result.stderr


# --- 3. template budgets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ [('a' * 10**6)] * 10**6 }}",
        "{{ ([('a' * 10**6)] * 10**6) | string | length }}",
        "{{ (([('a' * 10**6)] * 10**6) ~ '') | length }}",
        "{{ ([('a' * 10**6)] * 10**6) | tojson | length }}",
    ],
)
def test_printing_a_list_of_big_strings_is_over_budget(tmp_path: Path, template: str) -> None:
    spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"', caller_name=json.dumps(template))])
    code, err, seconds = python_callspec(tmp_path, "validate", "a.yaml", timeout=60, memory=3 << 30)
    assert code == ExitCode.INVALID, err[-500:]
    assert "template over budget" in err, err[-500:]
    assert seconds < 10


def test_a_list_of_megabyte_strings_is_over_budget_before_gigabytes(tmp_path: Path) -> None:
    template = "{{ range(100000) | map('string') | map('center', 10**6) | list | length }}"
    spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"', caller_name=json.dumps(template))])
    code, err, _ = python_callspec(tmp_path, "validate", "a.yaml", timeout=60, memory=1 << 30)
    assert code == ExitCode.INVALID, err[-500:]
    assert "template over budget: a value of" in err, err[-500:]


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "RecursionError"),
        ("{% for x in [[]] recursive %}{{ loop([[x]]) }}{% endfor %}", "RecursionError"),
        ("{{ '{:{}}'.format('a', 10**9) }}", "over budget"),
        ("{{ '%.*f' % (10**9, 1.5) }}", "over budget"),
        ("{{ ('<' * 1000000) | escape }}", "over budget"),
        ("{{ 9 ** 9 ** 9 }}", "over budget"),
        ("{{ 1e308 | int }}", "over budget"),
    ],
)
def test_held_up_template_attacks(tmp_path: Path, template: str, words: str) -> None:
    spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"', caller_name=json.dumps(template))])
    result = cli_run(tmp_path, "validate", "a.yaml")
    assert result.exit_code == ExitCode.INVALID
    assert "a.yaml:7:18: calls[0].caller_name: template" in result.stderr
    assert words in result.stderr


# --- 4. destroyed files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--report", "a.yaml"],
        ["--junit", "a.yaml"],
        ["--report", "profiles.yaml"],
        ["--junit", "vars.yaml", "--vars-file", "vars.yaml"],
    ],
)
def test_an_output_over_an_input_is_refused(tmp_path: Path, args: list[str]) -> None:
    spec = spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"')])
    (tmp_path / "vars.yaml").write_text("x: 1\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = cli_run(tmp_path, "run", "--dry-run", spec.name, *args)
    after = {name: (tmp_path / name).read_bytes() for name in before}
    assert after == before, "an input file was overwritten"
    assert result.exit_code == ExitCode.USAGE


# --- 5. integers -------------------------------------------------------------------------------


def test_a_miswritten_integer_through_a_variable_is_not_sent_silently(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec_file(tmp_path, "a.yaml", [])
    spec.write_text(
        "version: 1\nvars: {t: 010}\ncalls:\n" + call("c", '"+14155550100"', time_limit='"{{ t }}"')
    )
    result = cli_run(tmp_path, "render", "--format", "json", spec.name)
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
def test_held_up_odd_integers(tmp_path: Path, written: str, words: str) -> None:
    spec = spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"', time_limit=written)])
    result = cli_run(tmp_path, "validate", spec.name)
    assert result.exit_code == ExitCode.INVALID
    assert "a.yaml:7:17: calls[0].time_limit: " in result.stderr
    assert words in result.stderr


def test_an_explicit_float_tag_is_named_as_written(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, "a.yaml", [call("c", '"+14155550100"', time_limit="!!float 300")])
    result = cli_run(tmp_path, "validate", spec.name)
    assert result.exit_code == ExitCode.INVALID
    assert "300 is not a plain decimal integer" not in result.stderr


# --- 6. secrets --------------------------------------------------------------------------------

SECRET_PROFILES = """version: 1
profiles:
  default:
    secrets: [phone, pin]
    vars: {phone: "+14155559999", pin: "S3CR3TPIN"}
"""


def test_a_repeat_of_a_secret_destination_does_not_disclose_it(tmp_path: Path) -> None:
    spec = spec_file(
        tmp_path,
        "a.yaml",
        [call("one", '"{{ phone }}"'), call("two", '"14155559999"')],
        profiles=SECRET_PROFILES,
    )
    result = cli_run(tmp_path, "validate", spec.name)
    assert "is rung by call 'one'" in result.stderr
    assert "5559999" not in result.stderr


def test_a_secret_at_the_cut_of_a_long_value_is_masked_whole(tmp_path: Path) -> None:
    long = "{{ 'w' * 58 }}{{ pin }}{{ 'z' * 300 }}"
    spec = spec_file(
        tmp_path,
        "a.yaml",
        [call("c", '"+14155550100"', send_digits=json.dumps(long))],
        profiles=SECRET_PROFILES,
    )
    summary = tmp_path / "summary.md"
    result = cli_run(
        tmp_path,
        "run",
        "--dry-run",
        spec.name,
        "--report",
        "r.json",
        "--junit",
        "j.xml",
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


# --- 7. step summary ---------------------------------------------------------------------------


def test_a_summary_of_ten_thousand_hostile_problems_stays_capped_and_inert(
    tmp_path: Path,
) -> None:
    calls = [
        call(
            f'"c{i}"',
            f'"+1415{i:07d}"',
            caller_name=json.dumps(
                "{{ pin }}|<script>x</script>`code` [l](http://x)\r\n| a | b |\n# H " + "x" * 40
            ),
        )
        for i in range(10_000)
    ]
    spec = spec_file(tmp_path, "a.yaml", calls, profiles=SECRET_PROFILES)
    summary = tmp_path / "summary.md"
    result = cli_run(
        tmp_path, "run", "--dry-run", spec.name, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == ExitCode.INVALID
    text = summary.read_text()
    assert len(text.encode()) <= 512 * 1024
    assert "S3CR3TPIN" not in text and "<script" not in text
    assert "more problems" in text
