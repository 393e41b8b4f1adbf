"""The chain rules, each alone: when a chain may call its next step, in what order a
resumed chain settles and sends, the identities of chains, which API answers are believed,
what of the API's text may be printed, what may go into a state URL, how long a resumed
step may still ring.

The end-to-end cases are in test_escalate.py and test_chain_resume.py (against the Plivo
fake); these pin the rule each of them hangs on, with no server and no clock.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from support import invoke

from callspec.delivery.callstate import clean_text, foreign
from callspec.delivery.chains import time_left
from callspec.delivery.credentials import Credentials
from callspec.delivery.escalate import ChainSteps, run_chain
from callspec.delivery.ledger import UuidLedger
from callspec.delivery.legs import is_call_uuid, legs_of
from callspec.delivery.resume import Decision
from callspec.delivery.settled import unsettled
from callspec.errors import ExitCode
from callspec.results import Answer, CallResult, RunResult
from callspec.spec.escalation import chain_key, escalation_of
from callspec.spec.model import CallPlan, Escalation

UUID = "3c1a52e4-5e2e-4a6b-9a53-1fd0c6a1e0b2"


def step(
    outcome: str = "fired", uuid: str | None = UUID, *answers: Answer, name: str = "page[1]"
) -> CallResult:
    return CallResult(
        key="k",
        spec_file="s.yaml",
        line=3,
        name=name,
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


# -- the order of a chain, with the runner's send and follow played by the test ---------


class Chain:
    """A chain's steps for :func:`run_chain`: what the journal decided of each (by index),
    what each send and follow gives; ``trace`` says what was done, in order."""

    def __init__(self, names: list[str], journal: dict[int, CallResult] | None = None) -> None:
        self.calls = [
            CallPlan("s.yaml", 3, 0, name, (), None, {"to": f"+1415555010{n}"}, escalate=STEP)
            for n, name in enumerate(names)
        ]
        self.journal = journal or {}
        self.trace: list[str] = []
        self.recorded: dict[int, CallResult] = {}
        self.follows: dict[str, Answer] = {}

    def early(self, index: int) -> tuple[CallResult, Decision | None] | None:
        result = self.journal.get(index)
        if result is None:
            return None
        decision = Decision("skipped", "already fired", "fired", result.request_uuid, "r", None)
        return result, replace(decision, answers=result.answers, placed=f"t{index}")

    def send(self, index: int) -> CallResult:
        self.trace.append(f"send {self.calls[index].name}")
        return step("fired", UUID, name=self.calls[index].name)

    def follow(self, index: int, result: CallResult, resumed: bool) -> CallResult:
        self.trace.append(f"follow {result.name}")
        return replace(result, answers=(self.follows.get(result.name, ENDED),))

    def run(self) -> dict[int, CallResult]:
        steps = ChainSteps(
            stop=threading.Event(),
            early=self.early,
            send=self.send,
            finish=lambda index, result, decision: self.recorded.__setitem__(index, result),
            follow=self.follow,
            answered=lambda index, result: self.recorded.__setitem__(index, result),
            skip=lambda call, reason, kind: replace(
                step("skipped", None, name=call.name), reason=reason, skip_kind=kind
            ),
        )
        run_chain(self.calls, range(len(self.calls)), steps)
        return self.recorded


STEP = Escalation(45.0, "answered", "s.yaml:3")
ANSWERED = replace(ENDED, answered=True)


def test_a_resumed_chain_settles_every_placed_step_before_sending() -> None:
    # alice was placed (journal), then the roster was reordered: bob comes first now.
    chain = Chain(["bob", "alice", "carol"], {1: step("skipped", UUID, name="alice")})
    chain.follows["alice"] = ENDED
    chain.follows["bob"] = ANSWERED
    recorded = chain.run()
    assert chain.trace == ["follow alice", "send bob", "follow bob"]
    assert recorded[2].skip_kind == "answered"


def test_a_placed_step_read_back_answered_ends_the_chain_before_any_send() -> None:
    chain = Chain(["bob", "alice"], {1: step("skipped", UUID, name="alice")})
    chain.follows["alice"] = ANSWERED
    recorded = chain.run()
    assert chain.trace == ["follow alice"]
    assert recorded[0].reason == "escalation stopped: answered by 'alice', row 1"


def test_a_placed_step_that_may_still_ring_holds_every_new_step() -> None:
    chain = Chain(["bob", "alice"], {1: step("skipped", UUID, name="alice")})
    chain.follows["alice"] = replace(ENDED, answered=None, state="ringing")
    recorded = chain.run()
    assert chain.trace == ["follow alice"]
    assert recorded[0].skip_kind == "unsettled"
    assert recorded[0].reason.startswith("escalation stopped: step 'alice' may still be ringing")


def test_a_journaled_settled_step_is_not_read_again() -> None:
    chain = Chain(["alice", "bob"], {0: step("skipped", UUID, ENDED, name="alice")})
    chain.run()
    assert chain.trace == ["send bob", "follow bob"]


def test_an_unknown_send_holds_the_chain() -> None:
    chain = Chain(["alice", "bob"])
    chain.send = lambda index: step("unknown", None, name="alice")  # type: ignore[method-assign]
    recorded = chain.run()
    assert recorded[1].skip_kind == "unsettled"


# -- the identities, and what an API answer may say -----------------------------------


def test_a_chains_identity_is_its_file_and_name_as_written_not_its_line() -> None:
    key = escalation_of({"name": "page-{{ row.name }}", "escalate": {"answer_within": 5}}, "", "p")
    moved = escalation_of(
        {"name": "page-{{ row.name }}", "escalate": {"answer_within": 9}}, "p.yaml:9", "p"
    )
    assert key.key == moved.key
    assert key.key != chain_key("p", "page") != chain_key("q", "page-{{ row.name }}")


def test_a_request_uuid_seen_before_is_not_believed() -> None:
    ledger = UuidLedger(str, [(UUID, "journaled")])
    assert "call 'journaled'" in (ledger.claim(UUID.upper(), "again") or "")
    other = UUID.replace("3c1a", "4d2b")
    assert ledger.claim(other, "fresh") is None
    assert "call 'fresh'" in (ledger.claim([other], "later") or "")
    twice = UUID.replace("3c1a", "5e3c")
    assert "another of its destinations" in (ledger.claim([twice, twice], "bulk") or "")


@pytest.mark.parametrize(
    ("doc", "foreign_to"),
    [
        ({"call_uuid": UUID, "to_number": "14155550101"}, False),  # Plivo drops the +
        ({"call_uuid": UUID.upper(), "to": "+14155550101"}, False),
        ({"api_id": "x"}, False),  # says nothing else: nothing to contradict
        ({"call_uuid": UUID.replace("3c1a", "4d2b")}, True),
        ({"call_uuid": UUID, "to_number": "14155550199"}, True),
    ],
)
def test_an_answer_naming_another_call_is_foreign(doc: dict[str, str], foreign_to: bool) -> None:
    assert (foreign(doc, UUID, "+14155550101") is not None) is foreign_to


def test_a_resumed_step_gets_the_rest_of_its_answer_within() -> None:
    placed = "2026-11-27T02:00:00.000Z"
    now = datetime(2026, 11, 27, 2, 0, 1, tzinfo=timezone.utc).timestamp()  # a second later
    assert time_left(5.0, placed, now) == 4.0  # not cut off at once, nor given 5 s
    assert time_left(5.0, placed, now + 60) == 0.0
    assert time_left(5.0, "", now) == 0.0  # when it was placed is unknown: its time is over
