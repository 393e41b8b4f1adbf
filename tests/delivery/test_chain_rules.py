"""The rules behind fix 14, each alone: when a chain may call its next step, what of the
API's text may be printed, what may go into a state URL, and a shell comment that stays one.

The end-to-end cases are in tests/reviews/test_review14.py; these pin the general rule
each of them hangs on.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support import invoke

from callspec.delivery.credentials import Credentials
from callspec.delivery.settled import unsettled
from callspec.delivery.preview import _comment
from callspec.delivery.callstate import clean_text
from callspec.delivery.legs import is_call_uuid, legs_of
from callspec.errors import ExitCode
from callspec.results import Answer, CallResult, RunResult
from callspec.spec.model import Escalation

UUID = "3c1a52e4-5e2e-4a6b-9a53-1fd0c6a1e0b2"


def step(outcome: str = "fired", uuid: str | None = UUID, *answers: Answer) -> CallResult:
    return CallResult(
        key="k",
        spec_file="s.yaml",
        line=3,
        name="page[1]",
        tags=(),
        profile_chain=(),
        body={"to": "+14155550101"},
        outcome=outcome,  # type: ignore[arg-type]
        request_uuid=uuid,
        answers=answers or None,
        escalate=Escalation(45.0, "answered", "s.yaml:3"),
    )


ENDED = Answer(call_uuid=UUID, to=None, answered=False, state="completed")


@pytest.mark.parametrize(
    ("result", "settled"),
    [
        (step("fired", UUID, ENDED), True),
        (step("fired", UUID, replace(ENDED, state="ringing", hung_up=True)), True),
        (step("unknown", None), False),  # the POST may have placed it
        (step("fired", None), False),  # a 201 without request_uuid: cannot be read
        (step("fired", UUID), False),  # never followed
        (step("fired", UUID, replace(ENDED, state="ringing")), False),  # not hung up
        (step("fired", UUID, replace(ENDED, state="queued")), False),  # not cancelled
        (step("fired", UUID, replace(ENDED, answered=None, state="unknown")), False),
        (step("fired", UUID, replace(ENDED, answered=True, state="in-progress")), False),
        (step("fired", UUID, ENDED, replace(ENDED, state="ringing")), False),  # one of two
    ],
)
def test_the_next_step_is_called_only_when_the_last_surely_rings_no_more(
    result: CallResult, settled: bool
) -> None:
    assert (unsettled(result) is None) is settled


def test_api_text_is_escaped_and_capped() -> None:
    assert clean_text("No\x1b[2J Answer\r\n\u202e") == "No\\x1b[2J Answer\\r\\n\\u202e"
    assert clean_text("A" * 10_000) == "A" * 200 + "… (10,000 characters)"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (UUID, True),
        (UUID.upper(), True),
        ("../Application/APP1", False),
        (UUID + "/../x", False),
        ("12345", False),
        (12345, False),
        ("", False),
    ],
)
def test_only_a_uuid_goes_into_a_state_url(value: object, ok: bool) -> None:
    assert is_call_uuid(value) is ok


def test_a_journals_odd_request_uuid_is_text_not_a_crash() -> None:
    creds = Credentials("MAXXXXXXXXXXXXXXXXXX", "t")
    (leg,) = legs_of(12345, {"to": "+1"}, "http://x", creds)  # type: ignore[arg-type]
    assert leg.call_uuid == "12345" and not is_call_uuid(leg.call_uuid)


def test_a_curl_comment_stays_one_line() -> None:
    text = _comment("specs/a\nb.yaml: x\r\ntouch PWNED\u2028#")
    assert "\n" not in text and "\r" not in text and "\u2028" not in text
    assert "\\n" in text


def test_a_step_name_clashing_with_another_call_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        "  - name: page\n"
        '    to: ["+14155550101", "+14155550102"]\n'
        '    from: "+14155550100"\n    answer_url: https://example.com/a.xml\n'
        "    escalate: {answer_within: 5}\n"
        '  - name: "page[1]"\n    to: "+14155550109"\n    from: "+14155550100"\n'
        "    answer_url: https://example.com/a.xml\n"
    )
    result = invoke(["validate", str(spec)])
    assert result.exit_code == ExitCode.INVALID
    assert "s.yaml:8:5: duplicate call name 'page[1]'" in result.stderr


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "4.9", "601"])
def test_answer_within_must_be_a_number_from_5_to_600(tmp_path: Path, value: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        "  - name: page\n"
        '    to: ["+14155550101", "+14155550102"]\n'
        '    from: "+14155550100"\n    answer_url: https://example.com/a.xml\n'
        f"    escalate: {{answer_within: {value}}}\n"
    )
    result = invoke(["validate", str(spec)])
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "s.yaml:7:" in result.stderr and "answer_within" in result.stderr


@pytest.mark.parametrize(
    ("last", "code"),
    [
        (step("fired", UUID, replace(ENDED, state="ringing", hangup_failed=True)), 1),
        (step("fired", None), 1),
        (step("fired", UUID, ENDED), 0),  # ended unanswered: --wait-ok no-answer accepts it
    ],
)
def test_a_chain_stopped_on_a_step_that_may_ring_fails_even_with_wait_ok(
    last: CallResult, code: int
) -> None:
    run = RunResult(
        run_id="r",
        mode="live",
        api_url="http://x",
        started="",
        finished="",
        options={},
        calls=(last,),
        no_answer_ok=True,
    )
    assert run.exit_code() == code
