"""``escalate:`` in a spec: the chain it makes, and the mistakes refused with their place."""

from __future__ import annotations

from pathlib import Path

from support import invoke

from callspec.errors import ExitCode

CALL = """version: 1
calls:
  - name: page
    to: {to}
    from: "+14155550100"
    answer_url: https://example.com/answer.xml
    escalate: {escalate}
"""


def _validate(tmp_path: Path, to: str, escalate: str) -> tuple[int, str]:
    spec = tmp_path / "page.yaml"
    spec.write_text(CALL.format(to=to, escalate=escalate))
    result = invoke(["validate", str(spec)])
    return result.exit_code, result.stderr


def test_until_human_needs_machine_detection_hangup(tmp_path: Path):
    code, err = _validate(
        tmp_path, '["+14155550101", "+14155550102"]', "{answer_within: 45, until: human}"
    )
    assert code == ExitCode.INVALID
    assert (
        f"{tmp_path / 'page.yaml'}:7:42: calls[0].escalate.until: until: human needs "
        "machine_detection: hangup on the call" in err
    )


def test_a_single_destination_has_nobody_to_escalate_to(tmp_path: Path):
    code, err = _validate(tmp_path, '"+14155550101"', "{answer_within: 45}")
    assert code == ExitCode.INVALID
    assert (
        "7:15: calls[0].escalate: escalate needs several calls to go through one at a "
        "time: a roster (each:) or several destinations in 'to'" in err
    )


def test_answer_within_bounds_and_unknown_keys(tmp_path: Path):
    code, err = _validate(tmp_path, '["+14155550101", "+14155550102"]', "{answer_within: 2}")
    assert code == ExitCode.INVALID and "calls[0].escalate.answer_within" in err
    code, err = _validate(
        tmp_path, '["+14155550101", "+14155550102"]', "{answer_within: 45, untill: human}"
    )
    assert code == ExitCode.INVALID and "untill" in err


def test_destinations_become_named_steps_in_order(tmp_path: Path):
    spec = tmp_path / "page.yaml"
    spec.write_text(
        CALL.format(to='["+14155550101", "+14155550102"]', escalate="{answer_within: 45}")
    )
    result = invoke(["run", str(spec), "--dry-run", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == ExitCode.OK
    assert (
        "'page[1]' (+14155550101) -> 'page[2]' (+14155550102), one at a time "
        "(until answered, 45 s each)" in result.stdout
    )
