"""``max_calls`` counts the calls a run would place, each spelling of a phone alike.

A destination's identity is its normalized number (``+14155550101`` and
``14155550101`` are one phone: the run warns that it would ring it twice).  The
guard counts placements: a phone two calls ring, however each spells it, is two
calls; resume matching by that identity is what takes a placed call off the count
(tests/delivery/test_chain_resume.py).  Against the sandbox: a refusal sends nothing.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from support import cred_env, invoke, sandbox

from callspec.errors import ExitCode

ONE_PHONE = ("+14155550101", "14155550101")


def _spec(folder: Path, body: str) -> Path:
    path = folder / "calls.yaml"
    path.write_text(
        "version: 1\ndefaults:\n  from: '+14155550100'\n"
        "  answer_url: https://example.com/answer.xml\ncalls:\n" + body
    )
    return path


def _run(spec: Path, *extra: str) -> tuple[Result, int]:
    with sandbox() as box:
        args = ["run", str(spec), "--api-url", box.url, "--rate", "200", "--no-progress"]
        result = invoke([*args, "--report", str(spec.parent / "r.json"), *extra], cred_env())
        return result, len(box.calls)


def test_one_phone_rung_by_two_calls_in_two_spellings_counts_twice(tmp_path: Path) -> None:
    calls = "".join(f"  - name: c{i}\n    to: '{to}'\n" for i, to in enumerate(ONE_PHONE))
    result, sent = _run(_spec(tmp_path, calls), "--max-calls", "1")
    assert (sent, result.exit_code) == (0, ExitCode.REFUSED)
    assert "refusing to place 2 calls (2 requests)" in result.stderr


def test_a_chain_ringing_one_phone_in_two_spellings_counts_each_step(tmp_path: Path) -> None:
    (tmp_path / "oncall.csv").write_text(
        f"name,phone\nalice,{ONE_PHONE[0]}\nAlice,{ONE_PHONE[1]}\nbob,+14155550102\n"
    )
    body = (
        '  - name: "page-{{ row.name }}"\n    each: oncall.csv\n    to: "{{ row.phone }}"\n'
        "    escalate: {answer_within: 5}\n"
    )
    result, sent = _run(_spec(tmp_path, body), "--max-calls", "2")
    assert (sent, result.exit_code) == (0, ExitCode.REFUSED)
    assert "refusing to place 3 calls (3 requests)" in result.stderr
